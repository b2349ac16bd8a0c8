package audit

import (
	"fmt"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// The catalogue (rules_rights.go) asks each right without an object name,
// as a create or a list would: a rule limited by resourceNames never
// answers such a question. But the objects that guard a tenant have names,
// and a write limited to those names is as dangerous as an unlimited one:
// patching the one webhook configuration that matters repoints it. The
// rules below ask again with every name a binding's role lists.

// admissionResources are the admission objects: whoever changes or deletes
// one can switch a guardrail off, or see and rewrite every object sent to
// the API server.
var admissionResources = []string{"validatingwebhookconfigurations", "mutatingwebhookconfigurations",
	"validatingadmissionpolicies", "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"}

const admissionGroup = "admissionregistration.k8s.io"

// namedWrites are the verbs a resourceNames rule can allow on an existing
// object (a create carries no name, so resourceNames cannot limit it).
var namedWrites = []string{"update", "patch", "delete"}

// guardrailKinds are the namespaced guardrails, by group and resource.
var guardrailKinds = []struct{ group, resource, kind string }{
	{"", "resourcequotas", "ResourceQuota"},
	{"", "limitranges", "LimitRange"},
	{"networking.k8s.io", "networkpolicies", "NetworkPolicy"},
}

// ruleNames lists the resourceNames the rules name, in order.
func ruleNames(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		out = appendUnique(out, r.ResourceNames...)
	}
	return out
}

// tenantSubject reports whether s is a subject the rights rules judge: a
// member of some tenant, or a guest let into ns.
func (a *auditor) tenantSubject(s access.Subject, ns string) bool {
	if len(a.memberOf[s]) > 0 {
		return true
	}
	if t, ok := a.tenantOf[ns]; ok && ns != "" {
		return slices.Contains(a.guests[t], s)
	}
	return false
}

// holds reports whether s holds attrs in ns ("" for the cluster scope)
// through any binding; through ref when only is set.
func (a *auditor) holds(s access.Subject, ns string, attrs access.Attributes, only *access.BindingRef) bool {
	attrs.Namespace = ns
	for _, g := range a.subjectGrants(s) {
		if g.Namespace != "" && g.Namespace != ns {
			continue
		}
		if only != nil && g.Binding != *only {
			continue
		}
		if a.eng.RuleSetAllows(g.RuleSet, attrs) {
			return true
		}
	}
	return false
}

// namedRights judges the resourceNames rules of one binding's role for each
// tenant subject it names: named admission objects (pattern 15), named
// guardrails (20) and bind on named roles (10).
func (a *auditor) namedRights(ref access.BindingRef, subjects []rbacv1.Subject, rules []rbacv1.PolicyRule) {
	names := ruleNames(rules)
	if len(names) == 0 {
		return
	}
	for _, sub := range subjects {
		s := bindingSubject(sub, ref.Namespace)
		if !a.tenantSubject(s, ref.Namespace) {
			continue
		}
		home := a.home(s, Tenant{Name: a.tenantName(ref.Namespace), Namespace: ref.Namespace})
		if ref.Kind == access.KindClusterRoleBinding {
			a.namedAdmission(home, s, ref, names)
		}
		a.namedGuardrails(home, s, ref, names)
		a.namedBind(home, s, ref, names)
	}
}

// namedAdmission reports writes to named admission objects.
func (a *auditor) namedAdmission(home Tenant, s access.Subject, ref access.BindingRef, names []string) {
	var hit []string
	var verbs []string
	exists := false
	for _, res := range admissionResources {
		for _, v := range namedWrites {
			if a.holds(s, "", access.Attributes{Verb: v, Group: admissionGroup, Resource: res}, nil) {
				continue // unlimited: the catalogue's admission-write reports it
			}
			for _, n := range names {
				if !a.holds(s, "", access.Attributes{Verb: v, Group: admissionGroup, Resource: res, Name: n}, &ref) {
					continue
				}
				obj := res + "/" + n
				hit = appendUnique(hit, obj)
				verbs = appendUnique(verbs, v)
				exists = exists || a.admissionObjectMayExist(res, n)
			}
		}
	}
	if len(hit) == 0 {
		return
	}
	sev := Critical
	msg := fmt.Sprintf("%s can %s %s through %s. resourceNames does not make this safe: changing or deleting one existing "+
		"admission object lets it repoint or disable it (a webhook sees and can rewrite every object sent to the API server; a "+
		"policy or its binding may be the one that limits tenants, such as bulkhead-tenant-rolebindings).",
		s, strings.Join(verbs, ", "), strings.Join(hit, ", "), ref)
	if !exists {
		sev = Low
		msg += " None of these objects exists on the cluster today: the right becomes critical as soon as one of that name is created."
	}
	a.add(Finding{
		Rule: "admission-write", Pattern: 15, Severity: sev, Tenant: home.Name, Subject: s.String(),
		Objects: []string{objectKey(ref.Kind, "", ref.Name)}, Message: msg,
		Fix: fmt.Sprintf("%s: remove the update, patch and delete verbs on %s from the rule (keep get, list, watch); only cluster "+
			"administrators should change admission configuration.", a.fixIn(ref, namesIn(hitNames(hit)...)), strings.Join(hit, ", ")),
	})
}

