package apply

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/read"
	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// fewTenants is where reading switches from LISTs inside each tenant's
// namespace (cheap for one tenant on a big cluster: the controller's case)
// to one cluster-wide LIST per kind (cheap for thousands of tenants).
const fewTenants = 20

// planner builds a Plan: desired objects first, then one read of what
// exists, each live object compared as it streams past and then dropped,
// so memory holds the desired objects and not the cluster's.
type planner struct {
	r     *Reconciler
	scope Scope
	sets  []ChangeSet
	// byKey finds the change of a desired object by Ref.key().
	byKey map[string]*Change
	// tenantOf finds the set of a tenant (input or offboarded) by name.
	tenantOf map[string]int
	// wantNS is the namespace each set wants ("" when offboarding).
	wantNS []string
	// wantKinds are the kinds of the desired objects.
	wantKinds map[string]bool

	mu        sync.Mutex
	seen      map[*Change]bool
	conflicts [][]error
	stale     [][]Change
}

func newPlanner(r *Reconciler, scope Scope) *planner {
	return &planner{r: r, scope: scope, byKey: map[string]*Change{}, tenantOf: map[string]int{}, seen: map[*Change]bool{},
		wantKinds: map[string]bool{}}
}

// want adds a set of desired objects; tenant "" stands for the shared ones.
func (p *planner) want(tenant, ns string, objs []render.Object) {
	cs := ChangeSet{Tenant: tenant, Namespace: ns, Changes: make([]Change, len(objs))}
	for i, o := range objs {
		st := stageNamespaced
		switch {
		case deref(o.GetNamespace()) == "":
			st = stageCluster
		case isAdminBinding(o):
			st = stageAdmins
		}
		cs.Changes[i] = Change{Object: RefOf(o), Action: Created, desired: o, stage: st, set: len(p.sets), tenant: tenant}
		p.byKey[cs.Changes[i].Object.key()] = &cs.Changes[i]
		p.wantKinds[cs.Changes[i].Object.Kind] = true
	}
	p.add(cs)
}

// offboard adds a tenant whose every object goes.
func (p *planner) offboard(tenant string) {
	p.add(ChangeSet{Tenant: tenant, Offboarded: true})
}

func (p *planner) add(cs ChangeSet) {
	p.sets = append(p.sets, cs)
	p.wantNS = append(p.wantNS, cs.Namespace)
	p.conflicts = append(p.conflicts, nil)
	p.stale = append(p.stale, nil)
	if cs.Tenant != "" {
		p.tenantOf[cs.Tenant] = len(p.sets) - 1
	}
}

