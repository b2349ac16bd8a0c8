package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/read"
)

// Discover rebuilds the tenants bulkhead manages on a cluster from what apply
// wrote: namespaces carrying bulkhead's labels, their members as the
// namespace's members annotation lists them (or, for namespaces applied by a
// bulkhead that did not write it, the subjects and Roles of bulkhead's
// RoleBindings there).
// With names, only those tenants are returned. Tenants come sorted by name.
func Discover(ctx context.Context, c kubernetes.Interface, names ...string) ([]v1alpha1.Tenant, error) {
	sel := v1alpha1.ManagedSelector
	nsSel := sel + "," + v1alpha1.StateLabel + "!=" + v1alpha1.StateCordoned
	if len(names) > 0 {
		nsSel += "," + v1alpha1.TenantLabel + " in (" + strings.Join(names, ",") + ")"
	}
	nss, err := read.All[corev1.Namespace](ctx, nil, c.CoreV1().Namespaces().List, metav1.ListOptions{LabelSelector: nsSel})
	if err != nil {
		return nil, fmt.Errorf("list bulkhead namespaces: %w", err)
	}
	byNS := map[string]*v1alpha1.Tenant{}
	fromAnnotation := map[string]bool{}
	var order []string
	for _, ns := range nss {
		t := &v1alpha1.Tenant{Spec: v1alpha1.TenantSpec{Namespace: ns.Name}}
		t.Name = ns.Labels[v1alpha1.TenantLabel]
		t.Spec.PodSecurity = v1alpha1.PodSecurityLevel(ns.Labels["pod-security.kubernetes.io/enforce"])
		if a, ok := ns.Annotations[v1alpha1.MembersAnnotation]; ok {
			t.Spec.Members = v1alpha1.ParseMembers(a)
			fromAnnotation[ns.Name] = true
		}
		byNS[ns.Name] = t
		order = append(order, ns.Name)
	}
	rbs, err := read.All[rbacv1.RoleBinding](ctx, nil, c.RbacV1().RoleBindings("").List, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list bulkhead rolebindings: %w", err)
	}
	for _, rb := range rbs {
		t := byNS[rb.Namespace]
		if t == nil || fromAnnotation[rb.Namespace] {
			continue
		}
		role := v1alpha1.RoleOfObject(rb.RoleRef.Name)
		for _, s := range rb.Subjects {
			kind := v1alpha1.MemberKind(s.Kind)
			if s.Kind == rbacv1.ServiceAccountKind && s.Namespace != rb.Namespace {
				continue
			}
			t.Spec.Members = append(t.Spec.Members, v1alpha1.Member{Name: s.Name, Kind: kind, Role: role})
		}
	}
	quotas, err := read.All[corev1.ResourceQuota](ctx, nil, c.CoreV1().ResourceQuotas("").List, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list bulkhead resourcequotas: %w", err)
	}
	for _, q := range quotas {
		t := byNS[q.Namespace]
		gpu := q.Annotations[v1alpha1.GPUResourceAnnotation]
		if t == nil || q.Name != v1alpha1.GuardrailName || gpu == "" {
			continue
		}
		if n, ok := q.Spec.Hard[corev1.ResourceName("requests."+gpu)]; ok {
			t.Spec.Quota = &v1alpha1.Quota{GPUs: &n, GPUResource: corev1.ResourceName(gpu)}
		}
	}
	out := make([]v1alpha1.Tenant, 0, len(order))
	for _, ns := range order {
		out = append(out, *byNS[ns])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
