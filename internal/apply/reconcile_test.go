package apply

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// cordonTime stamps cordoned namespaces in these tests.
var cordonTime = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedNow() time.Time { return cordonTime }

const sa, usr, grp = v1alpha1.ServiceAccountMember, v1alpha1.UserMember, v1alpha1.GroupMember

func TestReconcileCreatesThenChangesNothing(t *testing.T) {
	c := needCluster(t)
	var reported []string
	r := New(c, Options{Progress: func(ch Change) { reported = append(reported, outcome(ch.Object, ch.Action)) }})
	fresh := tenant("fresh")
	objs := defaultObjects("fresh", "fresh-user", edit)

	cs := reconcile(t, r, fresh)
	expectChanges(t, cs, all(Created, objs...)...)
	if cs.Tenant != "fresh" || cs.Namespace != "fresh" || cs.Offboarded {
		t.Errorf("ChangeSet is of tenant %q, namespace %q, offboarded %v; want fresh, fresh, false", cs.Tenant, cs.Namespace, cs.Offboarded)
	}
	slices.Sort(reported)
	if want := slices.Sorted(slices.Values(all(Created, objs...))); !slices.Equal(reported, want) {
		t.Errorf("Progress reported %q, want once per object %q", reported, want)
	}
	expectOwned(t, c, "fresh", objs...)
	if cs.Count(Created) != len(objs) || !cs.Pending() {
		t.Errorf("Count(Created) = %d, Pending = %v; want %d, true", cs.Count(Created), cs.Pending(), len(objs))
	}

	quotaSynced(t, c, "fresh")
	before := versions(t, c, "fresh")
	if len(before) != len(objs) {
		t.Errorf("%d bulkhead objects in fresh (%v), want %d", len(before), slices.Sorted(maps.Keys(before)), len(objs))
	}
	reported = nil
	w := writes.Load()
	cs = reconcile(t, r, fresh)
	if n := writes.Load() - w; n != 0 {
		t.Errorf("second reconcile made %d write requests, want 0", n)
	}
	expectChanges(t, cs, all(Unchanged, objs...)...)
	if cs.Pending() {
		t.Error("second reconcile: Pending() = true")
	}
	if len(reported) != len(objs) {
		t.Errorf("second reconcile reported %d changes, want %d", len(reported), len(objs))
	}
	if after := versions(t, c, "fresh"); !maps.Equal(before, after) {
		t.Errorf("resourceVersions changed by a reconcile with nothing to do:\nbefore %v\nafter  %v", before, after)
	}
}

// labMembers is a team of two ServiceAccounts and a user, all with edit.
func labMembers() []tenantOpt {
	return []tenantOpt{member("ana", edit), member("ben", edit), user("carl@example.com", edit)}
}

// demotionChanges is what demoting lab's team to "ana view" does in ns.
func demotionChanges(ns string) []string {
	return []string{
		outcome(nsRef(ns), Configured),
		outcome(saRef(ns, "ana"), Unchanged),
		outcome(roleRef(ns, view), Created),
		outcome(bindingRef(ns, sa, "ana", view), Created),
		outcome(quotaRef(ns), Unchanged),
		outcome(limitsRef(ns), Unchanged),
		outcome(ingressRef(ns), Unchanged),
		// Removals come after what is desired, in offboarding order:
		// credentials, bindings, roles.
		outcome(saRef(ns, "ben"), Revoked),
		outcome(bindingRef(ns, sa, "ana", edit), Removed),
		outcome(bindingRef(ns, sa, "ben", edit), Removed),
		outcome(bindingRef(ns, usr, "carl@example.com", edit), Removed),
		outcome(roleRef(ns, edit), Removed),
	}
}

// oldLabObjects are the objects of lab's team that demotion takes away.
func oldLabObjects(ns string) []Ref {
	return []Ref{saRef(ns, "ben"), bindingRef(ns, sa, "ana", edit), bindingRef(ns, sa, "ben", edit),
		bindingRef(ns, usr, "carl@example.com", edit), roleRef(ns, edit)}
}

