package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

// tenantOpt changes a tenant before it is defaulted.
type tenantOpt func(*v1alpha1.Tenant)

// tenant builds a defaulted tenant, as spec.Load would return it:
// tenant("lab", member("ana", "edit"), user("carl@example.com", "view")).
func tenant(name string, opts ...tenantOpt) v1alpha1.Tenant {
	t := v1alpha1.Tenant{}
	t.Name = name
	for _, o := range opts {
		o(&t)
	}
	spec.Default(&t)
	return t
}

func addMember(kind v1alpha1.MemberKind, name string, role v1alpha1.RoleName) tenantOpt {
	return func(t *v1alpha1.Tenant) {
		t.Spec.Members = append(t.Spec.Members, v1alpha1.Member{Kind: kind, Name: name, Role: role})
	}
}

// member is a ServiceAccount member.
func member(name string, role v1alpha1.RoleName) tenantOpt {
	return addMember(v1alpha1.ServiceAccountMember, name, role)
}

func user(name string, role v1alpha1.RoleName) tenantOpt {
	return addMember(v1alpha1.UserMember, name, role)
}

func group(name string, role v1alpha1.RoleName) tenantOpt {
	return addMember(v1alpha1.GroupMember, name, role)
}

// inNamespace sets spec.namespace.
func inNamespace(ns string) tenantOpt {
	return func(t *v1alpha1.Tenant) { t.Spec.Namespace = ns }
}

// openNetwork turns the network guardrail off.
func openNetwork() tenantOpt {
	return func(t *v1alpha1.Tenant) { t.Spec.Network = &v1alpha1.Network{Mode: v1alpha1.NetworkOpen} }
}

const (
	admin = v1alpha1.AdminRole
	edit  = v1alpha1.EditRole
	view  = v1alpha1.ViewRole
)

// Refs of a tenant's objects, for expected change lists.
func nsRef(name string) Ref { return Ref{Kind: "Namespace", APIVersion: "v1", Name: name} }
func saRef(ns, name string) Ref {
	return Ref{Kind: "ServiceAccount", APIVersion: "v1", Namespace: ns, Name: name}
}
func roleRef(ns string, level v1alpha1.RoleName) Ref {
	return Ref{Kind: "Role", APIVersion: "rbac.authorization.k8s.io/v1", Namespace: ns, Name: v1alpha1.RoleObjectName(level)}
}
func bindingRef(ns string, kind v1alpha1.MemberKind, name string, role v1alpha1.RoleName) Ref {
	return Ref{Kind: "RoleBinding", APIVersion: "rbac.authorization.k8s.io/v1", Namespace: ns,
		Name: v1alpha1.BindingName(v1alpha1.Member{Kind: kind, Name: name, Role: role})}
}
func quotaRef(ns string) Ref {
	return Ref{Kind: "ResourceQuota", APIVersion: "v1", Namespace: ns, Name: v1alpha1.GuardrailName}
}
func limitsRef(ns string) Ref {
	return Ref{Kind: "LimitRange", APIVersion: "v1", Namespace: ns, Name: v1alpha1.GuardrailName}
}
func ingressRef(ns string) Ref {
	return Ref{Kind: "NetworkPolicy", APIVersion: "networking.k8s.io/v1", Namespace: ns, Name: "bulkhead-isolate-ingress"}
}

// outcome is one expected change: "Kind ns/name action".
func outcome(r Ref, a Action) string {
	return fmt.Sprintf("%s %s/%s %s", r.Kind, r.Namespace, r.Name, a)
}

// outcomes lists a ChangeSet's changes in its order.
func outcomes(cs ChangeSet) []string {
	out := make([]string, len(cs.Changes))
	for i, c := range cs.Changes {
		out[i] = outcome(c.Object, c.Action)
	}
	return out
}

