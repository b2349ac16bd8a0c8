package audit

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// Memo numbers of the questions bindEdges asks.
const checkMayBind int32 = 544

// bindRequests are the bind requests a RoleBinding in a namespace needs
// (the API server's escalation check asks them in the binding's namespace).
var bindRequests = []access.Attributes{
	{Verb: "bind", Group: rbacGroup, Resource: "roles"},
	{Verb: "bind", Group: rbacGroup, Resource: "clusterroles"},
}

// bindEdges follows a RoleBinding a subject may create in ns for itself:
// with bind on a role (resourceNames-limited bind counts for the roles it
// names) the escalation check lets it through, so the role's rights are
// the subject's there. Those rights are judged where they matter for the
// closure: a role that creates pods makes it act as every ServiceAccount of
// ns. (Holding a role's rights already gains nothing.)
func (a *auditor) bindEdges(s access.Subject, grants []access.Grant, ns string) []edge {
	if !a.mayAllowAny(grants, checkMayBind, bindRequests, ns) || len(a.saNames[ns]) == 0 {
		return nil
	}
	create := access.Attributes{Verb: "create", Group: rbacGroup, Resource: "rolebindings", Namespace: ns}
	write := a.allows(grants, noMemo, create)
	if len(write) == 0 {
		return nil
	}
	if len(a.anyOf(grants, checkPodCreate, podCreators, ns)) > 0 {
		return nil // it creates pods already
	}
	try := func(kind, name string, rules []rbacv1.PolicyRule) []edge {
		resource := "roles"
		if kind == "ClusterRole" {
			resource = "clusterroles"
		}
		bind := access.Attributes{Verb: "bind", Group: rbacGroup, Resource: resource, Name: name, Namespace: ns}
		via := a.allows(grants, noMemo, bind)
		if len(via) == 0 || !rulesCreatePods(rules) {
			return nil
		}
		via = appendUnique(append([]access.BindingRef(nil), write...), via...)
		var out []edge
		for _, sa := range a.saNames[ns] {
			out = append(out, edge{to: saSubject(ns, sa), pattern: 10, role: kind + " " + name, via: via})
		}
		return out
	}
	for _, r := range a.snap.Roles {
		if r.Namespace == ns {
			if e := try("Role", r.Name, r.Rules); e != nil {
				return e
			}
		}
	}
	for _, r := range a.snap.ClusterRoles {
		rules, _ := a.eng.RoleRules(rbacv1.RoleRef{Kind: "ClusterRole", Name: r.Name}, "")
		if e := try("ClusterRole", r.Name, rules); e != nil {
			return e
		}
	}
	return nil
}

// rulesCreatePods reports whether rules allow one of podCreators (RBAC's
// rule matching: "*" verbs, groups and resources; a create has no name, so
// resourceNames-limited rules never allow it).
func rulesCreatePods(rules []rbacv1.PolicyRule) bool {
	for _, r := range rules {
		if len(r.ResourceNames) > 0 {
			continue
		}
		for _, q := range podCreators {
			res := q.Resource
			if q.Subresource != "" {
				res += "/" + q.Subresource
			}
			if (slices.Contains(r.Verbs, "*") || slices.Contains(r.Verbs, q.Verb)) &&
				(slices.Contains(r.APIGroups, "*") || slices.Contains(r.APIGroups, q.Group)) &&
				(slices.Contains(r.Resources, "*") || slices.Contains(r.Resources, res)) {
				return true
			}
		}
	}
	return false
}
