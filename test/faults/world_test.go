package faults

import (
	"context"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// member is one line of a spec's members.
type member struct{ name, role string }

// tenantDoc is a Tenant document with ServiceAccount members.
func tenantDoc(name string, members ...member) string {
	var b strings.Builder
	fmt.Fprintf(&b, "---\napiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: %s\nspec:\n", name)
	if len(members) == 0 {
		b.WriteString("  {}\n")
		return b.String()
	}
	b.WriteString("  members:\n")
	for _, m := range members {
		fmt.Fprintf(&b, "  - name: %s\n    kind: ServiceAccount\n", m.name)
		if m.role != "" {
			fmt.Fprintf(&b, "    role: %s\n", m.role)
		}
	}
	return b.String()
}

func names(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s-%04d", prefix, i))
	}
	return out
}

// obj is what the comparison keeps of an object.
type obj struct {
	Kind, Namespace, Name string
	Tenant                string
	RoleRef               string   // RoleBindings: Kind/name
	Subjects              []string // RoleBindings: Kind namespace/name, sorted
	Hard                  string   // ResourceQuotas
	Rules                 string   // Roles
}

func (o obj) key() string { return o.Kind + " " + o.Namespace + "/" + o.Name }

// what describes an object with what it grants.
func (o obj) what() string {
	switch o.Kind {
	case "RoleBinding":
		return fmt.Sprintf("%s (%s to %v)", o.key(), o.RoleRef, o.Subjects)
	case "ResourceQuota":
		return fmt.Sprintf("%s (%s)", o.key(), o.Hard)
	}
	return o.key()
}

// world is objects by tenant and key.
type world map[string]map[string]obj

func (w world) add(o obj) {
	if w[o.Tenant] == nil {
		w[o.Tenant] = map[string]obj{}
	}
	w[o.Tenant][o.key()] = o
}

// rendered is what `bulkhead render -f file` prints, by tenant.
func rendered(t *testing.T, file string) world {
	t.Helper()
	out := must(t, bulkhead(t, "render", "-f", file).wait(), 0).stdout
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	w := world{}
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
		o := obj{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName(), Tenant: u.GetLabels()[v1alpha1.TenantLabel]}
		var err error
		switch o.Kind {
		case "RoleBinding":
			var rb rbacv1.RoleBinding
			err = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &rb)
			o.RoleRef, o.Subjects = bindingOf(rb)
		case "ResourceQuota":
			var rq corev1.ResourceQuota
			err = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &rq)
			o.Hard = hardOf(rq)
		case "Role":
			var r rbacv1.Role
			err = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &r)
			o.Rules = fmt.Sprint(r.Rules)
		}
		if err != nil {
			t.Fatalf("rendered %s: %v", o.key(), err)
		}
		w.add(o)
	}
	return w
}

func bindingOf(rb rbacv1.RoleBinding) (string, []string) {
	var subjects []string
	for _, s := range rb.Subjects {
		subjects = append(subjects, s.Kind+" "+s.Namespace+"/"+s.Name)
	}
	sort.Strings(subjects)
	return rb.RoleRef.Kind + "/" + rb.RoleRef.Name, subjects
}

func hardOf(rq corev1.ResourceQuota) string {
	var kv []string
	for k, v := range rq.Spec.Hard {
		kv = append(kv, string(k)+"="+v.String())
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// live reads, for the kinds render makes and bulkhead's token Secrets,
// every object labelled as one of tenants' and every object in their
// namespaces, labelled or not (a ServiceAccount's "default" and
// controller-made objects aside), by tenant label.
func live(ctx context.Context, tenants []string, namespaces map[string]bool) (world, error) {
	cs := e2e.client
	w := world{}
	in := map[string]bool{}
	for _, t := range tenants {
		in[t] = true
	}
	keep := func(kind string, m metav1.ObjectMeta, o obj) {
		o.Kind, o.Namespace, o.Name, o.Tenant = kind, m.Namespace, m.Name, m.Labels[v1alpha1.TenantLabel]
		if in[o.Tenant] || namespaces[m.Namespace] {
			w.add(o)
		}
	}
	all := metav1.ListOptions{}
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector})
	if err != nil {
		return nil, err
	}
	for _, o := range nss.Items {
		keep("Namespace", o.ObjectMeta, obj{})
	}
	sas, err := cs.CoreV1().ServiceAccounts("").List(ctx, all)
	if err != nil {
		return nil, err
	}
	for _, o := range sas.Items {
		if o.Name != "default" {
			keep("ServiceAccount", o.ObjectMeta, obj{})
		}
	}
	secrets, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector})
	if err != nil {
		return nil, err
	}
	for _, o := range secrets.Items {
		keep("Secret", o.ObjectMeta, obj{})
	}
	roles, err := cs.RbacV1().Roles("").List(ctx, all)
	if err != nil {
		return nil, err
	}
	for _, o := range roles.Items {
		keep("Role", o.ObjectMeta, obj{Rules: fmt.Sprint(o.Rules)})
	}
	rbs, err := cs.RbacV1().RoleBindings("").List(ctx, all)
	if err != nil {
		return nil, err
	}
	for _, o := range rbs.Items {
		ref, subjects := bindingOf(o)
		keep("RoleBinding", o.ObjectMeta, obj{RoleRef: ref, Subjects: subjects})
	}
	rqs, err := cs.CoreV1().ResourceQuotas("").List(ctx, all)
	if err != nil {
		return nil, err
	}
	for _, o := range rqs.Items {
		keep("ResourceQuota", o.ObjectMeta, obj{Hard: hardOf(o)})
	}
	lrs, err := cs.CoreV1().LimitRanges("").List(ctx, all)
	if err != nil {
		return nil, err
	}
	for _, o := range lrs.Items {
		keep("LimitRange", o.ObjectMeta, obj{})
	}
	nps, err := cs.NetworkingV1().NetworkPolicies("").List(ctx, all)
	if err != nil {
		return nil, err
	}
	for _, o := range nps.Items {
		keep("NetworkPolicy", o.ObjectMeta, obj{})
	}
	return w, nil
}

