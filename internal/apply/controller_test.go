package apply

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"reflect"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

var controllerScope = Scope{TenantSet: v1alpha1.ControllerTenantSet}

// The controller and the CLI never write each other's tenants: the
// controller's set refuses a tenant of no set or another set, and any other
// scope refuses a tenant of the controller's set, before anything is written.
func TestControllerAndCLITenantsConflict(t *testing.T) {
	c := needCluster(t)
	r := New(c, Options{})

	cli := tenant("by-cli")
	reconcile(t, r, cli) // the CLI, no tenant set
	cliBefore := versions(t, c, "by-cli")
	cs := r.Reconcile(t.Context(), cli, controllerScope)
	conflicts := Conflicts(cs.Err)
	if len(conflicts) != 1 || conflicts[0].Reason != OtherTenantSet || conflicts[0].Owner != "" {
		t.Fatalf("controller reconciling a CLI tenant: conflicts %v, want one OtherTenantSet of no set", conflicts)
	}
	if after := versions(t, c, "by-cli"); !equalVersions(cliBefore, after) {
		t.Errorf("the controller's refused reconcile changed the CLI's tenant: %v -> %v", cliBefore, after)
	}

	owned := tenant("by-controller")
	if cs := r.Reconcile(t.Context(), owned, controllerScope); cs.Err != nil {
		t.Fatalf("controller reconcile: %v", cs.Err)
	}
	ns, err := c.CoreV1().Namespaces().Get(t.Context(), "by-controller", metav1.GetOptions{})
	check(t, err)
	if got := ns.Labels[v1alpha1.TenantSetLabel]; got != v1alpha1.ControllerTenantSet {
		t.Fatalf("namespace of a controller tenant has tenant set %q, want %q", got, v1alpha1.ControllerTenantSet)
	}
	before := versions(t, c, "by-controller")
	for _, scope := range []Scope{{}, {TenantSet: "lab"}} {
		demoted := tenant("by-controller", member("by-controller-user", view))
		cs := r.Reconcile(t.Context(), demoted, scope)
		conflicts := Conflicts(cs.Err)
		if len(conflicts) != 1 || conflicts[0].Reason != Controlled {
			t.Errorf("scope %+v on a controller tenant: conflicts %v, want one Controlled", scope, conflicts)
		}
	}
	if after := versions(t, c, "by-controller"); !equalVersions(before, after) {
		t.Errorf("refused reconciles changed the controller's tenant: %v -> %v", before, after)
	}
}

// A plan read through a Lister sees what a plan read from the API server
// sees: here the Lister is the API server itself, behind the Lister seam.
func TestPlanThroughLister(t *testing.T) {
	c := needCluster(t)
	live := New(c, Options{})
	tn := tenant("listed")
	reconcile(t, live, tn)
	// The planner lists kinds concurrently: the Lister must be safe for
	// concurrent use, and so must this count.
	var calls atomic.Int32
	k := kinds(c)
	lister := func(ctx context.Context, list runtime.Object, ns string, opts metav1.ListOptions) error {
		calls.Add(1)
		kd, ok := k[strings.TrimSuffix(reflect.TypeOf(list).Elem().Name(), "List")]
		if !ok {
			return fmt.Errorf("no kind for %T", list)
		}
		var items []runtime.Object
		if err := kd.each(ctx, nil, ns, opts, func(o metav1.Object) error {
			items = append(items, o.(runtime.Object))
			return nil
		}); err != nil {
			return err
		}
		return apimeta.SetList(list, items)
	}
	cached := New(c, Options{Lister: lister, DryRun: true})
	p := plan(t, cached, false, Scope{}, tn)
	if calls.Load() == 0 {
		t.Fatal("the plan did not read through the Lister")
	}
	if p.Sets[0].Pending() || p.Sets[0].Err != nil {
		t.Errorf("plan through the Lister of an applied tenant: %v, %v; want all unchanged", outcomes(p.Sets[0]), p.Sets[0].Err)
	}
	changed := tenant("listed", member("listed-user", view))
	if p := plan(t, cached, false, Scope{}, changed); !p.Sets[0].Pending() {
		t.Error("plan through the Lister of a demoted member found nothing to do")
	}
}

func equalVersions(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A writer that only removes a label (kubectl label x-) leaves bulkhead the
// only manager and the digest as it was; the object is still put back.
func TestRemovedLabelIsPutBack(t *testing.T) {
	c := needCluster(t)
	r := New(c, Options{})
	tn := tenant("unlabelled")
	reconcile(t, r, tn)
	rb := bindingRef("unlabelled", sa, "unlabelled-user", edit)
	patch := []byte(`{"metadata":{"labels":{"` + v1alpha1.TenantLabel + `":null}}}`)
	_, err := c.RbacV1().RoleBindings("unlabelled").Patch(t.Context(), rb.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-label"})
	check(t, err)
	quota := []byte(`{"spec":{"hard":{"pods":null}}}`)
	_, err = c.CoreV1().ResourceQuotas("unlabelled").Patch(t.Context(), v1alpha1.GuardrailName, types.MergePatchType, quota, metav1.PatchOptions{FieldManager: "kubectl-patch"})
	check(t, err)
	cs := reconcile(t, r, tn)
	if got := outcome(rb, cs.Changes[slices.IndexFunc(cs.Changes, func(c Change) bool { return c.Object == rb })].Action); got != outcome(rb, Configured) {
		t.Errorf("RoleBinding without its tenant label: %s, want configured", got)
	}
	q := quotaRef("unlabelled")
	if i := slices.IndexFunc(cs.Changes, func(c Change) bool { return c.Object == q }); cs.Changes[i].Action != Configured {
		t.Errorf("quota without its pods cap: %s, want configured", cs.Changes[i].Action)
	}
	live, err := c.RbacV1().RoleBindings("unlabelled").Get(t.Context(), rb.Name, metav1.GetOptions{})
	check(t, err)
	if live.Labels[v1alpha1.TenantLabel] != "unlabelled" {
		t.Errorf("tenant label not put back: %v", live.Labels)
	}
}

// The controller adopts a namespace made by hand when the Tenant says so:
// an unmanaged namespace belongs to no tenant set, so it is no CLI tenant.
func TestControllerAdoptsUnmanagedNamespace(t *testing.T) {
	c := needCluster(t)
	_, err := c.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "by-hand"}}, metav1.CreateOptions{})
	check(t, err)
	tn := tenant("by-hand")
	cs := New(c, Options{}).Reconcile(t.Context(), tn, controllerScope)
	if conflicts := Conflicts(cs.Err); len(conflicts) != 1 || conflicts[0].Reason != NotManaged {
		t.Fatalf("without adopt: conflicts %v, want one NotManaged", conflicts)
	}
	if cs := New(c, Options{Adopt: true}).Reconcile(t.Context(), tn, controllerScope); cs.Err != nil {
		t.Fatalf("with adopt: %v", cs.Err)
	}
	ns, err := c.CoreV1().Namespaces().Get(t.Context(), "by-hand", metav1.GetOptions{})
	check(t, err)
	if ns.Labels[v1alpha1.TenantSetLabel] != v1alpha1.ControllerTenantSet || ns.Labels[v1alpha1.TenantLabel] != "by-hand" {
		t.Errorf("adopted namespace labels %v", ns.Labels)
	}
}
