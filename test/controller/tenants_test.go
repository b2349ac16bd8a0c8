package controller_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// member is one line of a spec's members.
type member struct{ name, kind, role string }

// tenantDoc is a Tenant document; extra is YAML indented under spec.
func tenantDoc(name string, members []member, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "---\napiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: %s\nspec:\n", name)
	if len(members) > 0 {
		b.WriteString("  members:\n")
		for _, m := range members {
			fmt.Fprintf(&b, "  - name: %q\n", m.name)
			if m.kind != "" {
				fmt.Fprintf(&b, "    kind: %s\n", m.kind)
			}
			if m.role != "" {
				fmt.Fprintf(&b, "    role: %s\n", m.role)
			}
		}
	}
	b.WriteString(extra)
	if len(members) == 0 && extra == "" {
		b.WriteString("  {}\n")
	}
	return b.String()
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func getTenant(t *testing.T, name string) (*v1alpha1.Tenant, error) {
	t.Helper()
	var tn v1alpha1.Tenant
	if err := e2e.tenants.Get(ctx(t), client.ObjectKey{Name: name}, &tn); err != nil {
		return nil, err
	}
	return &tn, nil
}

func condition(tn *v1alpha1.Tenant, typ string) *metav1.Condition {
	return meta.FindStatusCondition(tn.Status.Conditions, typ)
}

// current says whether the condition describes the tenant's spec now.
func current(tn *v1alpha1.Tenant, typ string, status metav1.ConditionStatus) bool {
	c := condition(tn, typ)
	return c != nil && c.Status == status && c.ObservedGeneration == tn.Generation &&
		tn.Status.ObservedGeneration == tn.Generation
}

func conditions(tn *v1alpha1.Tenant) string {
	var parts []string
	for _, c := range tn.Status.Conditions {
		parts = append(parts, fmt.Sprintf("%s=%s(%s, gen %d): %s", c.Type, c.Status, c.Reason, c.ObservedGeneration, c.Message))
	}
	return fmt.Sprintf("tenant %s gen %d observed %d [%s]", tn.Name, tn.Generation, tn.Status.ObservedGeneration, strings.Join(parts, "; "))
}

// waitTenant waits until cond holds for the Tenant object.
func waitTenant(t *testing.T, name string, timeout time.Duration, what string, cond func(*v1alpha1.Tenant) bool) *v1alpha1.Tenant {
	t.Helper()
	var last *v1alpha1.Tenant
	eventually(t, timeout, "tenant "+name+": "+what, func() (bool, string) {
		tn, err := getTenant(t, name)
		if err != nil {
			return false, err.Error()
		}
		last = tn
		return cond(tn), conditions(tn)
	})
	return last
}

// readyAndVerified: the objects match the current spec and its checks held.
func readyAndVerified(tn *v1alpha1.Tenant) bool {
	return current(tn, v1alpha1.ConditionReady, metav1.ConditionTrue) &&
		current(tn, v1alpha1.ConditionVerified, metav1.ConditionTrue) &&
		tn.Status.Verification != nil && tn.Status.Verification.Failed == 0 && tn.Status.Verification.Passed > 0
}

func waitConverged(t *testing.T, name string) *v1alpha1.Tenant {
	t.Helper()
	return waitTenant(t, name, 2*time.Minute, "Ready=True and Verified=True for its generation", readyAndVerified)
}

// waitAllConverged waits until every named Tenant is Ready and Verified.
func waitAllConverged(t *testing.T, names []string, timeout time.Duration) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	eventually(t, timeout, fmt.Sprintf("%d tenants Ready=True and Verified=True", len(names)), func() (bool, string) {
		var list v1alpha1.TenantList
		if err := e2e.tenants.List(ctx(t), &list); err != nil {
			return false, err.Error()
		}
		done, pending := 0, ""
		for i := range list.Items {
			tn := &list.Items[i]
			if !want[tn.Name] {
				continue
			}
			if readyAndVerified(tn) {
				done++
			} else if pending == "" {
				pending = conditions(tn)
			}
		}
		return done == len(names), fmt.Sprintf("%d of %d; e.g. %s", done, len(names), pending)
	})
}