// offboardAbsent adds the tenants of the tenant set that the input no
// longer declares. Only namespaces carrying the set's label count, so
// another input's tenants are never touched.
func (p *planner) offboardAbsent(ctx context.Context) error {
	sel := metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector + "," + v1alpha1.TenantSetLabel + "=" + p.scope.TenantSet}
	var absent []string
	err := read.Each(ctx, p.r.opts.Retry, p.r.client.CoreV1().Namespaces().List, sel, func(ns *corev1.Namespace) error {
		t := ns.Labels[v1alpha1.TenantLabel]
		if _, ok := p.tenantOf[t]; !ok && t != "" && !slices.Contains(absent, t) {
			absent = append(absent, t)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list the namespaces of tenant set %s: %w", p.scope.TenantSet, err)
	}
	sort.Strings(absent)
	for _, t := range absent {
		p.offboard(t)
	}
	return nil
}

// read streams what exists and compares it with what is wanted.
func (p *planner) read(ctx context.Context) error {
	if len(p.tenantOf) > fewTenants {
		return p.readClusterWide(ctx)
	}
	return p.readNamespaces(ctx)
}

// readKinds is the order kinds are read in; every kind render produces,
// and the token Secrets bulkhead makes.
var readKinds = []string{"Namespace", "ServiceAccount", "Secret", "Role", "RoleBinding", "ResourceQuota", "LimitRange", "NetworkPolicy",
	"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}

// listOptions: bulkhead's token Secrets by label (other Secrets are none of
// its business and may be many and large); every other kind unfiltered,
// so an unmanaged object in the way is seen as a conflict.
func listOptions(kind string) metav1.ListOptions {
	if kind == "Secret" {
		return metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector, FieldSelector: "type=" + string(corev1.SecretTypeServiceAccountToken)}
	}
	return metav1.ListOptions{}
}

func (p *planner) readClusterWide(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, name := range readKinds {
		k := p.r.kinds[name]
		g.Go(func() error {
			return p.each(ctx, k, "", listOptions(name))
		})
	}
	return g.Wait()
}

// readNamespaces reads, for a few tenants, the namespaces they want or
// label as theirs and the objects in those namespaces.
func (p *planner) readNamespaces(ctx context.Context) error {
	// A namespace that does not exist holds nothing: only namespaces seen
	// are read (a new tenant costs two LISTs, not nine).
	namespaces, exists := map[string]bool{}, map[string]bool{}
	var tenants []string
	for t := range p.tenantOf {
		tenants = append(tenants, t)
	}
	nsKind := p.r.kinds["Namespace"]
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.r.opts.Workers)
	var mu sync.Mutex
	if len(tenants) > 0 {
		sort.Strings(tenants)
		sel := metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector + "," + v1alpha1.TenantLabel + " in (" + strings.Join(tenants, ",") + ")"}
		g.Go(func() error {
			return p.each(gctx, nsKind, "", sel, func(o metav1.Object) {
				mu.Lock()
				exists[o.GetName()] = true
				mu.Unlock()
			})
		})
	}
	for _, ns := range p.wantNS {
		if ns != "" && p.byKey[Ref{Kind: "Namespace", APIVersion: "v1", Name: ns}.key()] != nil {
			g.Go(func() error {
				return p.each(gctx, nsKind, "", metav1.ListOptions{FieldSelector: "metadata.name=" + ns}, func(o metav1.Object) {
					mu.Lock()
					exists[o.GetName()] = true
					mu.Unlock()
				})
			})
		} else if ns != "" {
			namespaces[ns] = true // not read by name: read what is in it
		}
	}
	for _, name := range readKinds {
		// Tenants own no cluster-scoped objects but their Namespace: the
		// others (the shared admission policy) are read only when wanted.
		if k := p.r.kinds[name]; !k.namespaced && name != "Namespace" && p.wantKinds[name] {
			g.Go(func() error { return p.each(gctx, k, "", listOptions(name)) })
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for ns := range exists {
		namespaces[ns] = true
	}
	g, ctx = errgroup.WithContext(ctx)
	g.SetLimit(p.r.opts.Workers)
	for ns := range namespaces {
		for _, name := range readKinds {
			if k := p.r.kinds[name]; k.namespaced {
				g.Go(func() error { return p.each(ctx, k, ns, listOptions(name)) })
			}
		}
	}
	return g.Wait()
}

// each streams one LIST through observe; seen, when given, sees every object.
func (p *planner) each(ctx context.Context, k kind, ns string, opts metav1.ListOptions, seen ...func(metav1.Object)) error {
	fn := func(o metav1.Object) error {
		for _, f := range seen {
			f(o)
		}
		return p.observe(k, o)
	}
	var err error
	if p.r.opts.Lister != nil {
		err = k.eachFrom(ctx, p.r.opts.Lister, ns, opts, fn)
	} else {
		err = k.each(ctx, p.r.opts.Retry, ns, opts, fn)
	}
	if err != nil {
		where := "in every namespace"
		switch {
		case !k.namespaced:
			where = ""
		case ns != "":
			where = "in " + ns
		}
		return fmt.Errorf("list %ss %s: %w", k.resource, where, err)
	}
	return nil
}

// observe compares one live object with what is wanted: a desired object
// is unchanged, to configure, or a conflict; an object of a tenant being
// reconciled that nothing wants any more is stale.
func (p *planner) observe(k kind, obj metav1.Object) error {
	ref := Ref{Kind: k.kind, APIVersion: k.apiVersion, Namespace: obj.GetNamespace(), Name: obj.GetName()}
	labels := obj.GetLabels()
	if c := p.byKey[ref.key()]; c != nil {
		p.mu.Lock()
		seen := p.seen[c]
		p.seen[c] = true
		p.mu.Unlock()
		if seen {
			return nil // read twice (by name and by label)
		}
		return p.compare(k, c, obj)
	}
	if labels[v1alpha1.ManagedByLabel] != v1alpha1.ManagedByValue {
		return nil
	}
	set, ok := p.tenantOf[labels[v1alpha1.TenantLabel]]
	if !ok {
		return nil
	}
	if c, ok := p.removal(set, k, ref, obj); ok {
		p.mu.Lock()
		if !slices.ContainsFunc(p.stale[set], func(s Change) bool { return s.Object == c.Object }) {
			p.stale[set] = append(p.stale[set], c)
		}
		p.mu.Unlock()
	}
	return nil
}

// compare decides what a desired object that exists needs.
func (p *planner) compare(k kind, c *Change, obj metav1.Object) error {
	set := c.set
	tenant := p.sets[set].Tenant
	labels := obj.GetLabels()
	conflict := func(reason ConflictReason, owner string) error {
		p.mu.Lock()
		p.conflicts[set] = append(p.conflicts[set], &ConflictError{Object: c.Object, Tenant: tenant, Reason: reason, Owner: owner})
		p.mu.Unlock()
		return nil
	}
	switch {
	case labels[v1alpha1.ManagedByLabel] != v1alpha1.ManagedByValue:
		if !p.r.opts.Adopt {
			return conflict(NotManaged, "")
		}
	case labels[v1alpha1.TenantLabel] == "":
		// bulkhead's object with its tenant label edited away, where this
		// tenant wants it: drift, put back.
	case labels[v1alpha1.TenantLabel] != tenant:
		return conflict(OtherTenant, labels[v1alpha1.TenantLabel])
	}
	if ns, ok := c.desired.(*corev1ac.NamespaceApplyConfiguration); ok {
		c.liveRV = obj.GetResourceVersion()
		switch live := labels[v1alpha1.TenantSetLabel]; {
		case live == v1alpha1.ControllerTenantSet && p.scope.TenantSet != live:
			return conflict(Controlled, live)
		case p.scope.TenantSet == v1alpha1.ControllerTenantSet && live != p.scope.TenantSet &&
			labels[v1alpha1.ManagedByLabel] == v1alpha1.ManagedByValue: // not an adopted namespace
			// The controller leaves the CLI's tenants alone, those of no
			// set included.
			return conflict(OtherTenantSet, live)
		case live == "":
		case p.scope.TenantSet == "":
			// Applied without naming a set: the tenant stays in its set.
			ns.WithLabels(map[string]string{v1alpha1.TenantSetLabel: live})
		case live != p.scope.TenantSet:
			return conflict(OtherTenantSet, live)
		}
	}
	if err := stamp(c.desired); err != nil {
		return err
	}
	if unchangedFast(c.desired, obj) {
		c.Action = Unchanged
		return nil
	}
	owned, err := k.extract(obj)
	if err != nil {
		return err
	}
	want, err := normalize(c.desired)
	if err != nil {
		return fmt.Errorf("encode %s: %w", c.Object, err)
	}
	if reflect.DeepEqual(want, owned) {
		c.Action = Unchanged
		return nil
	}
	c.Action, c.Diff = Configured, diff(owned, want)
	// The digests change whenever anything else does: lines of noise,
	// unless they are the only change (an object applied before digests; a
	// Namespace whose tenant changed elsewhere).
	for _, a := range []string{v1alpha1.AppliedAnnotation, TenantDigestAnnotation} {
		if len(c.Diff) > 1 {
			c.Diff = slices.DeleteFunc(c.Diff, func(d string) bool {
				return strings.Contains(d, "metadata.annotations."+a+":")
			})
		}
	}
	return nil
}

// removal says how a stale object of a tenant goes, in offboarding's order.
// Guardrails stay in a namespace the tenant no longer wants: they protect
// the data kept there.
func (p *planner) removal(set int, k kind, ref Ref, obj metav1.Object) (Change, bool) {
	c := Change{Object: ref, Action: Removed}
	kept := ref.Namespace != "" && ref.Namespace == p.wantNS[set]
	switch k.kind {
	case "Namespace":
		c.stage = stageNamespaces
		switch {
		case p.scope.DeleteData:
			c.Action = Deleted
		case obj.GetLabels()[v1alpha1.StateLabel] == v1alpha1.StateCordoned:
			return c, false
		default:
			c.Action = Cordoned
		}
	case "ServiceAccount":
		c.stage, c.Action = stageCredentials, Revoked
	case "Secret":
		owner := obj.GetAnnotations()[corev1.ServiceAccountNameKey]
		if p.byKey[Ref{Kind: "ServiceAccount", APIVersion: "v1", Namespace: ref.Namespace, Name: owner}.key()] != nil {
			return c, false // a member's legacy token stays
		}
		c.stage, c.secretOf = stageCredentials, owner
	case "RoleBinding":
		c.stage = stageBindings
	case "Role":
		c.stage = stageRoles
	case "ResourceQuota", "LimitRange", "NetworkPolicy":
		if !kept {
			return c, false
		}
		c.stage = stageGuardrails
	default:
		return c, false
	}
	return c, true
}

// finish turns what was read into the Plan.
func (p *planner) finish() (*Plan, error) {
	plan := &Plan{scope: p.scope, pendingNS: map[string]bool{}}
	for i := range p.sets {
		for ci := range p.sets[i].Changes {
			if c := &p.sets[i].Changes[ci]; c.desired != nil && !p.seen[c] {
				if err := stamp(c.desired); err != nil {
					return nil, err
				}
			}
		}
		cs := p.sets[i]
		stale := p.stale[i]
		sort.Slice(stale, func(a, b int) bool {
			if stale[a].stage != stale[b].stage {
				return stale[a].stage < stale[b].stage
			}
			return stale[a].Object.key() < stale[b].Object.key()
		})
		cs.Changes = append(cs.Changes, stale...)
		conflicts := p.conflicts[i]
		sort.Slice(conflicts, func(a, b int) bool { return conflicts[a].Error() < conflicts[b].Error() })
		cs.Err = errors.Join(conflicts...)
		if cs.Offboarded && len(cs.Changes) == 0 {
			continue // offboarded before: nothing left to do
		}
		plan.Sets = append(plan.Sets, cs)
		for _, c := range cs.Changes {
			if c.Object.Kind == "Namespace" && c.Action == Created {
				plan.pendingNS[c.Object.Name] = true
			}
		}
	}
	return plan, nil
}