func TestDemoteAndRemoveMembers(t *testing.T) {
	c := needCluster(t)
	r := New(c, Options{})
	reconcile(t, r, tenant("lab", labMembers()...))
	expectAccess(t, c, "lab",
		access{saUser("lab", "ana"), "create", "pods", true},
		access{saUser("lab", "ben"), "list", "pods", true},
		access{"carl@example.com", "list", "pods", true})

	cs := reconcile(t, r, tenant("lab", member("ana", view)))
	expectChanges(t, cs, demotionChanges("lab")...)
	wantDiff := []string{
		`~ metadata.annotations.bulkhead.dev/members: "ServiceAccount/edit/ana\nServiceAccount/edit/ben\nUser/edit/carl@example.com" → "ServiceAccount/view/ana"`,
		`- metadata.annotations.bulkhead.dev/users: "carl@example.com"`,
	}
	if got := cs.Changes[0].Diff; !slices.Equal(got, wantDiff) {
		t.Errorf("namespace diff =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(wantDiff, "\n  "))
	}
	expectGone(t, c, oldLabObjects("lab")...)
	expectOwned(t, c, "lab", saRef("lab", "ana"), roleRef("lab", view), bindingRef("lab", sa, "ana", view))
	expectAccess(t, c, "lab",
		access{saUser("lab", "ana"), "create", "pods", false},
		access{saUser("lab", "ana"), "list", "pods", true},
		access{saUser("lab", "ben"), "list", "pods", false},
		access{"carl@example.com", "list", "pods", false})
}

func TestDryRunRemovesNothing(t *testing.T) {
	c := needCluster(t)
	reconcile(t, New(c, Options{}), tenant("drylab", labMembers()...))
	before := versions(t, c, "drylab")
	demoted := tenant("drylab", member("ana", view))

	dry := New(c, Options{DryRun: true})
	sets := execute(t, dry, plan(t, dry, false, Scope{}, demoted))
	if len(sets) != 1 {
		t.Fatalf("dry run returned %d ChangeSets (%v), want 1", len(sets), tenantsOf(sets))
	}
	expectChanges(t, sets[0], demotionChanges("drylab")...)
	expectExist(t, c, oldLabObjects("drylab")...)
	expectGone(t, c, roleRef("drylab", view), bindingRef("drylab", sa, "ana", view))
	if after := versions(t, c, "drylab"); !maps.Equal(before, after) {
		t.Errorf("dry run changed objects:\nbefore %v\nafter  %v", before, after)
	}
	// What the dry run said is what a real run does.
	expectChanges(t, reconcile(t, New(c, Options{}), demoted), demotionChanges("drylab")...)
	expectGone(t, c, oldLabObjects("drylab")...)
}

func TestUnmanagedNamespaceIsAConflict(t *testing.T) {
	c := needCluster(t)
	created := createNamespace(t, c, "handmade")
	var reported []string
	r := New(c, Options{Progress: func(ch Change) { reported = append(reported, outcome(ch.Object, ch.Action)) }})

	p := plan(t, r, false, Scope{}, tenant("handmade"), tenant("bystander"))
	want := []ConflictError{{Object: nsRef("handmade"), Tenant: "handmade", Reason: NotManaged}}
	expectConflicts(t, p.Conflicts(), want...)
	if got, wantMsg := p.Conflicts()[0].Error(), "namespace/handmade exists and is not managed by bulkhead"; got != wantMsg {
		t.Errorf("conflict says %q, want %q", got, wantMsg)
	}

	sets := r.Execute(t.Context(), p)
	expectConflicts(t, Conflicts(setOf(t, sets, "handmade").Err), want...)
	// Execute skips the tenant with a conflict and only that tenant.
	bystander := setOf(t, sets, "bystander")
	if bystander.Err != nil {
		t.Errorf("bystander: %v", bystander.Err)
	}
	expectChanges(t, bystander, all(Created, defaultObjects("bystander", "bystander-user", edit)...)...)
	expectOwned(t, c, "bystander", defaultObjects("bystander", "bystander-user", edit)...)
	for _, line := range reported {
		if strings.Contains(line, " handmade/") || strings.Contains(line, "/handmade ") {
			t.Errorf("Progress reported %q for the tenant with a conflict", line)
		}
	}
	ns := get(t, c, nsRef("handmade"))
	if ns.GetResourceVersion() != created.ResourceVersion || ns.GetLabels()[v1alpha1.ManagedByLabel] != "" {
		t.Errorf("conflicting namespace was written: labels %v", ns.GetLabels())
	}
	expectGone(t, c, defaultObjects("handmade", "handmade-user", edit)[1:]...)

	adopt := New(c, Options{Adopt: true})
	objs := defaultObjects("handmade", "handmade-user", edit)
	cs := reconcile(t, adopt, tenant("handmade"))
	expectChanges(t, cs, append([]string{outcome(objs[0], Configured)}, all(Created, objs[1:]...)...)...)
	expectOwned(t, c, "handmade", objs...)
}

func TestNamespaceOfAnotherTenantIsAConflict(t *testing.T) {
	c := needCluster(t)
	reconcile(t, New(c, Options{}), tenant("owner"))
	before := versions(t, c, "owner")
	squatter := tenant("squatter", inNamespace("owner"))
	// Every object of squatter's that owner already has is owner's, and
	// adopting does not change that.
	want := []ConflictError{
		{Object: limitsRef("owner"), Tenant: "squatter", Reason: OtherTenant, Owner: "owner"},
		{Object: nsRef("owner"), Tenant: "squatter", Reason: OtherTenant, Owner: "owner"},
		{Object: ingressRef("owner"), Tenant: "squatter", Reason: OtherTenant, Owner: "owner"},
		{Object: quotaRef("owner"), Tenant: "squatter", Reason: OtherTenant, Owner: "owner"},
		{Object: roleRef("owner", edit), Tenant: "squatter", Reason: OtherTenant, Owner: "owner"},
	}
	for _, adopt := range []bool{false, true} {
		t.Run(fmt.Sprintf("adopt=%v", adopt), func(t *testing.T) {
			r := New(c, Options{Adopt: adopt})
			p := plan(t, r, false, Scope{}, squatter)
			expectConflicts(t, p.Conflicts(), want...)
			cs := r.Execute(t.Context(), p)[0]
			// The ChangeSet joins them in the order they were read, which
			// varies; Plan.Conflicts sorts them.
			expectConflicts(t, sortedConflicts(Conflicts(cs.Err)), want...)
			expectGone(t, c, saRef("owner", "squatter-user"), bindingRef("owner", sa, "squatter-user", edit))
			if after := versions(t, c, "owner"); !maps.Equal(before, after) {
				t.Errorf("owner's objects were written:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	msg := (&ConflictError{Object: nsRef("owner"), Tenant: "squatter", Reason: OtherTenant, Owner: "owner"}).Error()
	if want := `namespace/owner belongs to bulkhead tenant "owner", not "squatter"`; msg != want {
		t.Errorf("conflict says %q, want %q", msg, want)
	}
}

func sortedConflicts(cs []*ConflictError) []*ConflictError {
	return slices.SortedFunc(slices.Values(cs), func(a, b *ConflictError) int { return strings.Compare(a.Error(), b.Error()) })
}

// expectConflicts compares conflicts with want, in order.
func expectConflicts(t *testing.T, got []*ConflictError, want ...ConflictError) {
	t.Helper()
	g := make([]ConflictError, len(got))
	for i, c := range got {
		g[i] = *c
	}
	if !slices.Equal(g, want) {
		t.Errorf("conflicts =\n  %+v\nwant\n  %+v", g, want)
	}
}

// expectCordoned checks a cordoned namespace: the state label, when and why,
// a quota of zero pods.
func expectCordoned(t *testing.T, c kubernetes.Interface, ns, reason string) {
	t.Helper()
	n := get(t, c, nsRef(ns))
	if n == nil {
		t.Errorf("namespace %s is gone, want it cordoned", ns)
		return
	}
	if got := n.GetLabels()[v1alpha1.StateLabel]; got != v1alpha1.StateCordoned {
		t.Errorf("namespace %s: label %s = %q, want %q", ns, v1alpha1.StateLabel, got, v1alpha1.StateCordoned)
	}
	if got, want := n.GetAnnotations()[v1alpha1.CordonedAnnotation], "2030-01-02T03:04:05Z "+reason; got != want {
		t.Errorf("namespace %s: annotation %s = %q, want %q", ns, v1alpha1.CordonedAnnotation, got, want)
	}
	q := get(t, c, quotaRef(ns))
	if q == nil {
		t.Errorf("namespace %s has no quota", ns)
		return
	}
	pods := q.(*corev1.ResourceQuota).Spec.Hard[corev1.ResourcePods]
	if pods.Cmp(resource.MustParse("0")) != 0 || pods.String() != "0" {
		t.Errorf("namespace %s: quota pods = %s, want 0", ns, pods.String())
	}
}

// notCordoned fails when ns still carries the cordon.
func expectNotCordoned(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	n := get(t, c, nsRef(ns))
	if _, ok := n.GetLabels()[v1alpha1.StateLabel]; ok {
		t.Errorf("namespace %s still has label %s", ns, v1alpha1.StateLabel)
	}
	if _, ok := n.GetAnnotations()[v1alpha1.CordonedAnnotation]; ok {
		t.Errorf("namespace %s still has annotation %s", ns, v1alpha1.CordonedAnnotation)
	}
	pods := get(t, c, quotaRef(ns)).(*corev1.ResourceQuota).Spec.Hard[corev1.ResourcePods]
	if pods.String() != "100" {
		t.Errorf("namespace %s: quota pods = %s, want the default 100", ns, pods.String())
	}
}

const pruneReason = "tenant offboarded"

// offboardChanges is what offboarding a default tenant does.
func offboardChanges(ns, sa string, last Action) []string {
	return []string{
		outcome(saRef(ns, sa), Revoked),
		outcome(bindingRef(ns, v1alpha1.ServiceAccountMember, sa, edit), Removed),
		outcome(roleRef(ns, edit), Removed),
		outcome(nsRef(ns), last),
	}
}

func TestTenantSets(t *testing.T) {
	c := needCluster(t)
	r := New(c, Options{Now: fixedNow})
	a1, a2, b1 := tenant("set-a1"), tenant("set-a2"), tenant("set-b1")

	sets := execute(t, r, plan(t, r, true, Scope{TenantSet: "a"}, a1, a2))
	if got := tenantsOf(sets); !slices.Equal(got, []string{"", "set-a1", "set-a2"}) {
		t.Fatalf("ChangeSets of tenants %q, want the shared objects, set-a1, set-a2", got)
	}
	for _, ch := range sets[0].Changes {
		if ch.Action != Created && ch.Action != Unchanged {
			t.Errorf("shared object %s", ch)
		}
	}
	for _, ns := range []string{"set-a1", "set-a2"} {
		if got := get(t, c, nsRef(ns)).GetLabels()[v1alpha1.TenantSetLabel]; got != "a" {
			t.Errorf("namespace %s: tenant set %q, want a", ns, got)
		}
	}
	createConfigMap(t, c, "set-a2", "data")
	quotaSynced(t, c, "set-a1")
	quotaSynced(t, c, "set-a2")
	beforeA1, beforeA2 := versions(t, c, "set-a1"), versions(t, c, "set-a2")

	// Pruning set b does not touch set a.
	p := plan(t, r, false, Scope{TenantSet: "b", Prune: true}, b1)
	if got := tenantsOf(p.Sets); !slices.Equal(got, []string{"set-b1"}) {
		t.Errorf("prune of set b plans tenants %q, want only set-b1", got)
	}
	execute(t, r, p)
	if !maps.Equal(beforeA1, versions(t, c, "set-a1")) || !maps.Equal(beforeA2, versions(t, c, "set-a2")) {
		t.Error("pruning set b wrote objects of set a")
	}

	// Pruning set a without set-a2 offboards set-a2 and only it.
	p = plan(t, r, false, Scope{TenantSet: "a", Prune: true}, a1)
	if got := tenantsOf(p.Sets); !slices.Equal(got, []string{"set-a1", "set-a2"}) {
		t.Fatalf("prune of set a plans tenants %q, want set-a1, set-a2", got)
	}
	sets = execute(t, r, p)
	expectChanges(t, sets[0], all(Unchanged, defaultObjects("set-a1", "set-a1-user", edit)...)...)
	if !sets[1].Offboarded || sets[0].Offboarded {
		t.Errorf("Offboarded = %v, %v; want false, true", sets[0].Offboarded, sets[1].Offboarded)
	}
	expectChanges(t, sets[1], offboardChanges("set-a2", "set-a2-user", Cordoned)...)
	expectCordoned(t, c, "set-a2", pruneReason)
	expectGone(t, c, saRef("set-a2", "set-a2-user"), bindingRef("set-a2", sa, "set-a2-user", edit), roleRef("set-a2", edit))
	// The data and the guardrails protecting it stay.
	expectExist(t, c, configMapRef("set-a2", "data"), limitsRef("set-a2"), ingressRef("set-a2"))
	expectAccess(t, c, "set-a2", access{saUser("set-a2", "set-a2-user"), "list", "pods", false})
	if !maps.Equal(beforeA1, versions(t, c, "set-a1")) {
		t.Error("offboarding set-a2 wrote objects of set-a1")
	}

	// A cordoned tenant has nothing left to offboard.
	p = plan(t, r, false, Scope{TenantSet: "a", Prune: true}, a1)
	if got := tenantsOf(p.Sets); !slices.Equal(got, []string{"set-a1"}) {
		t.Errorf("second prune of set a plans tenants %q, want only set-a1", got)
	}

	// A tenant of set b may not be applied as part of set a.
	p = plan(t, r, false, Scope{TenantSet: "a"}, b1)
	expectConflicts(t, p.Conflicts(), ConflictError{Object: nsRef("set-b1"), Tenant: "set-b1", Reason: OtherTenantSet, Owner: "b"})

	// Without a set, a tenant stays in its set.
	cs := reconcile(t, r, b1)
	expectChanges(t, cs, all(Unchanged, defaultObjects("set-b1", "set-b1-user", edit)...)...)
	if got := get(t, c, nsRef("set-b1")).GetLabels()[v1alpha1.TenantSetLabel]; got != "b" {
		t.Errorf("set-b1 reconciled without a set: tenant set %q, want b", got)
	}

	// Declaring set-a2 again lifts the cordon.
	sets = execute(t, r, plan(t, r, false, Scope{TenantSet: "a"}, a1, a2))
	objs := defaultObjects("set-a2", "set-a2-user", edit)
	expectChanges(t, setOf(t, sets, "set-a2"),
		outcome(objs[0], Configured), outcome(objs[1], Created), outcome(objs[2], Created), outcome(objs[3], Created),
		outcome(objs[4], Configured), outcome(objs[5], Unchanged), outcome(objs[6], Unchanged))
	expectNotCordoned(t, c, "set-a2")
	expectExist(t, c, configMapRef("set-a2", "data"))
}

func TestOffboard(t *testing.T) {
	c := needCluster(t)
	r := New(c, Options{Now: fixedNow})
	reconcile(t, r, tenant("off-x"))
	createConfigMap(t, c, "off-x", "data")

	cs, _ := offboard(t, r, "off-x", Scope{})
	if cs.Tenant != "off-x" || !cs.Offboarded || cs.Err != nil {
		t.Errorf("Offboard: tenant %q, offboarded %v, err %v; want off-x, true, nil", cs.Tenant, cs.Offboarded, cs.Err)
	}
	expectChanges(t, cs, offboardChanges("off-x", "off-x-user", Cordoned)...)
	expectCordoned(t, c, "off-x", pruneReason)
	expectGone(t, c, saRef("off-x", "off-x-user"), bindingRef("off-x", sa, "off-x-user", edit), roleRef("off-x", edit))
	expectExist(t, c, configMapRef("off-x", "data"))

	reconcile(t, r, tenant("off-y"))
	cs, _ = offboard(t, r, "off-y", Scope{DeleteData: true})
	if cs.Err != nil {
		t.Errorf("Offboard with DeleteData: %v", cs.Err)
	}
	expectChanges(t, cs, offboardChanges("off-y", "off-y-user", Deleted)...)
	expectGone(t, c, nsRef("off-y"))
}

// Offboarding a tenant that has nothing left (offboarded before, or never
// applied: the controller sees a Tenant deleted twice, or one that never
// got far) must be a no-op.
func TestOffboardWithNothingLeft(t *testing.T) {
	c := needCluster(t)
	r := New(c, Options{Now: fixedNow})
	reconcile(t, r, tenant("off-twice"))
	if cs, ok := offboard(t, r, "off-twice", Scope{}); ok {
		expectChanges(t, cs, offboardChanges("off-twice", "off-twice-user", Cordoned)...)
	}
	for _, name := range []string{"off-twice", "off-never"} {
		cs, ok := offboard(t, r, name, Scope{})
		if !ok {
			continue
		}
		if cs.Tenant != name || cs.Err != nil || len(cs.Changes) != 0 {
			t.Errorf("Offboard(%s) with nothing left: tenant %q, err %v, changes %q; want %s, nil, none", name, cs.Tenant, cs.Err, outcomes(cs), name)
		}
	}
}

func TestGuardrailTurnedOff(t *testing.T) {
	c := needCluster(t)
	r := New(c, Options{})
	reconcile(t, r, tenant("guard"))
	ctx := t.Context()
	handLR := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "handmade"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Gi")},
	}}}}
	lr, err := c.CoreV1().LimitRanges("guard").Create(ctx, handLR, metav1.CreateOptions{})
	check(t, err)
	handNP := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "handmade"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}}
	np, err := c.NetworkingV1().NetworkPolicies("guard").Create(ctx, handNP, metav1.CreateOptions{})
	check(t, err)

	off := tenant("guard", openNetwork())
	// A spec cannot drop the built-in container defaults (they merge in
	// field by field); render can render a tenant without a LimitRange.
	off.Spec.Limits = nil
	cs := reconcile(t, r, off)
	objs := defaultObjects("guard", "guard-user", edit)
	// The Namespace records the digest of the tenant's spec, which
	// changed: it is the tenant's lock against a concurrent run (claim.go).
	expectChanges(t, cs, outcome(objs[0], Configured), outcome(objs[1], Unchanged), outcome(objs[2], Unchanged),
		outcome(objs[3], Unchanged), outcome(objs[4], Unchanged), outcome(limitsRef("guard"), Removed), outcome(ingressRef("guard"), Removed))
	expectGone(t, c, limitsRef("guard"), ingressRef("guard"))
	for _, o := range []metav1.Object{lr, np} {
		ref := Ref{Kind: "LimitRange", Namespace: "guard", Name: o.GetName()}
		if _, ok := o.(*networkingv1.NetworkPolicy); ok {
			ref.Kind = "NetworkPolicy"
		}
		got := get(t, c, ref)
		if got == nil || got.GetResourceVersion() != o.GetResourceVersion() {
			t.Errorf("hand-made %s was changed or removed", ref)
		}
	}
}

