// Package apply is bulkhead's reconcile core. A Tenant is the complete
// declaration of that tenant: reconciling it makes the cluster hold exactly
// the objects render produces for it, with server-side apply under one field
// manager, and removes the objects of that tenant (by its labels) that render
// no longer produces, in the order offboarding uses (credentials first, then
// bindings, then roles, then guardrails). Nothing outside the tenant's label
// set is touched. The CLI reconciles many tenants in one pass (one read of the
// cluster); the controller reconciles one at a time. Both get a ChangeSet per
// tenant.
package apply

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/read"
	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// Options tune a Reconciler.
type Options struct {
	// DryRun asks the API server to validate and admit every write without
	// persisting it; removals are planned, not made.
	DryRun bool
	// Adopt takes over existing objects that bulkhead does not manage.
	Adopt bool
	// Workers bounds concurrent writes; 0 means DefaultWorkers.
	Workers int
	// Retry runs every request, retrying transient failures; nil runs each
	// request once.
	Retry read.Retry
	// Progress, when set, is called once per object as it completes, from
	// one goroutine at a time.
	Progress func(Change)
	// Now stamps cordoned namespaces; nil means time.Now.
	Now func() time.Time
	// Lister, when set, is where Plan reads existing objects instead of
	// the API server: the controller's informer cache, so that a tenant
	// that needs nothing costs no request. Such a plan may be stale; the
	// controller executes only plans read from the API server.
	Lister Lister
	// PolicyTimeout bounds the wait for the API server to enforce an
	// admission policy this run wrote before admin RoleBindings are
	// written; 0 means DefaultPolicyTimeout.
	PolicyTimeout time.Duration
	// Enforcement is shared by the Reconcilers of one cluster so that the
	// policy one writes holds back the admin RoleBindings of all; nil
	// gives the Reconciler its own.
	Enforcement *Enforcement
}

// Lister fills list (a typed list such as *rbacv1.RoleBindingList) with the
// objects of namespace ("" for all) that opts' label and field selectors
// select. Limit and Continue may be ignored.
type Lister func(ctx context.Context, list runtime.Object, namespace string, opts metav1.ListOptions) error

// DefaultWorkers keeps the local API server busy without queueing in it.
const DefaultWorkers = 32

// Scope says which tenants besides the input's a run may touch.
type Scope struct {
	// TenantSet names the set of tenants the input declares. Applied
	// tenants are labelled with it; with Prune, tenants of the set that the
	// input no longer declares are offboarded. Empty keeps each tenant's
	// set as it is.
	TenantSet string
	// Prune offboards the tenants of TenantSet absent from the input.
	Prune bool
	// DeleteData deletes offboarded tenants' namespaces with their data
	// instead of cordoning them.
	DeleteData bool
	// Reason is recorded on cordoned namespaces.
	Reason string
}

// Reconciler reconciles tenants on one cluster.
type Reconciler struct {
	client   kubernetes.Interface
	kinds    map[string]kind
	opts     Options
	enf      *Enforcement
	reportMu sync.Mutex // Progress is called from one goroutine at a time
}

// New returns a Reconciler writing through client.
func New(client kubernetes.Interface, opts Options) *Reconciler {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	enf := opts.Enforcement
	if enf == nil {
		enf = &Enforcement{}
	}
	return &Reconciler{client: client, kinds: kinds(client), opts: opts, enf: enf}
}

// Plan is what reconciling a set of tenants takes, read from the cluster
// once. Execute carries it out.
type Plan struct {
	// Sets holds one ChangeSet per tenant of the input, in input order,
	// then one per tenant being offboarded; the shared objects come first
	// when they are part of the plan (Tenant "").
	Sets  []ChangeSet
	scope Scope
	// pendingNS are namespaces a dry run would create: objects in them
	// cannot be sent to the server.
	pendingNS map[string]bool
}

