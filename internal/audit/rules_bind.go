package audit

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// The API server's escalation check (pkg/registry/rbac) lets a subject
// write a role, or bind one, only within the rights it holds, unless it
// has escalate on that role (to write it) or bind (to bind it). Both verbs
// are asked with the role's name, so resourceNames limits them to roles,
// not to safety: bind named to a powerful role is that role.

// rolePower is a right a role can give, in the words of a finding.
type rolePower struct {
	name string
	any  []access.Attributes
}

// rolePowers are what makes a role worth binding to oneself: each is
// present when any of its requests is allowed.
var rolePowers = []rolePower{
	{"every verb on every resource", []access.Attributes{{Verb: "*", Group: "*", Resource: "*"}}},
	{"create RoleBindings", []access.Attributes{{Verb: "create", Group: rbacGroup, Resource: "rolebindings"}}},
	{"bind or escalate roles", reqs([]string{"bind", "escalate"}, rbacGroup, "roles", "clusterroles")},
	{"impersonate", reqs([]string{"impersonate"}, "", "users", "groups", "serviceaccounts")},
	{"create pods (and so act as every ServiceAccount there)", []access.Attributes{{Verb: "create", Resource: "pods"}}},
	{"exec into pods", []access.Attributes{{Verb: "create", Resource: "pods", Subresource: "exec"}}},
	{"read secrets", []access.Attributes{{Verb: "get", Resource: "secrets"}}},
}

// powersOf lists the powers rules give that s does not already hold in ns
// ("" for every namespace and the cluster scope).
func (a *auditor) powersOf(rules []rbacv1.PolicyRule, s access.Subject, ns string) []string {
	var out []string
	for _, p := range rolePowers {
		if slices.ContainsFunc(p.any, func(r access.Attributes) bool { return rulesAllow(rules, r) }) &&
			!slices.ContainsFunc(p.any, func(r access.Attributes) bool { return a.holds(s, ns, r, nil) }) {
			out = append(out, p.name)
		}
	}
	return out
}

// rulesAllow reports whether rules allow attrs without naming an object
// (resourceNames rules never do). A "*" in attrs asks for a rule that
// itself says "*".
func rulesAllow(rules []rbacv1.PolicyRule, attrs access.Attributes) bool {
	resource := attrs.Resource
	if attrs.Subresource != "" {
		resource += "/" + attrs.Subresource
	}
	for _, r := range rules {
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			continue
		}
		if (slices.Contains(r.Verbs, "*") || attrs.Verb != "*" && slices.Contains(r.Verbs, attrs.Verb)) &&
			(slices.Contains(r.APIGroups, "*") || attrs.Group != "*" && slices.Contains(r.APIGroups, attrs.Group)) &&
			(slices.Contains(r.Resources, "*") || resource != "*" && slices.Contains(r.Resources, resource)) {
			return true
		}
	}
	return false
}

// namedBind reports bind limited by resourceNames to a powerful role, held
// with the right to create the binding: the API server's escalation check
// lets a RoleBinding (or ClusterRoleBinding) to a role through when its
// author has bind on that role, so the subject can bind the role to itself.
func (a *auditor) namedBind(home Tenant, s access.Subject, ref access.BindingRef, names []string) {
	// Where bind applies: a RoleBinding's namespace; a ClusterRoleBinding's
	// everywhere, asked in the subject's own namespaces and at the cluster
	// scope.
	spaces := []string{ref.Namespace}
	if ref.Namespace == "" {
		for _, t := range a.memberOf[s] {
			spaces = appendUnique(spaces, a.tenants[t].Namespace)
		}
	}
	for _, ns := range spaces {
		// The binding the subject can create there: a ClusterRoleBinding at
		// the cluster scope, RoleBindings in ns ("" is every namespace).
		canRoleBind := a.holds(s, ns, access.Attributes{Verb: "create", Group: rbacGroup, Resource: "rolebindings"}, nil)
		canClusterBind := ns == "" && a.holds(s, "", access.Attributes{Verb: "create", Group: rbacGroup, Resource: "clusterrolebindings"}, nil)
		if !canRoleBind && !canClusterBind {
			continue
		}
		for _, n := range names {
			for _, kind := range []string{"ClusterRole", "Role"} {
				if kind == "Role" && ns == "" {
					continue // a Role of that name in every namespace: the operator rule's case
				}
				resource := strings.ToLower(kind) + "s"
				bind := access.Attributes{Verb: "bind", Group: rbacGroup, Resource: resource}
				if a.holds(s, ns, bind, nil) {
					continue // unlimited bind: the catalogue's bind-escalate reports it
				}
				bind.Name = n
				if !a.holds(s, ns, bind, &ref) {
					continue
				}
				rules, exists := a.eng.RoleRules(rbacv1.RoleRef{APIGroup: rbacGroup, Kind: kind, Name: n}, ns)
				if !exists {
					continue
				}
				powers := a.powersOf(rules, s, ns)
				if len(powers) == 0 {
					continue // nothing it does not hold already, so nothing gained
				}
				a.bindFinding(home, s, ref, kind, n, ns, canClusterBind, powers)
			}
		}
	}
}

