package audit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/access"
	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// check is one dangerous right of ISOLATION.md, asked of every tenant
// subject in its own namespace or at the cluster scope.
type check struct {
	id       string
	pattern  int
	severity Severity
	cluster  bool // only ClusterRoleBindings grant it: asked at the cluster scope
	named    bool // the request names the tenant's namespace: never memoised across namespaces
	all      bool // every request must be allowed (a CSR needs create and approve)
	requests []access.Attributes
	// also are requests one of which must be allowed too, for some object
	// name: what makes the right do anything (bind needs a binding to
	// write; impersonating a group needs a user to impersonate).
	also []access.Attributes
	what string // "can <what> in N"
	why  string
	fix  string
}

func req(verb, group, resource, sub string) access.Attributes {
	return access.Attributes{Verb: verb, Group: group, Resource: resource, Subresource: sub}
}

func reqs(verbs []string, group string, resources ...string) []access.Attributes {
	var out []access.Attributes
	for _, r := range resources {
		res, sub, _ := strings.Cut(r, "/")
		for _, v := range verbs {
			out = append(out, req(v, group, res, sub))
		}
	}
	return out
}

// roleWrites are the writes bind and escalate need to do anything: create
// or update a binding, update a role.
func roleWrites(group, bindings, roles string) []access.Attributes {
	return append(reqs(changes, group, bindings), reqs([]string{"update", "patch"}, group, roles)...)
}

var (
	writes  = []string{"create", "update", "patch", "delete", "deletecollection"}
	changes = []string{"create", "update", "patch"}
)

const rbacGroup = "rbac.authorization.k8s.io"