func waitGone(t *testing.T, name string) {
	t.Helper()
	eventually(t, 2*time.Minute, "Tenant "+name+" is gone (finalizer removed)", func() (bool, string) {
		tn, err := getTenant(t, name)
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		return false, fmt.Sprintf("finalizers %v deletion %v %s", tn.Finalizers, tn.DeletionTimestamp, conditions(tn))
	})
}

// obj is what the comparison keeps of an object.
type obj struct {
	Kind, Namespace, Name string
	Tenant                string
	RoleRef               string   // RoleBindings: Kind/name
	Subjects              []string // RoleBindings: Kind namespace/name, sorted
	Hard                  map[string]string
	Rules                 string // Roles: their rules as JSON
	Labels                map[string]string
}

func (o obj) key() string { return o.Kind + " " + o.Namespace + "/" + o.Name }

// rendered is what `bulkhead render -f files` prints, by tenant (objects
// every tenant shares are under "").
func rendered(t *testing.T, files ...string) map[string]map[string]obj {
	t.Helper()
	args := []string{"render"}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	out := must(t, bulkhead(t, args...), 0).stdout
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	byTenant := map[string]map[string]obj{}
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("decode render output: %v", err)
		}
		if len(u.Object) == 0 {
			continue
		}
		o := fromUnstructured(t, &u)
		if byTenant[o.Tenant] == nil {
			byTenant[o.Tenant] = map[string]obj{}
		}
		if _, dup := byTenant[o.Tenant][o.key()]; dup {
			t.Fatalf("render printed %s twice", o.key())
		}
		byTenant[o.Tenant][o.key()] = o
	}
	return byTenant
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured) obj {
	t.Helper()
	o := obj{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName(), Tenant: u.GetLabels()[v1alpha1.TenantLabel], Labels: u.GetLabels()}
	switch o.Kind {
	case "RoleBinding":
		var rb rbacv1.RoleBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &rb); err != nil {
			t.Fatalf("rendered %s: %v", o.key(), err)
		}
		o.RoleRef, o.Subjects = bindingOf(rb)
	case "ResourceQuota":
		var rq corev1.ResourceQuota
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &rq); err != nil {
			t.Fatalf("rendered %s: %v", o.key(), err)
		}
		o.Hard = hardOf(rq)
	case "Role":
		var r rbacv1.Role
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &r); err != nil {
			t.Fatalf("rendered %s: %v", o.key(), err)
		}
		o.Rules = rulesOf(r.Rules)
	}
	return o
}

func rulesOf(rules []rbacv1.PolicyRule) string {
	b, _ := json.Marshal(rules)
	return string(b)
}

func bindingOf(rb rbacv1.RoleBinding) (string, []string) {
	var subjects []string
	for _, s := range rb.Subjects {
		subjects = append(subjects, s.Kind+" "+s.Namespace+"/"+s.Name)
	}
	sort.Strings(subjects)
	return rb.RoleRef.Kind + "/" + rb.RoleRef.Name, subjects
}

func hardOf(rq corev1.ResourceQuota) map[string]string {
	out := map[string]string{}
	for k, v := range rq.Spec.Hard {
		out[string(k)] = v.String()
	}
	return out
}

