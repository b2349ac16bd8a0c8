package audit

import (
	"cmp"
	"fmt"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// staleBinding reports the subjects of one of bulkhead's own RoleBindings
// (ref, in tenant t's namespace) that hold access the tenant's spec does not
// give them: a member removed from the spec, or one whose role changed (a
// role change is a new binding, since a roleRef cannot change, and apply
// used to leave the old one behind). The spec is what the namespace's
// members annotation lists; a namespace without one, applied by an older
// bulkhead, is not judged. Groups that span tenants are left to
// broad-group, which says more. It returns the subjects it did not report,
// for the other binding rules.
func (a *auditor) staleBinding(t int, ref access.BindingRef, subjects []rbacv1.Subject) []rbacv1.Subject {
	declared := a.declared[t]
	if declared == nil {
		return subjects
	}
	granted := v1alpha1.RoleName("")
	if ref.RoleRef.Kind == "Role" {
		granted = v1alpha1.RoleOfObject(ref.RoleRef.Name)
	}
	var reported []int
	for i, s := range subjects {
		subj := bindingSubject(s, ref.Namespace)
		role, member := declared[subj]
		if (member && granted != "" && role == granted) || a.broadSeverity(ref, s) > 0 {
			continue
		}
		reported = append(reported, i)
		a.staleFinding(a.tenants[t], ref, subj, granted, role)
	}
	if len(reported) == 0 {
		return subjects
	}
	rest := make([]rbacv1.Subject, 0, len(subjects)-len(reported))
	for i, s := range subjects {
		if !slices.Contains(reported, i) {
			rest = append(rest, s)
		}
	}
	return rest
}

// bindingSubject is s as the authorizer reads it in a RoleBinding of
// namespace ns: a ServiceAccount without namespace is ns's.
func bindingSubject(s rbacv1.Subject, ns string) access.Subject {
	if s.Kind == rbacv1.ServiceAccountKind {
		return saSubject(cmp.Or(s.Namespace, ns), s.Name)
	}
	return access.Subject{Kind: s.Kind, Name: s.Name}
}

// staleFinding is one left-over subject: it holds granted (a bulkhead role,
// "" for any other roleRef) where the spec gives it role ("" for none).
func (a *auditor) staleFinding(tenant Tenant, ref access.BindingRef, subj access.Subject, granted, role v1alpha1.RoleName) {
	holds := string(granted)
	if granted == "" {
		holds = ref.RoleRef.Kind + " " + ref.RoleRef.Name
	}
	msg := fmt.Sprintf("%s holds %s in namespace %s through RoleBinding %s/%s, labelled as bulkhead's, ", subj, holds, ref.Namespace, ref.Namespace, ref.Name)
	switch {
	case role != "":
		msg += fmt.Sprintf("although tenant %s's spec says %s: the binding was left behind when its role changed (a new role is a new binding).",
			tenant.Name, role)
	case granted == "":
		msg += fmt.Sprintf("although tenant %s's spec does not list it as a member, and bulkhead binds only its own Roles.", tenant.Name)
	default:
		msg += fmt.Sprintf("although tenant %s's spec does not list it as a member: the binding was left behind when the member was removed "+
			"(or labelled as bulkhead's by hand).",
			tenant.Name)
	}
	if _, exists := a.eng.RoleRules(ref.RoleRef, ref.Namespace); !exists {
		msg += fmt.Sprintf(" %s %s does not exist, so the binding grants nothing today, but whoever creates it brings the grant back", ref.RoleRef.Kind, ref.RoleRef.Name)
		if granted != "" {
			msg += fmt.Sprintf(" (apply does, as soon as any member of the tenant is given %s)", granted)
		}
		msg += "."
	}
	if subj.Kind == rbacv1.ServiceAccountKind && a.saMissing(subj.Namespace, subj.Name) {
		msg += fmt.Sprintf(" ServiceAccount %s/%s does not exist: whoever creates it in %s inherits the grant.", subj.Namespace, subj.Name, subj.Namespace)
	}
	a.add(Finding{
		Rule: "stale-binding", Pattern: 20, Severity: High, Tenant: tenant.Name, Subject: subj.String(), Namespace: ref.Namespace,
		Objects: []string{objectKey(ref.Kind, ref.Namespace, ref.Name)},
		Message: msg,
		Fix: fmt.Sprintf("Run bulkhead apply -f SPEC with tenant %s's spec, which deletes the bindings its members no longer have, "+
			"or delete it: kubectl delete rolebinding %s -n %s.", tenant.Name, ref.Name, ref.Namespace),
	})
}