// checks is the catalogue. Rights that make a subject act as another
// identity (create pods, exec, mint tokens, read token Secrets, impersonate
// ServiceAccounts) are edges of the closure (closure.go), not checks.
var checks = []check{
	{id: "rolebinding-write", pattern: 3, severity: High, requests: reqs(changes, rbacGroup, "rolebindings"),
		what: "create or change RoleBindings",
		why:  "it can open its namespace to anyone, including system:authenticated",
		fix:  "drop rolebindings from the role's writable resources, or admit only the tenant's own members and Roles with a ValidatingAdmissionPolicy (bulkhead's admin role is limited by bulkhead-tenant-rolebindings)"},
	{id: "bind-escalate", pattern: 10, severity: High, requests: append(reqs([]string{"bind", "escalate"}, rbacGroup, "roles"), reqs([]string{"bind", "escalate"}, rbacGroup, "clusterroles")...),
		also: roleWrites(rbacGroup, "rolebindings", "roles"),
		what: "bind or escalate roles",
		why:  "it bypasses the API server's escalation check and can grant itself rights it does not hold",
		fix:  "remove the bind and escalate verbs (and '*' verbs) on roles and clusterroles from the role"},
	{id: "guardrail-write", pattern: 20, severity: High,
		requests: append(reqs(writes, "", "resourcequotas", "limitranges"), reqs(writes, "networking.k8s.io", "networkpolicies")...),
		what:     "change or delete its own ResourceQuota, LimitRange or NetworkPolicy",
		why:      "it lifts its own guardrails: GPU quota, default limits, network isolation",
		fix:      "grant only get, list and watch on resourcequotas, limitranges and networkpolicies (a '*' resource on the core group includes them)"},
	{id: "status-write", pattern: 19, severity: High, requests: reqs([]string{"update", "patch"}, "", "pods/status", "services/status"),
		what: "write pods/status or services/status",
		why:  "rewriting status redirects traffic (load balancer ingress, pod IPs) and misleads controllers",
		fix:  "remove the status subresources from the role; tenants read status with get on the object"},
	{id: "namespace-write", pattern: 13, severity: High, named: true,
		requests: []access.Attributes{{Verb: "patch", Resource: "namespaces"}, {Verb: "update", Resource: "namespaces"}, {Verb: "delete", Resource: "namespaces"}},
		what:     "change or delete its own Namespace",
		why:      "removing the pod-security labels lets it run privileged and hostPath pods",
		fix:      "grant at most get on namespaces; manage namespace labels with bulkhead apply"},
	{id: "cluster-rbac-write", pattern: 3, severity: Critical, cluster: true,
		requests: append(reqs(changes, rbacGroup, "clusterrolebindings", "clusterroles"), reqs(changes, rbacGroup, "rolebindings")...),
		what:     "create or change ClusterRoles, ClusterRoleBindings or RoleBindings in every namespace",
		why:      "it can grant anyone anything anywhere",
		fix:      "remove RBAC write rights from the ClusterRole bound to the subject"},
	{id: "bind-escalate", pattern: 10, severity: Critical, cluster: true, requests: reqs([]string{"bind", "escalate"}, rbacGroup, "clusterroles", "roles"),
		also: append(roleWrites(rbacGroup, "clusterrolebindings", "clusterroles"), roleWrites(rbacGroup, "rolebindings", "roles")...),
		what: "bind or escalate any role",
		why:  "it bypasses the escalation check everywhere",
		fix:  "remove the bind and escalate verbs from the ClusterRole bound to the subject"},
	{id: "impersonate", pattern: 9, severity: Critical, cluster: true,
		requests: reqs([]string{"impersonate"}, "", "users", "groups"),
		also:     reqs([]string{"impersonate"}, "", "users", "serviceaccounts"),
		what:     "impersonate any user or group",
		why:      "it can become anyone, including a member of system:masters",
		fix:      "remove the impersonate verb, or restrict it with resourceNames to specific identities"},
	{id: "nodes-proxy", pattern: 12, severity: Critical, cluster: true, requests: reqs([]string{"get", "create"}, "", "nodes/proxy"),
		what: "use nodes/proxy",
		why:  "the kubelet API runs commands in any pod on the node, past admission and audit logging",
		fix:  "remove nodes/proxy from the ClusterRole; monitoring agents need nodes/metrics or nodes/stats instead"},
	{id: "node-escape", pattern: 13, severity: High, cluster: true, requests: reqs([]string{"create"}, "", "persistentvolumes"),
		what: "create PersistentVolumes",
		why:  "a hostPath PersistentVolume mounts any directory of the node",
		fix:  "let a StorageClass provisioner create volumes; remove persistentvolumes write rights from the subject"},
	{id: "namespace-write", pattern: 13, severity: Critical, cluster: true, requests: reqs([]string{"patch", "update"}, "", "namespaces"),
		what: "change every Namespace",
		why:  "removing pod-security labels anywhere lets it run privileged pods in any namespace",
		fix:  "remove namespaces write rights from the ClusterRole bound to the subject"},
	{id: "csr-approve", pattern: 14, severity: Critical, cluster: true, all: true,
		requests: []access.Attributes{req("create", "certificates.k8s.io", "certificatesigningrequests", ""),
			req("update", "certificates.k8s.io", "certificatesigningrequests", "approval"),
			{Verb: "approve", Group: "certificates.k8s.io", Resource: "signers", Name: "kubernetes.io/kube-apiserver-client"}},
		what: "create and approve CertificateSigningRequests for kubernetes.io/kube-apiserver-client",
		why:  "it can issue itself a client certificate for any user and group, system:masters included",
		fix:  "split requesting and approving between different subjects, and restrict approve to specific signers with resourceNames"},
	{id: "admission-write", pattern: 15, severity: Critical, cluster: true,
		requests: reqs(append(changes, "delete", "deletecollection"), "admissionregistration.k8s.io", "validatingwebhookconfigurations", "mutatingwebhookconfigurations",
			"validatingadmissionpolicies", "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"),
		what: "create, change or delete admission webhooks or policies",
		why:  "a webhook sees and can rewrite every object sent to the API server; a policy can switch off bulkhead's",
		fix:  "remove admissionregistration.k8s.io write rights from the subject"},
	{id: "status-write", pattern: 19, severity: Critical, cluster: true, requests: reqs([]string{"update", "patch"}, "", "nodes/status"),
		what: "write nodes/status",
		why:  "it can steer scheduling and intercept traffic meant for a node",
		fix:  "remove nodes/status from the ClusterRole; only kubelets (the Node authorizer) need it"},
}

// subjectRules asks the catalogue of every tenant subject; worker i of n
// takes every n-th tenant.
func (a *auditor) subjectRules(i, n int) {
	clusterDone := map[access.Subject]bool{}
	for t := i; t < len(a.tenants); t += n {
		tenant := a.tenants[t]
		for _, s := range slices.Concat(a.members[t], a.guests[t]) {
			grants := a.subjectGrants(s)
			if len(grants) == 0 {
				continue
			}
			if !clusterDone[s] {
				a.wildcards(a.home(s, tenant), s, grants)
			}
			for k := range checks {
				c := &checks[k]
				if c.cluster && clusterDone[s] {
					continue
				}
				ns := tenant.Namespace
				if c.cluster {
					ns = ""
				}
				if via := a.check(checkCatalog+int32(k)*64, c, a.grantsIn(s, ns), ns); len(via) > 0 {
					owner := tenant
					if c.cluster {
						owner = a.home(s, tenant)
					}
					a.checkFinding(c, owner, s, ns, via)
				}
			}
			if !clusterDone[s] {
				a.namedNamespaceWrites(a.home(s, tenant), s)
			}
			clusterDone[s] = true
		}
	}
}

