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
