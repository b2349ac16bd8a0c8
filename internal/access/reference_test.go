package access

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// The reference evaluator transcribes upstream's DefaultRuleResolver.
// VisitRulesFor, appliesTo and RuleAllows with no indexes and no
// precomputation. It is the oracle the engine is compared with offline; the
// API server is the oracle online (e2e_test.go).

type reference struct {
	snap         *Snapshot
	clusterRoles []rbacv1.ClusterRole // aggregation resolved
}

func newReference(snap *Snapshot) reference {
	crs, _ := AggregateClusterRoles(snap.ClusterRoles)
	return reference{snap: snap, clusterRoles: crs}
}

func (r reference) allowed(u UserInfo, a Attributes) bool {
	for _, rule := range r.rulesFor(u, namespaceOf(a)) {
		if refRuleAllows(a, rule) {
			return true
		}
	}
	return false
}

func namespaceOf(a Attributes) string {
	if !a.IsResourceRequest() {
		return ""
	}
	return a.Namespace
}

func (r reference) rulesFor(u UserInfo, ns string) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, b := range r.snap.ClusterRoleBindings {
		if refAppliesTo(u, b.Subjects, "") {
			out = append(out, r.roleRules(b.RoleRef, "")...)
		}
	}
	if ns == "" {
		return out
	}
	for _, b := range r.snap.RoleBindings {
		if b.Namespace == ns && refAppliesTo(u, b.Subjects, ns) {
			out = append(out, r.roleRules(b.RoleRef, ns)...)
		}
	}
	return out
}

func (r reference) roleRules(ref rbacv1.RoleRef, ns string) []rbacv1.PolicyRule {
	switch ref.Kind {
	case "Role":
		for _, role := range r.snap.Roles {
			if ns != "" && role.Namespace == ns && role.Name == ref.Name {
				return role.Rules
			}
		}
	case "ClusterRole":
		for _, cr := range r.clusterRoles {
			if cr.Name == ref.Name {
				return cr.Rules
			}
		}
	}
	return nil
}

func refAppliesTo(u UserInfo, subjects []rbacv1.Subject, ns string) bool {
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			if u.Name == s.Name {
				return true
			}
		case rbacv1.GroupKind:
			if contains(u.Groups, s.Name) {
				return true
			}
		case rbacv1.ServiceAccountKind:
			saNS := ns
			if s.Namespace != "" {
				saNS = s.Namespace
			}
			if saNS != "" && u.Name == "system:serviceaccount:"+saNS+":"+s.Name {
				return true
			}
		}
	}
	return false
}

func refRuleAllows(a Attributes, rule rbacv1.PolicyRule) bool {
	if !refHas(rule.Verbs, a.Verb, "*") {
		return false
	}
	if !a.IsResourceRequest() {
		for _, u := range rule.NonResourceURLs {
			if u == "*" || u == a.NonResourceURL ||
				(strings.HasSuffix(u, "*") && strings.HasPrefix(a.NonResourceURL, strings.TrimRight(u, "*"))) {
				return true
			}
		}
		return false
	}
	if !refHas(rule.APIGroups, a.Group, "*") {
		return false
	}
	combined := a.Resource
	if a.Subresource != "" {
		combined += "/" + a.Subresource
	}
	resOK := false
	for _, r := range rule.Resources {
		if r == "*" || r == combined ||
			(a.Subresource != "" && len(r) == len(a.Subresource)+2 && strings.HasPrefix(r, "*/") && strings.HasSuffix(r, a.Subresource)) {
			resOK = true
			break
		}
	}
	if !resOK {
		return false
	}
	return len(rule.ResourceNames) == 0 || refHas(rule.ResourceNames, a.Name, "")
}

// refHas: want is in list, or list holds the wildcard (when not "").
func refHas(list []string, want, wildcard string) bool {
	for _, s := range list {
		if s == want || (wildcard != "" && s == wildcard) {
			return true
		}
	}
	return false
}
