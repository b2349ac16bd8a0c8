package main

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// settleTimeout bounds the wait for the controllers; past it the next run
// starts anyway (and the log says so).
const settleTimeout = 2 * time.Minute

// settle waits until the controllers have caught up with what the previous
// run created: every namespace has its "default" ServiceAccount and every
// ResourceQuota has a status. Otherwise their backlog (two writes per
// tenant) lands on the next timed run, which on 2 cores is measurable.
func settle(ctx context.Context, cfg *rest.Config) error {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	for {
		pending, err := backlog(ctx, cs)
		if err == nil && pending == 0 {
			if d := time.Since(start); d > time.Second {
				logf("  controllers caught up after %s", d.Round(100*time.Millisecond))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				logf("  controllers still behind after %s (%d pending, %v); going on", settleTimeout, pending, err)
				return nil
			}
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// backlog counts namespaces without their default ServiceAccount and
// ResourceQuotas without a status.
func backlog(ctx context.Context, cs kubernetes.Interface) (int, error) {
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return -1, err
	}
	sas, err := cs.CoreV1().ServiceAccounts("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=default"})
	if err != nil {
		return -1, err
	}
	quotas, err := cs.CoreV1().ResourceQuotas("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return -1, err
	}
	pending := max(len(nss.Items)-len(sas.Items), 0)
	for _, q := range quotas.Items {
		if len(q.Status.Hard) == 0 {
			pending++
		}
	}
	return pending, nil
}
