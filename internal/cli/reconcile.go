package cli

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
	"github.com/bulkhead-dev/bulkhead/internal/transient"
)

// reconcileRun is what apply and plan share: a Reconciler for the chosen
// cluster, and the presentation of its conflicts and failures.
type reconcileRun struct {
	flags      reconcileFlags
	reconciler *apply.Reconciler
}

// memoryLimit is the heap size past which apply's garbage collector works
// harder (GOMEMLIMIT overrides it): ten thousand tenants stream hundreds of
// megabytes of LIST pages through memory that holds a few pages at a time.
const memoryLimit = 384 << 20

// limitMemory sets memoryLimit for one run; call the result when it ends.
func limitMemory() (restore func()) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return func() {}
	}
	prev := debug.SetMemoryLimit(memoryLimit)
	return func() { debug.SetMemoryLimit(prev) }
}

func newReconcileRun(cmd *cobra.Command, f *factory, flags reconcileFlags, dryRun bool, progress func(apply.Change)) (*reconcileRun, error) {
	client, _, err := f.client()
	if err != nil {
		return nil, err
	}
	r := apply.New(client, apply.Options{
		DryRun:   dryRun,
		Adopt:    flags.adopt,
		Workers:  flags.workers,
		Progress: progress,
		Retry:    newRetry(cmd, flags.retryTimeout),
	})
	return &reconcileRun{flags: flags, reconciler: r}, nil
}

// plannedRun is a plan and the count of its objects.
type plannedRun struct{ *apply.Plan }

func (p plannedRun) objects() int {
	n := 0
	for _, cs := range p.Sets {
		n += len(cs.Changes)
	}
	return n
}

// plan reads the cluster once and refuses, all at once and before any
// write, objects the input's tenants may not take.
func (r *reconcileRun) plan(cmd *cobra.Command, tenants []spec.Tenant) (plannedRun, error) {
	p, err := r.reconciler.Plan(cmd.Context(), plain(tenants), true, r.flags.scope())
	if err != nil {
		return plannedRun{}, err
	}
	if conflicts := p.Conflicts(); len(conflicts) > 0 {
		lines := make([]string, len(conflicts))
		for i, c := range conflicts {
			lines[i] = c.Error() + ": " + conflictHint(c, r.flags.tenantSet)
		}
		return plannedRun{}, fmt.Errorf("%d existing object(s) may not be taken by the input's tenants; nothing was written:\n  %s",
			len(conflicts), strings.Join(lines, "\n  "))
	}
	return plannedRun{p}, nil
}

// conflictHint says what the user can do about a conflict.
func conflictHint(c *apply.ConflictError, set string) string {
	switch c.Reason {
	case apply.OtherTenant:
		return fmt.Sprintf("give tenant %q another namespace or remove tenant %q first", c.Tenant, c.Owner)
	case apply.Controlled:
		return fmt.Sprintf("change it with kubectl edit tenant %s, or hand it over to the CLI: kubectl delete tenant %s --cascade=orphan "+
			"(the controller then releases the namespace without offboarding it)", c.Tenant, c.Tenant)
	case apply.OtherTenantSet:
		if set == "" {
			set = "NEW"
		}
		return fmt.Sprintf("apply it with --tenant-set %s, or move it to this set first: kubectl label namespace %s %s=%s --overwrite",
			c.Owner, c.Object.Name, v1alpha1.TenantSetLabel, set)
	}
	return "rename the tenant or member, delete the object, or pass --adopt to take it over"
}

// counts tallies actions over change sets.
type counts map[apply.Action]int

func tally(sets []apply.ChangeSet) counts {
	t := counts{}
	for _, cs := range sets {
		for _, c := range cs.Changes {
			t[c.Action]++
			t[totalKey]++
		}
	}
	return t
}

// total is kept under an action no change has.
const totalKey apply.Action = ""

func (t counts) total() int { return t[totalKey] }

func (t counts) removed() int { return t[apply.Removed] + t[apply.Revoked] + t[apply.Deleted] }

// failure is the run's error: one summary when the API server went away
// (the per-object failures say nothing more), else every failure once.
func failure(sets []apply.ChangeSet, t counts) error {
	var failed []string
	var transientErr *apply.TransientError
	for _, cs := range sets {
		for _, c := range cs.Changes {
			if c.Err == nil {
				continue
			}
			failed = append(failed, c.String())
			if transientErr == nil {
				errors.As(c.Err, &transientErr)
			}
		}
	}
	if len(failed) == 0 {
		return nil
	}
	total := t.total()
	if transientErr != nil {
		why := errors.Unwrap(transientErr).Error()
		var away *transient.ServerAwayError
		if errors.As(transientErr, &away) {
			why = fmt.Sprintf("no answer for %s; last error: %v", away.For.Round(time.Second), away.Last)
		}
		return fmt.Errorf("the API server stopped answering (%s): %d of %d objects written, %d not; nothing is lost, run the same command again to converge",
			why, total-len(failed), total, len(failed))
	}
	return fmt.Errorf("%d of %d objects failed:\n  %s", len(failed), total, strings.Join(failed, "\n  "))
}
