package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/metadata"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/read"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
	"github.com/bulkhead-dev/bulkhead/internal/transient"
)

// reconcileRun is what apply and plan share: a Reconciler for the chosen
// cluster, and the presentation of its conflicts and failures.
type reconcileRun struct {
	flags      reconcileFlags
	reconciler *apply.Reconciler
	meta       metadata.Interface
	retry      read.Retry
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
	client, cfg, err := f.client()
	if err != nil {
		return nil, err
	}
	retry := newRetry(cmd, flags.retryTimeout)
	r := apply.New(client, apply.Options{
		DryRun:   dryRun,
		Adopt:    flags.adopt,
		Workers:  flags.workers,
		Progress: progress,
		Retry:    retry,
	})
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &reconcileRun{flags: flags, reconciler: r, meta: meta, retry: retry}, nil
}

// tenantObjects lists the names of the Tenant objects on the cluster: the
// controller's tenants, which the CLI does not write. A cluster without the
// CRD has none.
func (r *reconcileRun) tenantObjects(ctx context.Context) (map[string]bool, error) {
	names := map[string]bool{}
	retry := r.retry
	if retry == nil {
		retry = func(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }
	}
	err := retry(ctx, func(ctx context.Context) error {
		list, err := r.meta.Resource(v1alpha1.SchemeGroupVersion.WithResource("tenants")).List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, o := range list.Items {
			names[o.Name] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list Tenant objects: %w", err)
	}
	return names, nil
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
	objects, err := r.tenantObjects(cmd.Context())
	if err != nil {
		return plannedRun{}, err
	}
	p, err := r.reconciler.Plan(cmd.Context(), plain(tenants), true, r.flags.scope())
	if err != nil {
		return plannedRun{}, err
	}
	var lines []string
	for _, t := range tenants {
		if objects[t.Name] {
			lines = append(lines, fmt.Sprintf("tenant %q exists as a Tenant object (%s), which the bulkhead controller reconciles: %s",
				t.Name, t.Source, handOverHint(t.Name)))
		}
	}
	for _, c := range p.Conflicts() {
		if c.Reason == apply.Controlled && objects[c.Tenant] {
			continue // said above
		}
		lines = append(lines, c.Error()+": "+conflictHint(c, r.flags.tenantSet))
	}
	if len(lines) > 0 {
		return plannedRun{}, fmt.Errorf("%d existing object(s) may not be taken by the input's tenants; nothing was written:\n  %s",
			len(lines), strings.Join(lines, "\n  "))
	}
	return plannedRun{p}, nil
}

// conflictHint says what the user can do about a conflict.
func conflictHint(c *apply.ConflictError, set string) string {
	switch c.Reason {
	case apply.OtherTenant:
		return fmt.Sprintf("give tenant %q another namespace or remove tenant %q first", c.Tenant, c.Owner)
	case apply.Controlled:
		return handOverHint(c.Tenant)
	case apply.OtherTenantSet:
		if set == "" {
			set = "NEW"
		}
		return fmt.Sprintf("apply it with --tenant-set %s, or move it to this set first: kubectl label namespace %s %s=%s --overwrite",
			c.Owner, c.Object.Name, v1alpha1.TenantSetLabel, set)
	}
	return "rename the tenant or member, delete the object, or pass --adopt to take it over"
}

// handOverHint says how to change a controller's tenant, or give it to the CLI.
func handOverHint(tenant string) string {
	return fmt.Sprintf("change it with kubectl edit tenant %s, or hand it over to the CLI: kubectl annotate tenant %s %s=true && kubectl delete tenant %s "+
		"(the controller then releases the namespace without offboarding it)", tenant, tenant, v1alpha1.ReleaseAnnotation, tenant)
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
	var failed, undone []string
	var transientErr *apply.TransientError
	for _, cs := range sets {
		for _, c := range cs.Changes {
			if c.Err == nil {
				continue
			}
			failed = append(failed, c.String())
			if name := cs.Tenant; name != "" && !slices.Contains(undone, name) {
				undone = append(undone, name)
			}
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
		return fmt.Errorf("the API server stopped answering (%s): %d of %d objects written, %d not; nothing is lost, run the same command again to converge%s",
			why, total-len(failed), total, len(failed), undoneTenants(undone))
	}
	return fmt.Errorf("%d of %d objects failed:\n  %s%s", len(failed), total, strings.Join(failed, "\n  "), undoneTenants(undone))
}

// undoneTenants names the tenants a run left unfinished, the first few of
// them: which ones a second run will change.
func undoneTenants(names []string) string {
	if len(names) == 0 {
		return ""
	}
	const shown = 10
	s := fmt.Sprintf("\n%d tenants not fully applied: %s", len(names), strings.Join(names[:min(shown, len(names))], ", "))
	if len(names) > shown {
		s += fmt.Sprintf(" and %d more", len(names)-shown)
	}
	return s
}