func TestTenantMovesNamespace(t *testing.T) {
	c := needCluster(t)
	r := New(c, Options{Now: fixedNow})
	reconcile(t, r, tenant("mover", inNamespace("mover-old")))
	createConfigMap(t, c, "mover-old", "data")

	cs := reconcile(t, r, tenant("mover", inNamespace("mover-new")))
	newObjs := defaultObjects("mover-new", "mover-user", edit)
	expectChanges(t, cs, append(all(Created, newObjs...), offboardChanges("mover-old", "mover-user", Cordoned)...)...)
	expectOwned(t, c, "mover", newObjs...)
	expectCordoned(t, c, "mover-old", pruneReason)
	expectGone(t, c, saRef("mover-old", "mover-user"), bindingRef("mover-old", sa, "mover-user", edit), roleRef("mover-old", edit))
	expectExist(t, c, configMapRef("mover-old", "data"), limitsRef("mover-old"), ingressRef("mover-old"))
	expectAccess(t, c, "mover-old", access{saUser("mover-old", "mover-user"), "list", "pods", false})
	expectAccess(t, c, "mover-new", access{saUser("mover-new", "mover-user"), "create", "pods", true})

	// Moved once, nothing more to do.
	expectChanges(t, reconcile(t, r, tenant("mover", inNamespace("mover-new"))), all(Unchanged, newObjs...)...)
}