// live lists the objects of the kinds render makes that carry bulkhead's
// labels, by tenant label, plus (with everything) every object of those
// kinds in the namespaces of the named tenants, labelled or not, so
// leftovers and duplicates show.
func live(t *testing.T, namespaces []string) map[string]map[string]obj {
	t.Helper()
	c := ctx(t)
	cs := e2e.client
	sel := metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector}
	out := map[string]map[string]obj{}
	add := func(o obj) {
		if out[o.Tenant] == nil {
			out[o.Tenant] = map[string]obj{}
		}
		out[o.Tenant][o.key()] = o
	}
	meta := func(kind string, m metav1.ObjectMeta) obj {
		return obj{Kind: kind, Namespace: m.Namespace, Name: m.Name, Tenant: m.Labels[v1alpha1.TenantLabel], Labels: m.Labels}
	}
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("list live objects: %v", err)
		}
	}
	nsl, err := cs.CoreV1().Namespaces().List(c, sel)
	check(err)
	for _, o := range nsl.Items {
		add(meta("Namespace", o.ObjectMeta))
	}
	inScope := func(o obj) bool { return o.Tenant != "" || slices.Contains(namespaces, o.Namespace) }
	sas, err := cs.CoreV1().ServiceAccounts("").List(c, metav1.ListOptions{})
	check(err)
	for _, o := range sas.Items {
		if m := meta("ServiceAccount", o.ObjectMeta); inScope(m) && o.Name != "default" {
			add(m)
		}
	}
	roles, err := cs.RbacV1().Roles("").List(c, metav1.ListOptions{})
	check(err)
	for _, o := range roles.Items {
		if m := meta("Role", o.ObjectMeta); inScope(m) {
			m.Rules = rulesOf(o.Rules)
			add(m)
		}
	}
	rbs, err := cs.RbacV1().RoleBindings("").List(c, metav1.ListOptions{})
	check(err)
	for _, o := range rbs.Items {
		if m := meta("RoleBinding", o.ObjectMeta); inScope(m) {
			m.RoleRef, m.Subjects = bindingOf(o)
			add(m)
		}
	}
	rqs, err := cs.CoreV1().ResourceQuotas("").List(c, metav1.ListOptions{})
	check(err)
	for _, o := range rqs.Items {
		if m := meta("ResourceQuota", o.ObjectMeta); inScope(m) {
			m.Hard = hardOf(o)
			add(m)
		}
	}
	lrs, err := cs.CoreV1().LimitRanges("").List(c, metav1.ListOptions{})
	check(err)
	for _, o := range lrs.Items {
		if m := meta("LimitRange", o.ObjectMeta); inScope(m) {
			add(m)
		}
	}
	nps, err := cs.NetworkingV1().NetworkPolicies("").List(c, metav1.ListOptions{})
	check(err)
	for _, o := range nps.Items {
		if m := meta("NetworkPolicy", o.ObjectMeta); inScope(m) {
			add(m)
		}
	}
	crs, err := cs.RbacV1().ClusterRoles().List(c, sel)
	check(err)
	for _, o := range crs.Items {
		add(meta("ClusterRole", o.ObjectMeta))
	}
	crbs, err := cs.RbacV1().ClusterRoleBindings().List(c, sel)
	check(err)
	for _, o := range crbs.Items {
		m := meta("ClusterRoleBinding", o.ObjectMeta)
		add(m)
	}
	return out
}

// listedKinds are the kinds live reads; render must print no other.
var listedKinds = []string{"Namespace", "ServiceAccount", "Role", "RoleBinding", "ResourceQuota", "LimitRange",
	"NetworkPolicy", "ClusterRole", "ClusterRoleBinding"}

// sameAsRender fails the test unless, for every named tenant, the cluster
// holds exactly the objects render prints for it (kind, namespace, name),
// RoleBindings with the same roleRef and subjects, quotas with the same
// limits; and the tenant's status lists those objects.
func sameAsRender(t *testing.T, want map[string]map[string]obj, tenants []string) {
	t.Helper()
	namespaces := make([]string, 0, len(tenants))
	for _, name := range tenants {
		for _, o := range want[name] {
			if o.Kind == "Namespace" {
				namespaces = append(namespaces, o.Name)
			}
		}
	}
	got := live(t, namespaces)
	problems := 0
	report := func(format string, args ...any) {
		t.Helper()
		if problems++; problems <= 30 {
			t.Errorf(format, args...)
		}
	}
	for _, name := range tenants {
		w, g := want[name], got[name]
		if len(w) == 0 {
			t.Fatalf("render printed nothing for tenant %s", name)
		}
		for k, wo := range w {
			if !slices.Contains(listedKinds, wo.Kind) {
				t.Fatalf("render printed %s, a kind this test does not list live", k)
			}
			gotObj, ok := g[k]
			switch {
			case !ok:
				report("tenant %s: %s rendered but not on the cluster", name, k)
			case wo.RoleRef != gotObj.RoleRef || !slices.Equal(wo.Subjects, gotObj.Subjects):
				report("tenant %s: %s binds %s to %v, render says %s to %v", name, k, gotObj.RoleRef, gotObj.Subjects, wo.RoleRef, wo.Subjects)
			case wo.Hard != nil && !mapsEqual(wo.Hard, gotObj.Hard):
				report("tenant %s: %s hard %v, render says %v", name, k, gotObj.Hard, wo.Hard)
			case wo.Rules != gotObj.Rules:
				report("tenant %s: %s rules %s, render says %s", name, k, gotObj.Rules, wo.Rules)
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				report("tenant %s: %s on the cluster but not rendered (left over or duplicated)", name, k)
			}
		}
		tn, err := getTenant(t, name)
		if err != nil {
			t.Fatalf("get tenant %s: %v", name, err)
		}
		var listed []string
		for _, o := range tn.Status.Objects {
			listed = append(listed, obj{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}.key())
		}
		var rendered []string
		for k := range w {
			rendered = append(rendered, k)
		}
		sort.Strings(listed)
		sort.Strings(rendered)
		if !slices.Equal(listed, rendered) {
			report("tenant %s: status.objects %v, render prints %v", name, listed, rendered)
		}
	}
	// Objects without a tenant label in these namespaces (made by hand or
	// lost their labels) are also leftovers.
	for k, o := range got[""] {
		if slices.Contains(namespaces, o.Namespace) {
			report("%s in a tenant namespace carries no tenant label", k)
		}
	}
	if problems > 30 {
		t.Errorf("... and %d more differences", problems-30)
	}
	sharedExist(t, want[""])
}