// admissionObjectMayExist reports whether an admission object of that name
// exists, or the snapshot cannot tell (webhook configurations are not read;
// manifests may be partial).
func (a *auditor) admissionObjectMayExist(resource, name string) bool {
	switch resource {
	case "validatingadmissionpolicies":
		if !a.snap.Complete {
			return true
		}
		return slices.ContainsFunc(a.snap.AdmissionPolicies, func(p admissionregistrationv1.ValidatingAdmissionPolicy) bool { return p.Name == name })
	case "validatingadmissionpolicybindings":
		if !a.snap.Complete {
			return true
		}
		return slices.ContainsFunc(a.snap.AdmissionPolicyBindings, func(b admissionregistrationv1.ValidatingAdmissionPolicyBinding) bool { return b.Name == name })
	}
	return true
}

// namedGuardrails reports writes to a tenant's own named ResourceQuota,
// LimitRange or NetworkPolicy (bulkhead names them bulkhead,
// bulkhead-isolate-ingress, bulkhead-restrict-egress).
func (a *auditor) namedGuardrails(home Tenant, s access.Subject, ref access.BindingRef, names []string) {
	var spaces []string
	if ref.Namespace != "" {
		spaces = []string{ref.Namespace}
	} else {
		for _, t := range a.memberOf[s] {
			spaces = append(spaces, a.tenants[t].Namespace)
		}
	}
	for _, ns := range spaces {
		t, ok := a.tenantOf[ns]
		if !ok {
			continue
		}
		var hit []string
		for _, k := range guardrailKinds {
			for _, v := range namedWrites {
				if a.holds(s, ns, access.Attributes{Verb: v, Group: k.group, Resource: k.resource}, nil) {
					continue // unlimited: the catalogue's guardrail-write reports it
				}
				for _, n := range names {
					if a.holds(s, ns, access.Attributes{Verb: v, Group: k.group, Resource: k.resource, Name: n}, &ref) && a.guardrailMayExist(k.kind, ns, n) {
						hit = appendUnique(hit, k.kind+" "+n)
					}
				}
			}
		}
		if len(hit) == 0 {
			continue
		}
		a.add(Finding{
			Rule: "guardrail-write", Pattern: 20, Severity: High, Tenant: a.tenants[t].Name, Subject: s.String(), Namespace: ns,
			Objects: []string{objectKey(ref.Kind, ref.Namespace, ref.Name)},
			Message: fmt.Sprintf("%s can change or delete %s in %s through %s: limited by resourceNames to the guardrails that exist, "+
				"it still lifts them (GPU quota, default limits, network isolation).", s, strings.Join(hit, ", "), ns, ref),
			Fix: fmt.Sprintf("%s: grant only get, list and watch on %s.", a.fixIn(ref, namesIn(hitNames(hit)...)), strings.Join(hit, ", ")),
		})
	}
}

// guardrailMayExist reports whether a guardrail of that kind and name is
// in ns, or the snapshot cannot tell (manifests may be partial; LimitRanges
// are not read).
func (a *auditor) guardrailMayExist(kind, ns, name string) bool {
	if !a.snap.Complete {
		return true
	}
	switch kind {
	case "ResourceQuota":
		return slices.ContainsFunc(a.snap.ResourceQuotas, func(q corev1.ResourceQuota) bool { return q.Namespace == ns && q.Name == name })
	case "NetworkPolicy":
		return slices.ContainsFunc(a.snap.NetworkPolicies, func(p networkingv1.NetworkPolicy) bool { return p.Namespace == ns && p.Name == name })
	}
	return true
}

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
				if len(powers) == 0 && n != "admin" && n != "cluster-admin" {
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

// hitNames are the object names of "resource/name" or "Kind name" items.
func hitNames(hit []string) []string {
	out := make([]string, 0, len(hit))
	for _, h := range hit {
		if i := strings.LastIndexAny(h, "/ "); i >= 0 {
			h = h[i+1:]
		}
		out = appendUnique(out, h)
	}
	return out
}