func TestDiscoverFindsAppliedTenants(t *testing.T) {
	c := needCluster(t)
	r := New(c, Options{Now: fixedNow})
	a := tenant("disc-a", member("ana", edit), user("carl@example.com", view), group("oidc:researchers", admin))
	b := tenant("disc-b", inNamespace("disc-b-ns"))
	reconcile(t, r, a)
	reconcile(t, r, b)
	reconcile(t, r, tenant("disc-gone"))
	offboard(t, r, "disc-gone", Scope{})

	got, err := Discover(t.Context(), c, "disc-a", "disc-b", "disc-gone")
	check(t, err)
	if names := tenantNames(got); !slices.Equal(names, []string{"disc-a", "disc-b"}) {
		t.Fatalf("Discover found %q, want disc-a and disc-b (disc-gone is cordoned)", names)
	}
	for i, want := range []v1alpha1.Tenant{a, b} {
		g := got[i]
		if g.Spec.Namespace != want.Spec.Namespace || g.Spec.PodSecurity != want.Spec.PodSecurity {
			t.Errorf("%s: namespace %q, pod security %q; want %q, %q", want.Name, g.Spec.Namespace, g.Spec.PodSecurity, want.Spec.Namespace, want.Spec.PodSecurity)
		}
		if gm, wm := memberLines(g.Spec.Members), memberLines(want.Spec.Members); !slices.Equal(gm, wm) {
			t.Errorf("%s: members %q, want %q", want.Name, gm, wm)
		}
		q := g.Spec.Quota
		if q == nil || q.GPUs == nil || q.GPUs.Cmp(*want.Spec.Quota.GPUs) != 0 || q.GPUResource != want.Spec.Quota.GPUResource {
			t.Errorf("%s: quota %+v, want %s GPUs of %s", want.Name, q, want.Spec.Quota.GPUs, want.Spec.Quota.GPUResource)
		}
	}
	every, err := Discover(t.Context(), c)
	check(t, err)
	names := tenantNames(every)
	if !slices.Contains(names, "disc-a") || !slices.Contains(names, "disc-b") || slices.Contains(names, "disc-gone") {
		t.Errorf("Discover() found %q: want disc-a and disc-b, not disc-gone", names)
	}
	if !slices.IsSorted(names) {
		t.Errorf("Discover() not sorted by name: %q", names)
	}
}