// differences lists how the cluster differs, for tenants, from want: an
// object rendered and missing or different, an object there and not
// rendered (a stray binding or token Secret: more access than the spec
// gives, or an orphan).
func differences(ctx context.Context, want world, tenants []string) ([]string, error) {
	namespaces := map[string]bool{}
	for _, name := range tenants {
		for _, o := range want[name] {
			if o.Kind == "Namespace" {
				namespaces[o.Name] = true
			}
		}
	}
	got, err := live(ctx, tenants, namespaces)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range tenants {
		w, g := want[name], got[name]
		if len(w) == 0 {
			return nil, fmt.Errorf("render printed nothing for tenant %s", name)
		}
		for k, wo := range w {
			switch g, ok := g[k]; {
			case !ok:
				out = append(out, fmt.Sprintf("tenant %s: %s rendered, not on the cluster", name, wo.what()))
			case g.RoleRef != wo.RoleRef || !slices.Equal(g.Subjects, wo.Subjects) || g.Hard != wo.Hard || g.Rules != wo.Rules:
				out = append(out, fmt.Sprintf("tenant %s: on the cluster %s, render says %s", name, g.what(), wo.what()))
			}
		}
		for k, g := range g {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("tenant %s: %s on the cluster, not rendered", name, g.what()))
			}
		}
	}
	// Objects in the tenants' namespaces labelled as no tenant, or another's.
	for tenant, objs := range got {
		if slices.Contains(tenants, tenant) {
			continue
		}
		for _, g := range objs {
			out = append(out, fmt.Sprintf("%s in a tenant's namespace, labelled tenant %q", g.what(), tenant))
		}
	}
	sort.Strings(out)
	return out, nil
}

// sameAsRender fails the test unless the cluster holds exactly what want
// renders for tenants.
func sameAsRender(t *testing.T, want world, tenants []string) {
	t.Helper()
	diff, err := differences(t.Context(), want, tenants)
	if err != nil {
		t.Fatal(err)
	}
	if len(diff) > 0 {
		if len(diff) > 30 {
			diff = append(diff[:30], fmt.Sprintf("... and %d more", len(diff)-30))
		}
		t.Fatalf("the cluster is not what render prints (%d differences):\n  %s", len(diff), strings.Join(diff, "\n  "))
	}
}

// waitSameAsRender polls until the cluster holds what want renders.
func waitSameAsRender(t *testing.T, want world, tenants []string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "the cluster holds what render prints", func() (bool, string) {
		diff, err := differences(t.Context(), want, tenants)
		if err != nil {
			return false, err.Error()
		}
		if len(diff) > 5 {
			diff = append(diff[:5], fmt.Sprintf("... %d in all", len(diff)))
		}
		return len(diff) == 0, strings.Join(diff, "; ")
	})
}

// namespacesOf counts the existing namespaces of tenants with prefix.
func namespacesOf(t *testing.T, prefix string) int {
	t.Helper()
	list, err := e2e.client.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector})
	if err != nil {
		return 0 // a fault is under way
	}
	n := 0
	for _, ns := range list.Items {
		if strings.HasPrefix(ns.Name, prefix+"-") {
			n++
		}
	}
	return n
}
