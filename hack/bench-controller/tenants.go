package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// provision creates the spec's objects (after a warm-up write) and waits
// until the controller has every Tenant Ready and Verified, counting its
// API requests, reconciles and CPU on the way.
func provision(ctx context.Context, o options, c client.Client, proc *controllerProc, objs []client.Object) (ControllerRun, error) {
	if err := warmUp(ctx, c); err != nil {
		return ControllerRun{}, err
	}
	m0, err := proc.scrape(ctx)
	if err != nil {
		return ControllerRun{}, err
	}
	if !m0.has(requestsMetric) {
		return ControllerRun{}, fmt.Errorf("the controller's metrics hold no %s: its API requests cannot be counted", requestsMetric)
	}
	s0, err := sampleProc(proc.cmd.Process.Pid)
	if err != nil {
		return ControllerRun{}, err
	}
	logf("controller: creating %d objects (TenantDefaults, %d Tenants) with %d workers", len(objs), o.tenants, createWorkers)
	start := time.Now()
	created, err := createAll(ctx, c, objs)
	if err != nil {
		return ControllerRun{}, err
	}
	logf("  created in %.2f s; waiting for Ready and Verified", created.Seconds())
	times, err := waitConditions(ctx, c, o.tenants, start, o.poll, o.timeout)
	if err != nil {
		return ControllerRun{}, errors.Join(err, proc.alive())
	}
	run := ControllerRun{CreateSeconds: created.Seconds(), ReadySeconds: times.ready.Seconds(),
		VerifiedSeconds: times.verified.Seconds(), PollSeconds: o.poll.Seconds()}
	run.Work, err = provisioningWork(ctx, proc, m0, s0)
	return run, err
}

// warmUp writes and deletes one throwaway TenantDefaults before anything
// is timed. The first write after the CRDs were installed takes about two
// seconds on kube-apiserver (measured here: 2.0 s, then 2-6 ms per create
// of either kind), and the client finds the kinds' resources by discovery
// on first use: both are paid once per installation, not per tenant. The
// controller maps a TenantDefaults to the Tenants naming it: none.
func warmUp(ctx context.Context, c client.Client) error {
	start := time.Now()
	if err := c.List(ctx, &v1alpha1.TenantList{}); err != nil {
		return err
	}
	d := &v1alpha1.TenantDefaults{ObjectMeta: metav1.ObjectMeta{Name: "bench-warm-up"}}
	if err := c.Create(ctx, d); err != nil {
		return fmt.Errorf("create TenantDefaults %s: %w", d.Name, err)
	}
	if err := c.Delete(ctx, d); err != nil {
		return fmt.Errorf("delete TenantDefaults %s: %w", d.Name, err)
	}
	logf("  warm-up (discovery, first write of the new kinds): %.2f s, not timed", time.Since(start).Seconds())
	return nil
}

// createWorkers is how many goroutines create the Tenant objects: enough
// that creating 1,000 takes a few seconds, so the time measured is the
// controller's, not the client's.
const createWorkers = 16

// createAll creates objs (the TenantDefaults first, then the Tenants in
// parallel) and returns how long that took.
func createAll(ctx context.Context, c client.Client, objs []client.Object) (time.Duration, error) {
	start := time.Now()
	var first, rest []client.Object
	for _, o := range objs {
		if _, ok := o.(*v1alpha1.TenantDefaults); ok {
			first = append(first, o)
		} else {
			rest = append(rest, o)
		}
	}
	for _, o := range first {
		if err := c.Create(ctx, o); err != nil {
			return 0, fmt.Errorf("create %s %s: %w", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan client.Object)
	var wg sync.WaitGroup
	for range createWorkers {
		wg.Go(func() {
			for o := range work {
				if err := c.Create(ctx, o); err != nil {
					cancel(fmt.Errorf("create Tenant %s: %w", o.GetName(), err))
				}
			}
		})
	}
feed:
	for _, o := range rest {
		select {
		case work <- o:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// conditionTimes are the moments, since start, when every Tenant was first
// seen Ready=True and Verified=True (both for the current generation).
type conditionTimes struct {
	ready, verified time.Duration
}

// waitConditions LISTs the Tenants every poll until all n are Ready and
// Verified, logging progress every 10 s.
func waitConditions(ctx context.Context, c client.Reader, n int, start time.Time, poll, timeout time.Duration) (conditionTimes, error) {
	var out conditionTimes
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	lastLog := time.Now()
	for {
		var list v1alpha1.TenantList
		err := c.List(ctx, &list)
		at := time.Since(start)
		if err == nil {
			ready, verified, states := count(list.Items)
			if out.ready == 0 && ready == n {
				out.ready = at
				logf("  all %d Ready=True after %.2f s", n, at.Seconds())
			}
			if out.verified == 0 && verified == n {
				out.verified = at
				logf("  all %d Verified=True after %.2f s", n, at.Seconds())
			}
			if out.ready > 0 && out.verified > 0 {
				return out, nil
			}
			if time.Since(lastLog) >= 10*time.Second {
				logf("  %s: %d/%d Ready, %d/%d Verified; %s", at.Round(time.Second), ready, n, verified, n, states)
				lastLog = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return out, fmt.Errorf("not every Tenant was Ready and Verified after %s (last list: %v)", timeout, err)
			}
			return out, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// count tells how many tenants are Ready and Verified for their current
// generation, and sums up the others' conditions (for the progress log).
func count(items []v1alpha1.Tenant) (ready, verified int, states string) {
	others := map[string]int{}
	for _, t := range items {
		r := condition(t, v1alpha1.ConditionReady)
		v := condition(t, v1alpha1.ConditionVerified)
		if r == "True" {
			ready++
		} else {
			others["Ready="+r]++
		}
		if v == "True" {
			verified++
		} else {
			others["Verified="+v]++
		}
	}
	var parts []string
	for k, n := range others {
		parts = append(parts, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(parts)
	return ready, verified, strings.Join(parts, ", ")
}

// condition is the status of one condition, with its reason when not
// True; "none" when it is missing or written for an older generation.
func condition(t v1alpha1.Tenant, typ string) string {
	c := meta.FindStatusCondition(t.Status.Conditions, typ)
	if c == nil || c.ObservedGeneration != t.Generation {
		return "none"
	}
	if c.Status == metav1.ConditionTrue {
		return "True"
	}
	return string(c.Status) + "(" + c.Reason + ")"
}