func tenantNames(ts []v1alpha1.Tenant) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func memberLines(ms []v1alpha1.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = v1alpha1.MemberLine(m)
	}
	slices.Sort(out)
	return out
}

func TestManyTenantsReadClusterWide(t *testing.T) {
	c := needCluster(t)
	r := New(c, Options{})
	const n, demotedAt = 30, 7
	if n <= fewTenants {
		t.Fatalf("%d tenants do not take the cluster-wide read path (fewTenants = %d)", n, fewTenants)
	}
	name := func(i int) string { return fmt.Sprintf("many-%02d", i) }
	ts := make([]v1alpha1.Tenant, n)
	for i := range ts {
		ts[i] = tenant(name(i), member("ana", edit))
	}
	sets := execute(t, r, plan(t, r, false, Scope{}, ts...))
	if len(sets) != n {
		t.Fatalf("%d ChangeSets, want %d", len(sets), n)
	}
	for i, cs := range sets {
		expectChanges(t, cs, all(Created, defaultObjects(name(i), "ana", edit)...)...)
	}

	demoted := slices.Clone(ts)
	demoted[demotedAt] = tenant(name(demotedAt), member("ana", view))
	ns := name(demotedAt)
	want := []string{
		outcome(nsRef(ns), Configured),
		outcome(saRef(ns, "ana"), Unchanged),
		outcome(roleRef(ns, view), Created),
		outcome(bindingRef(ns, sa, "ana", view), Created),
		outcome(quotaRef(ns), Unchanged),
		outcome(limitsRef(ns), Unchanged),
		outcome(ingressRef(ns), Unchanged),
		outcome(bindingRef(ns, sa, "ana", edit), Removed),
		outcome(roleRef(ns, edit), Removed),
	}
	wide := plan(t, r, false, Scope{}, demoted...)
	for i, cs := range wide.Sets {
		if i == demotedAt {
			expectChanges(t, cs, want...)
			continue
		}
		expectChanges(t, cs, all(Unchanged, defaultObjects(name(i), "ana", edit)...)...)
	}
	// The per-namespace path finds the same.
	one := plan(t, r, false, Scope{}, demoted[demotedAt])
	expectChanges(t, one.Sets[0], want...)
	if a, b := wide.Sets[demotedAt].Changes[0].Diff, one.Sets[0].Changes[0].Diff; !slices.Equal(a, b) {
		t.Errorf("namespace diff: cluster-wide %q, per namespace %q", a, b)
	}

	execute(t, r, wide)
	expectGone(t, c, bindingRef(ns, sa, "ana", edit), roleRef(ns, edit))
	for i, cs := range plan(t, r, false, Scope{}, demoted...).Sets {
		if cs.Pending() {
			t.Errorf("tenant %s still pending after execute: %q", name(i), outcomes(cs))
		}
	}
}