// home is the tenant a finding about s's own rights is filed under, the
// same whichever worker meets s first: its first tenant, or for a guest the
// tenant that let it in.
func (a *auditor) home(s access.Subject, fallback Tenant) Tenant {
	if ts := a.memberOf[s]; len(ts) > 0 {
		return a.tenants[ts[0]]
	}
	return fallback
}

// namespaceWrites are the requests that change a Namespace object.
var namespaceWrites = reqs([]string{"patch", "update", "delete"}, "", "namespaces")

// namedNamespaceWrites finds ClusterRoles that name other tenants'
// Namespaces in resourceNames: whoever holds them can strip those
// namespaces' pod security. (Unrestricted namespace writes are the
// cluster-wide namespace-write check.)
func (a *auditor) namedNamespaceWrites(home Tenant, s access.Subject) {
	cluster := a.grantsIn(s, "")
	if !a.mayAllowAny(cluster, checkMayWriteNamespaces, namespaceWrites, "") {
		return
	}
	for _, r := range namespaceWrites {
		if len(a.allows(cluster, noMemo, r)) > 0 {
			return // every Namespace: the cluster-wide check reports it once
		}
	}
	for t, tenant := range a.tenants {
		if a.isMember(s, t) || tenant.Namespace == home.Namespace {
			continue
		}
		var via []access.BindingRef
		for _, r := range namespaceWrites {
			r.Name, r.Namespace = tenant.Namespace, ""
			for _, g := range cluster {
				if g.Namespace == "" && a.eng.RuleSetAllows(g.RuleSet, r) {
					via = appendUnique(via, g.Binding)
				}
			}
		}
		if len(via) == 0 {
			continue
		}
		a.add(Finding{
			Rule: "namespace-write", Pattern: 13, Severity: Critical, Tenant: home.Name, Subject: s.String(), Namespace: tenant.Namespace,
			Objects: bindingStrings(via),
			Message: fmt.Sprintf("%s of tenant %s can change or delete Namespace %s of tenant %s: removing its pod-security labels "+
				"lets privileged pods in, deleting it destroys the tenant's work.", s, home.Name, tenant.Namespace, tenant.Name),
			Fix: fmt.Sprintf("%s: remove %s from the resourceNames of the namespaces rule.", rolesOf(via), tenant.Namespace),
		})
	}
}

// check asks c's requests; memo numbers the check (each has fewer than 64
// requests). A check whose requests are alternatives is answered once per
// rule list; one that needs all of them (a CSR needs create and approve,
// maybe from different bindings) asks request by request.
func (a *auditor) check(memo int32, c *check, grants []access.Grant, ns string) []access.BindingRef {
	if len(c.also) > 0 && !a.mayAllowAny(grants, memo+48, c.also, ns) {
		return nil
	}
	if !c.all && !c.named {
		return a.anyOf(grants, memo, c.requests, ns)
	}
	var via []access.BindingRef
	for i, r := range c.requests {
		r.Namespace = ns
		if c.named {
			r.Name = ns
		}
		key := noMemo
		if !c.named {
			key = memo + 1 + int32(i)
		}
		got := a.allows(grants, key, r)
		if len(got) == 0 && r.Resource == "signers" {
			// The CSR approval check also accepts "<domain>/*" for a signer
			// (IsAuthorizedForSignerName).
			domain, _, _ := strings.Cut(r.Name, "/")
			r.Name = domain + "/*"
			got = a.allows(grants, noMemo, r)
		}
		if c.all && len(got) == 0 {
			return nil
		}
		via = appendUnique(via, got...)
	}
	return via
}

func (a *auditor) checkFinding(c *check, t Tenant, s access.Subject, ns string, via []access.BindingRef) {
	where := "in " + ns
	if ns == "" {
		where = "in every namespace"
		if c.cluster {
			where = "cluster-wide"
		}
	}
	sev := c.severity
	msg := fmt.Sprintf("%s can %s %s: %s.", s, c.what, where, c.why)
	if c.id == "rolebinding-write" && t.Managed && a.policyLimits(t.Namespace) {
		sev = Low
		msg += fmt.Sprintf(" Admission policy %s limits it to the tenant's own members and Roles.", v1alpha1.RoleBindingPolicyName)
	}
	a.add(Finding{
		Rule: c.id, Pattern: c.pattern, Severity: sev, Tenant: t.Name, Subject: s.String(), Namespace: ns,
		Objects: bindingStrings(via), Message: msg,
		Fix: fmt.Sprintf("%s: %s.", rolesOf(via), c.fix) + a.escalationNote(c.id, s),
	})
}