// expectChanges fails unless cs lists exactly want, in order.
func expectChanges(t *testing.T, cs ChangeSet, want ...string) {
	t.Helper()
	if got := outcomes(cs); !slices.Equal(got, want) {
		t.Errorf("changes of tenant %q:\n  %s\nwant\n  %s", cs.Tenant, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// all gives every ref one action.
func all(a Action, refs ...Ref) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = outcome(r, a)
	}
	return out
}

// defaultObjects are the refs of a tenant with one member (a ServiceAccount
// of the given role) and default guardrails, in render order.
func defaultObjects(ns, sa string, role v1alpha1.RoleName) []Ref {
	return []Ref{nsRef(ns), saRef(ns, sa), roleRef(ns, role), bindingRef(ns, v1alpha1.ServiceAccountMember, sa, role),
		quotaRef(ns), limitsRef(ns), ingressRef(ns)}
}

// reconcile reconciles one tenant and fails on any error.
func reconcile(t *testing.T, r *Reconciler, tn v1alpha1.Tenant) ChangeSet {
	t.Helper()
	cs := r.Reconcile(t.Context(), tn, Scope{})
	if cs.Err != nil {
		t.Fatalf("reconcile %s: %v", tn.Name, cs.Err)
	}
	return cs
}

// plan plans and fails on an error of the plan itself.
func plan(t *testing.T, r *Reconciler, shared bool, scope Scope, ts ...v1alpha1.Tenant) *Plan {
	t.Helper()
	p, err := r.Plan(t.Context(), ts, shared, scope)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

// execute executes and fails on any error in any set.
func execute(t *testing.T, r *Reconciler, p *Plan) []ChangeSet {
	t.Helper()
	sets := r.Execute(t.Context(), p)
	for _, cs := range sets {
		if cs.Err != nil {
			t.Fatalf("execute, tenant %q: %v", cs.Tenant, cs.Err)
		}
	}
	return sets
}

// setOf finds a tenant's ChangeSet.
func setOf(t *testing.T, sets []ChangeSet, tenant string) ChangeSet {
	t.Helper()
	for _, cs := range sets {
		if cs.Tenant == tenant {
			return cs
		}
	}
	t.Fatalf("no ChangeSet for tenant %q among %v", tenant, tenantsOf(sets))
	return ChangeSet{}
}

func tenantsOf(sets []ChangeSet) []string {
	out := make([]string, len(sets))
	for i, cs := range sets {
		out[i] = cs.Tenant
	}
	return out
}

// offboard calls Offboard, turning a panic into a test failure.
func offboard(t *testing.T, r *Reconciler, tenant string, scope Scope) (cs ChangeSet, ok bool) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			t.Errorf("Offboard(%q, %+v) panicked: %v", tenant, scope, v)
			ok = false
		}
	}()
	return r.Offboard(t.Context(), tenant, scope), true
}

// versions returns the resourceVersion of every object bulkhead manages in
// namespace ns, and of ns itself, by "Kind/name".
func versions(t *testing.T, c kubernetes.Interface, ns string) map[string]string {
	t.Helper()
	ctx := t.Context()
	sel := metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector}
	out := map[string]string{}
	n, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	check(t, err)
	out["Namespace/"+ns] = n.ResourceVersion
	add := func(kind string, items []metav1.Object) {
		for _, o := range items {
			out[kind+"/"+o.GetName()] = o.GetResourceVersion()
		}
	}
	sas, err := c.CoreV1().ServiceAccounts(ns).List(ctx, sel)
	check(t, err)
	add("ServiceAccount", objects(sas.Items))
	roles, err := c.RbacV1().Roles(ns).List(ctx, sel)
	check(t, err)
	add("Role", objects(roles.Items))
	rbs, err := c.RbacV1().RoleBindings(ns).List(ctx, sel)
	check(t, err)
	add("RoleBinding", objects(rbs.Items))
	qs, err := c.CoreV1().ResourceQuotas(ns).List(ctx, sel)
	check(t, err)
	add("ResourceQuota", objects(qs.Items))
	lrs, err := c.CoreV1().LimitRanges(ns).List(ctx, sel)
	check(t, err)
	add("LimitRange", objects(lrs.Items))
	nps, err := c.NetworkingV1().NetworkPolicies(ns).List(ctx, sel)
	check(t, err)
	add("NetworkPolicy", objects(nps.Items))
	return out
}

