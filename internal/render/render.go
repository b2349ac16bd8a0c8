// Package render turns a Tenant into the objects that isolate it. It is pure:
// no clients, no clock, no randomness, so the same spec always renders the same
// objects and golden files pin them down.
package render

import (
	"slices"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// Object is one desired object as a client-go apply configuration. Apply
// configurations carry only the fields bulkhead sets, which is what
// server-side apply needs to own exactly those fields.
type Object interface {
	GetKind() *string
	GetAPIVersion() *string
	GetName() *string
	GetNamespace() *string
}

// Tenant renders the objects of one defaulted, valid tenant (guardrails
// resolved, as spec.Load returns it): its Namespace with Pod Security labels,
// its ServiceAccounts, one Role per access level, one RoleBinding per member,
// its ResourceQuota, LimitRange and NetworkPolicies. The Namespace comes first
// so it can be applied first.
func Tenant(t v1alpha1.Tenant) []Object {
	ns := t.Spec.Namespace
	labels := v1alpha1.OwnershipLabels(t.Name)
	objs := []Object{namespace(t)}
	for _, m := range t.Spec.Members {
		if m.Kind == v1alpha1.ServiceAccountMember {
			objs = append(objs, corev1ac.ServiceAccount(m.Name, ns).WithLabels(labels))
		}
	}
	// Only the levels some member holds: a Role nobody is bound to is an
	// object to write, list and audit for nothing. A tenant with an admin
	// gets every level, so the admin can share edit or view within the team.
	hasAdmin := slices.ContainsFunc(t.Spec.Members, func(m v1alpha1.Member) bool { return m.Role == v1alpha1.AdminRole })
	for _, level := range v1alpha1.RoleNames {
		if hasAdmin || slices.ContainsFunc(t.Spec.Members, func(m v1alpha1.Member) bool { return m.Role == level }) {
			objs = append(objs, rbacv1ac.Role(v1alpha1.RoleObjectName(level), ns).WithLabels(labels).WithRules(sharedRules()[level]...))
		}
	}
	for _, m := range t.Spec.Members {
		objs = append(objs, rbacv1ac.RoleBinding(v1alpha1.BindingName(m), ns).
			WithLabels(labels).
			WithRoleRef(rbacv1ac.RoleRef().
				WithAPIGroup("rbac.authorization.k8s.io").
				WithKind("Role").
				WithName(v1alpha1.RoleObjectName(m.Role))).
			WithSubjects(subject(m, ns)))
	}
	if t.Spec.Quota != nil {
		objs = append(objs, quota(t))
	}
	if lr := limitRange(t); lr != nil {
		objs = append(objs, lr)
	}
	return append(objs, networkPolicies(t)...)
}

// Shared renders the cluster-wide objects every tenant shares: the admission
// policy that limits what tenant admins may bind, and its binding.
func Shared() []Object { return admissionPolicy() }

// Tenants renders many tenants and the admission policy they share; all
// cluster-scoped objects come first.
func Tenants(ts []v1alpha1.Tenant) []Object {
	cluster := admissionPolicy()
	var namespaced []Object
	for _, t := range ts {
		for _, o := range Tenant(t) {
			if o.GetNamespace() == nil || *o.GetNamespace() == "" {
				cluster = append(cluster, o)
			} else {
				namespaced = append(namespaced, o)
			}
		}
	}
	return append(cluster, namespaced...)
}

func subject(m v1alpha1.Member, ns string) *rbacv1ac.SubjectApplyConfiguration {
	s := rbacv1ac.Subject().WithKind(string(m.Kind)).WithName(m.Name)
	if m.Kind == v1alpha1.ServiceAccountMember {
		return s.WithNamespace(ns)
	}
	return s.WithAPIGroup("rbac.authorization.k8s.io")
}