// Conflicts lists every conflict of the plan, sorted; Execute skips the
// tenants that have one.
func (p *Plan) Conflicts() []*ConflictError {
	var out []*ConflictError
	for _, cs := range p.Sets {
		out = append(out, Conflicts(cs.Err)...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Error() < out[j].Error() })
	return out
}

// Reconcile brings one tenant to its spec: the controller's entry point.
// Conflicts come back in the ChangeSet's Err, with nothing written. Scope's
// TenantSet claims the tenant for a set (the controller's); Prune is ignored.
func (r *Reconciler) Reconcile(ctx context.Context, t v1alpha1.Tenant, scope Scope) ChangeSet {
	scope.Prune = false
	p, err := r.Plan(ctx, []v1alpha1.Tenant{t}, false, scope)
	if err != nil {
		return ChangeSet{Tenant: t.Name, Namespace: t.Spec.Namespace, Err: err}
	}
	return r.Execute(ctx, p)[0]
}

// ReconcileShared brings the cluster-wide objects every tenant shares (the
// admission policy for tenant admins) to what render produces.
func (r *Reconciler) ReconcileShared(ctx context.Context) ChangeSet {
	p, err := r.Plan(ctx, nil, true, Scope{})
	if err != nil {
		return ChangeSet{Err: err}
	}
	return r.Execute(ctx, p)[0]
}

// Offboard removes every object of a tenant: credentials are revoked,
// bindings and roles deleted, the namespace cordoned (or deleted with
// DeleteData). The controller calls it when a Tenant is deleted.
func (r *Reconciler) Offboard(ctx context.Context, tenant string, scope Scope) ChangeSet {
	p := newPlanner(r, scope)
	p.offboard(tenant)
	if err := p.read(ctx); err != nil {
		return ChangeSet{Tenant: tenant, Err: err}
	}
	plan, err := p.finish()
	if err != nil {
		return ChangeSet{Tenant: tenant, Err: err}
	}
	if len(plan.Sets) == 0 {
		return ChangeSet{Tenant: tenant, Offboarded: true}
	}
	return r.Execute(ctx, plan)[0]
}

// Plan reads what exists of tenants (and, with shared, of the shared
// objects; with scope.Prune, of the tenants of scope.TenantSet absent from
// tenants) and works out every change, without writing. Tenants must be
// defaulted and valid, as spec.Load returns them.
func (r *Reconciler) Plan(ctx context.Context, tenants []v1alpha1.Tenant, shared bool, scope Scope) (*Plan, error) {
	p := newPlanner(r, scope)
	if shared {
		p.want("", "", render.Shared())
	}
	for _, t := range tenants {
		objs := render.Tenant(t)
		if err := withDigest(objs); err != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.Name, err)
		}
		if scope.TenantSet != "" {
			for _, o := range objs {
				if ns, ok := o.(*corev1ac.NamespaceApplyConfiguration); ok {
					ns.WithLabels(map[string]string{v1alpha1.TenantSetLabel: scope.TenantSet})
				}
			}
		}
		p.want(t.Name, t.Spec.Namespace, objs)
	}
	if scope.Prune {
		if scope.TenantSet == "" {
			return nil, fmt.Errorf("internal error: pruning needs a tenant set")
		}
		if err := p.offboardAbsent(ctx); err != nil {
			return nil, err
		}
	}
	if err := p.read(ctx); err != nil {
		return nil, err
	}
	return p.finish()
}

// stage orders the writes of a run across all tenants: namespaces exist
// before anything is created in them, access is taken away before new
// access is granted (a demoted member never holds both roles), guardrails
// go only after the objects they guard are in place, and admin RoleBindings
// only once the admission policy limiting admins is enforced (guardrail.go).
type stage int