// objects turns a typed list's items into metav1.Objects.
func objects[T any, PT interface {
	*T
	metav1.Object
}](items []T) []metav1.Object {
	out := make([]metav1.Object, len(items))
	for i := range items {
		out[i] = PT(&items[i])
	}
	return out
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// eventually polls until fn returns nil: for what the cluster does on its
// own time (RBAC's cache, the quota controller), never to assert timing.
func eventually(t *testing.T, what string, fn func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for {
		err := fn()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// quotaSynced waits until the quota controller has filled the status of
// namespace ns's quota: its writes must not be taken for bulkhead's.
func quotaSynced(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	eventually(t, "quota status of "+ns, func() error {
		q, err := c.CoreV1().ResourceQuotas(ns).Get(t.Context(), v1alpha1.GuardrailName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(q.Status.Hard) == 0 || len(q.Status.Hard) != len(q.Spec.Hard) {
			return errors.New("status not synced")
		}
		return nil
	})
}

// access is one SubjectAccessReview question and its expected answer.
type access struct {
	user, verb, resource string
	allowed              bool
}

func (a access) String() string {
	not := ""
	if !a.allowed {
		not = "not "
	}
	return fmt.Sprintf("%s may %s%s %s", a.user, not, a.verb, a.resource)
}

// expectAccess waits until the API server's authorizer answers every
// question as expected in namespace ns (RBAC reads bindings from a cache).
func expectAccess(t *testing.T, c kubernetes.Interface, ns string, want ...access) {
	t.Helper()
	eventually(t, "access in "+ns, func() error {
		var wrong []string
		for _, a := range want {
			r, err := c.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{
					User:               a.user,
					ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: a.verb, Resource: a.resource},
				},
			}, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			if r.Status.Allowed != a.allowed {
				wrong = append(wrong, "want "+a.String())
			}
		}
		if len(wrong) > 0 {
			return errors.New(strings.Join(wrong, "; "))
		}
		return nil
	})
}

func saUser(ns, name string) string { return "system:serviceaccount:" + ns + ":" + name }

// createNamespace makes a namespace by hand, without bulkhead's labels.
func createNamespace(t *testing.T, c kubernetes.Interface, name string) *corev1.Namespace {
	t.Helper()
	ns, err := c.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	check(t, err)
	return ns
}

// createConfigMap puts tenant data into a namespace.
func createConfigMap(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	_, err := c.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": "v"},
	}, metav1.CreateOptions{})
	check(t, err)
}

// get reads the object ref names; nil when it does not exist.
func get(t *testing.T, c kubernetes.Interface, ref Ref) metav1.Object {
	t.Helper()
	ctx, o := t.Context(), metav1.GetOptions{}
	var obj metav1.Object
	var err error
	switch ref.Kind {
	case "Namespace":
		obj, err = c.CoreV1().Namespaces().Get(ctx, ref.Name, o)
	case "ServiceAccount":
		obj, err = c.CoreV1().ServiceAccounts(ref.Namespace).Get(ctx, ref.Name, o)
	case "Role":
		obj, err = c.RbacV1().Roles(ref.Namespace).Get(ctx, ref.Name, o)
	case "RoleBinding":
		obj, err = c.RbacV1().RoleBindings(ref.Namespace).Get(ctx, ref.Name, o)
	case "ResourceQuota":
		obj, err = c.CoreV1().ResourceQuotas(ref.Namespace).Get(ctx, ref.Name, o)
	case "LimitRange":
		obj, err = c.CoreV1().LimitRanges(ref.Namespace).Get(ctx, ref.Name, o)
	case "NetworkPolicy":
		obj, err = c.NetworkingV1().NetworkPolicies(ref.Namespace).Get(ctx, ref.Name, o)
	case "Secret":
		obj, err = c.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, o)
	case "ConfigMap":
		obj, err = c.CoreV1().ConfigMaps(ref.Namespace).Get(ctx, ref.Name, o)
	default:
		t.Fatalf("get: kind %s not supported", ref.Kind)
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	check(t, err)
	return obj
}

// expectExist fails for each ref that does not exist.
func expectExist(t *testing.T, c kubernetes.Interface, refs ...Ref) {
	t.Helper()
	for _, r := range refs {
		if get(t, c, r) == nil {
			t.Errorf("%s does not exist", r)
		}
	}
}

// expectGone fails for each ref that exists (a namespace being deleted counts as gone).
func expectGone(t *testing.T, c kubernetes.Interface, refs ...Ref) {
	t.Helper()
	for _, r := range refs {
		if o := get(t, c, r); o != nil && o.GetDeletionTimestamp() == nil {
			t.Errorf("%s still exists", r)
		}
	}
}

// expectOwned fails unless every ref exists with the ownership labels of tenant.
func expectOwned(t *testing.T, c kubernetes.Interface, tenant string, refs ...Ref) {
	t.Helper()
	for _, r := range refs {
		o := get(t, c, r)
		if o == nil {
			t.Errorf("%s does not exist", r)
			continue
		}
		l := o.GetLabels()
		if l[v1alpha1.ManagedByLabel] != v1alpha1.ManagedByValue || l[v1alpha1.TenantLabel] != tenant {
			t.Errorf("%s labels = %v, want %s=%s and %s=%s", r, l, v1alpha1.ManagedByLabel, v1alpha1.ManagedByValue, v1alpha1.TenantLabel, tenant)
		}
	}
}

func configMapRef(ns, name string) Ref {
	return Ref{Kind: "ConfigMap", APIVersion: "v1", Namespace: ns, Name: name}
}