func (a *auditor) bindFinding(home Tenant, s access.Subject, ref access.BindingRef, kind, role, ns string, cluster bool, powers []string) {
	sev, where, binding := High, "namespace "+ns, "a RoleBinding in "+ns
	t, inTenant := a.tenantOf[ns]
	switch {
	case cluster:
		sev, where, binding = Critical, "the whole cluster", "a ClusterRoleBinding"
	case ns == "":
		sev, where, binding = Critical, "every namespace", "a RoleBinding in any namespace"
	case inTenant && !a.isMember(s, t):
		sev = Critical // another tenant's namespace
	}
	gains := "every right of " + kind + " " + role
	if len(powers) > 0 {
		gains += " (" + strings.Join(powers, ", ") + ")"
	}
	a.add(Finding{
		Rule: "bind-escalate", Pattern: 10, Severity: sev, Tenant: home.Name, Subject: s.String(), Namespace: ns,
		Objects: []string{objectKey(ref.Kind, ref.Namespace, ref.Name)},
		Message: fmt.Sprintf("%s can make itself admin of %s: it holds bind on %s %s (limited by resourceNames, which is the point: bind "+
			"names the role it lets through) and can create %s, so the API server's escalation check lets it bind %s to itself and gain %s.",
			s, where, kind, role, binding, role, gains),
		Fix: fmt.Sprintf("%s: remove %s from the resourceNames of the bind rule, or remove the subject's right to create %s.",
			a.fixIn(ref, namesIn(role)), role, strings.TrimPrefix(binding, "a ")),
	})
}

// namedDeputyPowers describes what escalate and bind limited by
// resourceNames give an operator bound cluster-wide through g (bulkhead's
// own controller holds them on its tenant Roles), and how severe that is:
// High for any namespaced right in every namespace, Critical when a named
// ClusterRole gives cluster-scoped rights through a ClusterRoleBinding.
func (a *auditor) namedDeputyPowers(g access.Grant) ([]string, Severity) {
	var out []string
	var sev Severity
	allows := func(verb, resource, name string) bool {
		return a.eng.RuleSetAllows(g.RuleSet, access.Attributes{Verb: verb, Group: rbacGroup, Resource: resource, Name: name})
	}
	allowsAny := func(verbs []string, resource string) bool {
		return slices.ContainsFunc(verbs, func(v string) bool { return allows(v, resource, "") })
	}
	var roles []string
	for _, n := range ruleNames(g.Rules) {
		// Writing a Role by name (patch or update; server-side apply
		// creates with a name too) with escalate: any rules in it.
		if allows("escalate", "roles", n) && !allows("escalate", "roles", "") &&
			slices.ContainsFunc([]string{"create", "patch", "update"}, func(v string) bool { return allows(v, "roles", n) }) {
			roles = append(roles, n)
		}
	}
	if len(roles) > 0 && (allowsAny([]string{"create"}, "rolebindings") || slices.ContainsFunc(roles, func(n string) bool { return allows("bind", "roles", n) })) {
		out = append(out, fmt.Sprintf("write any rules into Roles named %s (escalate, limited by resourceNames) and bind them", strings.Join(roles, ", ")))
		sev = High
	}
	if allowsAny([]string{"create"}, "rolebindings") || allowsAny([]string{"create"}, "clusterrolebindings") {
		for _, n := range ruleNames(g.Rules) {
			if !allows("bind", "clusterroles", n) || allows("bind", "clusterroles", "") {
				continue
			}
			rules, exists := a.eng.RoleRules(rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "ClusterRole", Name: n}, "")
			if !exists || !slices.ContainsFunc(rolePowers, func(p rolePower) bool {
				return slices.ContainsFunc(p.any, func(r access.Attributes) bool { return rulesAllow(rules, r) })
			}) {
				continue
			}
			out = append(out, "bind ClusterRole "+n+" to itself")
			if allowsAny([]string{"create"}, "clusterrolebindings") {
				sev = Critical
			} else {
				sev = max(sev, High)
			}
		}
	}
	return out, sev
}

// escalationNote completes the fix of a cluster-rbac-write finding: without
// bind or escalate the API server's escalation check still stands, so say
// what it prevents and what it leaves. "" for other rules, or when the
// subject holds bind or escalate (bind-escalate reports that).
func (a *auditor) escalationNote(rule string, s access.Subject) string {
	if rule != "cluster-rbac-write" {
		return ""
	}
	for _, r := range reqs([]string{"bind", "escalate"}, rbacGroup, "clusterroles", "roles") {
		if a.holds(s, "", r, nil) {
			return ""
		}
	}
	return fmt.Sprintf(" Without bind or escalate the API server's escalation check still refuses any ClusterRole or Role that "+
		"grants more than %s holds, and any binding to a role granting more than that (\"attempting to grant RBAC permissions not "+
		"currently held\"); what it allows is handing %s's own rights to anyone, system:authenticated included, in any namespace. "+
		"So the write right is what to remove, and the rights it holds are what it can spread.", s, s)
}