const (
	stageCluster     stage = iota // shared objects and Namespaces applied
	stageCredentials              // ServiceAccounts revoked, token Secrets deleted
	stageBindings                 // RoleBindings deleted
	stageRoles                    // Roles deleted
	stageNamespaced               // namespaced objects applied
	stageAdmins                   // admin RoleBindings applied, once the admission policy is enforced
	stageGuardrails               // quotas, limits, network policies deleted
	stageNamespaces               // namespaces cordoned or deleted
	stages
)

// job is one change of a plan: its ChangeSet's and its own index.
type job struct{ set, change int }

// Execute carries out a plan: every change of every tenant without
// conflicts, stage by stage, each stage with a bounded pool of workers.
// It returns the plan's ChangeSets with what happened.
func (r *Reconciler) Execute(ctx context.Context, p *Plan) []ChangeSet {
	var byStage [stages][]job
	r.lockNamespaces(p)
	for si := range p.Sets {
		cs := &p.Sets[si]
		if len(Conflicts(cs.Err)) > 0 {
			continue
		}
		for ci := range cs.Changes {
			c := &cs.Changes[ci]
			if c.Action == Unchanged && !c.lock {
				r.report(*c)
				continue
			}
			byStage[c.stage] = append(byStage[c.stage], job{si, ci})
		}
	}
	// A tenant whose Namespace could not be written gets none of its
	// namespaced objects: they would only fail too.
	failedNS := map[string]error{}
	var policyErr error
	for st := range stages {
		jobs := byStage[st]
		if stage(st) == stageNamespaced || stage(st) == stageAdmins {
			for _, j := range jobs {
				c := &p.Sets[j.set].Changes[j.change]
				if err := failedNS[c.Object.Namespace]; err != nil && c.Err == nil {
					c.Action, c.Err = Failed, &TransientError{Object: c.Object, Err: fmt.Errorf("not written: namespace %s was not written", c.Object.Namespace)}
				}
			}
		}
		if stage(st) == stageAdmins {
			r.holdAdmins(ctx, p, jobs, policyErr)
		}
		r.parallel(ctx, len(jobs), func(i int) {
			c := &p.Sets[jobs[i].set].Changes[jobs[i].change]
			if c.Err == nil {
				r.carryOut(ctx, p, c)
			}
			r.report(*c)
		})
		if stage(st) == stageCluster {
			var policy []*Change
			for _, j := range jobs {
				c := &p.Sets[j.set].Changes[j.change]
				if c.Object.Kind == "Namespace" && c.Err != nil {
					failedNS[c.Object.Name] = c.Err
					if len(Conflicts(c.Err)) > 0 {
						p.Sets[j.set].fail(c.Err) // lost the tenant to another run: nothing of it is written
					}
				}
				if isPolicy(c.Object) {
					policy = append(policy, c)
				}
			}
			policyErr = r.notePolicyWrites(policy)
		}
	}
	r.checkLocks(ctx, p)
	for i := range p.Sets {
		p.Sets[i].finish()
	}
	return p.Sets
}

// parallel runs fn(0..n-1) on the Reconciler's workers.
func (r *Reconciler) parallel(ctx context.Context, n int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(r.opts.Workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func (r *Reconciler) report(c Change) {
	if r.opts.Progress == nil {
		return
	}
	r.reportMu.Lock()
	defer r.reportMu.Unlock()
	r.opts.Progress(c)
}

// do runs one request through Options.Retry.
func (r *Reconciler) do(ctx context.Context, fn func(context.Context) error) error {
	if r.opts.Retry == nil {
		return fn(ctx)
	}
	return r.opts.Retry(ctx, fn)
}

func (r *Reconciler) applyOptions() metav1.ApplyOptions {
	o := metav1.ApplyOptions{FieldManager: v1alpha1.FieldManager, Force: true}
	if r.opts.DryRun {
		o.DryRun = []string{metav1.DryRunAll}
	}
	return o
}

func (r *Reconciler) deleteOptions() metav1.DeleteOptions {
	var o metav1.DeleteOptions
	if r.opts.DryRun {
		o.DryRun = []string{metav1.DryRunAll}
	}
	return o
}