// sharedExist fails the test unless the objects every tenant shares (the
// admission policy for tenant admins and its binding) are on the cluster.
func sharedExist(t *testing.T, shared map[string]obj) {
	t.Helper()
	c, adm := ctx(t), e2e.client.AdmissionregistrationV1()
	for k, o := range shared {
		var err error
		switch o.Kind {
		case "ValidatingAdmissionPolicy":
			_, err = adm.ValidatingAdmissionPolicies().Get(c, o.Name, metav1.GetOptions{})
		case "ValidatingAdmissionPolicyBinding":
			_, err = adm.ValidatingAdmissionPolicyBindings().Get(c, o.Name, metav1.GetOptions{})
		default:
			t.Fatalf("render printed %s without a tenant label, a kind this test does not check", k)
		}
		if err != nil {
			t.Errorf("shared %s rendered but not on the cluster: %v", k, err)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
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

// events are the Events about a Tenant with a reason.
func events(t *testing.T, tenant, reason string) []corev1.Event {
	t.Helper()
	sel := "involvedObject.kind=Tenant,involvedObject.name=" + tenant
	if reason != "" {
		sel += ",reason=" + reason
	}
	list, err := e2e.client.CoreV1().Events("").List(ctx(t), metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		t.Fatalf("list events of tenant %s: %v", tenant, err)
	}
	return list.Items
}

func waitEvent(t *testing.T, tenant, reason string) corev1.Event {
	t.Helper()
	var got []corev1.Event
	eventually(t, time.Minute, "a "+reason+" Event about tenant "+tenant, func() (bool, string) {
		got = events(t, tenant, reason)
		var all []string
		for _, e := range events(t, tenant, "") {
			all = append(all, e.Reason+": "+e.Message)
		}
		return len(got) > 0, fmt.Sprintf("events %v", all)
	})
	return got[0]
}

// canI asks kubectl auth can-i as a ServiceAccount; true when allowed.
func canI(t *testing.T, sa, verb, resource, ns string) bool {
	t.Helper()
	r := kubectl(t, "auth", "can-i", verb, resource, "-n", ns, "--as", "system:serviceaccount:"+sa)
	switch strings.TrimSpace(r.stdout) {
	case "yes":
		return true
	case "no":
		return false
	}
	t.Fatalf("kubectl auth can-i %s %s -n %s --as %s: %s", verb, resource, ns, sa, r)
	return false
}

func waitCanI(t *testing.T, sa, verb, resource, ns string, want bool) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("can-i %s %s -n %s as %s is %v", verb, resource, ns, sa, want), func() (bool, string) {
		got := canI(t, sa, verb, resource, ns)
		return got == want, fmt.Sprint(got)
	})
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}