// policyLimits reports whether bulkhead's admission policy contains a
// tenant admin's right to write RoleBindings in namespace ns (see
// policyGuards).
func (a *auditor) policyLimits(ns string) bool {
	set := labels.Set(a.nsLabels[ns])
	for _, g := range a.policyGuards {
		if g.policy.Matches(set) && g.binding.Matches(set) {
			return true
		}
	}
	return false
}

// policyGuard is one way bulkhead's admission policy applies: the policy's
// namespace selector and that of a binding that denies.
type policyGuard struct{ policy, binding labels.Selector }

// policyGuards finds bulkhead's admission policy as render writes it (same
// validations, failing closed) and the bindings that enforce it (Deny);
// anything else does not count as a guard.
func policyGuards(snap *Snapshot) []policyGuard {
	selector := func(sel *metav1.LabelSelector) (labels.Selector, bool) {
		if sel == nil {
			return labels.Everything(), true
		}
		s, err := metav1.LabelSelectorAsSelector(sel)
		return s, err == nil
	}
	var policies, bindings []labels.Selector
	for _, p := range snap.AdmissionPolicies {
		if p.Name != v1alpha1.RoleBindingPolicyName || p.Spec.MatchConstraints == nil ||
			(p.Spec.FailurePolicy != nil && *p.Spec.FailurePolicy != admissionregistrationv1.Fail) {
			continue
		}
		var rules []string
		for _, v := range p.Spec.Validations {
			rules = append(rules, v.Expression)
		}
		if sel, ok := selector(p.Spec.MatchConstraints.NamespaceSelector); ok && slices.Equal(rules, render.RoleBindingPolicyRules()) {
			policies = append(policies, sel)
		}
	}
	for _, b := range snap.AdmissionPolicyBindings {
		if b.Spec.PolicyName != v1alpha1.RoleBindingPolicyName || !denies(b) {
			continue
		}
		var sel *metav1.LabelSelector
		if b.Spec.MatchResources != nil {
			sel = b.Spec.MatchResources.NamespaceSelector
		}
		if s, ok := selector(sel); ok {
			bindings = append(bindings, s)
		}
	}
	var out []policyGuard
	for _, p := range policies {
		for _, b := range bindings {
			out = append(out, policyGuard{p, b})
		}
	}
	return out
}

// wildcards reports '*' in the rules a tenant subject holds (pattern 4).
func (a *auditor) wildcards(t Tenant, s access.Subject, grants []access.Grant) {
	for _, g := range grants {
		var found []string
		for _, r := range g.Rules {
			if slices.Contains(r.Verbs, "*") {
				found = appendUnique(found, "verbs '*'")
			}
			if slices.Contains(r.Resources, "*") {
				found = appendUnique(found, "resources '*'")
			}
			if slices.Contains(r.APIGroups, "*") {
				found = appendUnique(found, "apiGroups '*'")
			}
			if slices.ContainsFunc(r.Resources, func(res string) bool { return strings.HasPrefix(res, "*/") }) {
				found = appendUnique(found, "resources '*/…'")
			}
		}
		if len(found) == 0 {
			continue
		}
		a.add(Finding{
			Rule: "wildcard", Pattern: 4, Severity: Medium, Tenant: cmp.Or(a.tenantName(g.Namespace), t.Name), Subject: s.String(), Namespace: g.Namespace,
			Objects: []string{g.Binding.String()},
			Message: fmt.Sprintf("%s holds %s through %s: it also covers every resource, verb or group added later "+
				"(CRDs, new subresources), not just what exists today.", s, strings.Join(found, ", "), g.Binding),
			Fix: fmt.Sprintf("%s %s: list the verbs, API groups and resources the tenant needs instead of '*'.", g.Binding.RoleRef.Kind, g.Binding.RoleRef.Name),
		})
	}
}

// appendUnique appends the items list does not hold yet, keeping order.
func appendUnique[T comparable](list []T, items ...T) []T {
	for _, x := range items {
		if !slices.Contains(list, x) {
			list = append(list, x)
		}
	}
	return list
}

func bindingStrings(refs []access.BindingRef) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		name := r.Name
		if r.Namespace != "" {
			name = r.Namespace + "/" + r.Name
		}
		out = append(out, r.Kind+" "+name)
	}
	return out
}

// rolesOf names the roles behind bindings, for fixes: "In Role bob/full-access".
func rolesOf(refs []access.BindingRef) string {
	return "In " + roleNames(refs)
}

// roleNames lists the roles behind bindings: "Role bob/full-access, ClusterRole edit".
func roleNames(refs []access.BindingRef) string {
	var out []string
	for _, r := range refs {
		role := r.RoleRef.Kind + " " + r.RoleRef.Name
		if r.RoleRef.Kind == "Role" {
			role = "Role " + r.Namespace + "/" + r.RoleRef.Name
		}
		out = appendUnique(out, role)
	}
	return strings.Join(out, ", ")
}
