package audit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// bindingRules judges each binding once: broad groups (pattern 2),
// aggregated roles (5), operator ServiceAccounts (16), dangling references
// and subjects and bindings bulkhead left behind (20), and the rights its
// role limits by resourceNames (rules_named.go). In a namespace bulkhead manages a
// RoleBinding is either a hand-made one (foreign-binding) or bulkhead's own
// (stale-binding), never both; a subject stale-binding reports is not
// reported again as a missing ServiceAccount, nor its binding as dangling.
func (a *auditor) bindingRules() {
	boundRoles := map[nsName]bool{}                  // Roles some binding in their namespace references
	missingRoles := map[string][]access.BindingRef{} // Role name -> bindings that miss it
	aggregated := map[string]bool{}
	for _, cr := range a.snap.ClusterRoles {
		if cr.AggregationRule != nil && len(cr.AggregationRule.ClusterRoleSelectors) > 0 {
			aggregated[cr.Name] = true
		}
	}
	type bindingView struct {
		ref      access.BindingRef
		subjects []rbacv1.Subject
		base     bool
		judged   []rbacv1.Subject // the subjects stale-binding left to the other rules
	}
	// A bootstrap binding is baseline only while its role is too: adding
	// rules to system:basic-user widens what every user holds.
	clusterRoles := map[string]*rbacv1.ClusterRole{}
	for i := range a.snap.ClusterRoles {
		clusterRoles[a.snap.ClusterRoles[i].Name] = &a.snap.ClusterRoles[i]
	}
	roles := map[nsName]*rbacv1.Role{}
	for i := range a.snap.Roles {
		roles[nsName{a.snap.Roles[i].Namespace, a.snap.Roles[i].Name}] = &a.snap.Roles[i]
	}
	roleIsBaseline := func(ns string, ref rbacv1.RoleRef) bool {
		if ref.Kind == "ClusterRole" {
			cr := clusterRoles[ref.Name]
			return cr != nil && a.base.role("ClusterRole", "", cr.Name, cr.Rules, cr.AggregationRule)
		}
		r := roles[nsName{ns, ref.Name}]
		return r != nil && a.base.role("Role", ns, r.Name, r.Rules, nil)
	}
	known := a.definedNamespaces()
	dangling := danglingSubjects{}
	all := make([]bindingView, 0, len(a.snap.ClusterRoleBindings)+len(a.snap.RoleBindings))
	for _, b := range a.snap.ClusterRoleBindings {
		all = append(all, bindingView{access.BindingRef{Kind: access.KindClusterRoleBinding, Name: b.Name, RoleRef: b.RoleRef}, b.Subjects,
			a.base.binding("ClusterRoleBinding", "", b.Name, b.RoleRef, b.Subjects) && roleIsBaseline("", b.RoleRef), b.Subjects})
	}
	for _, b := range a.snap.RoleBindings {
		ref := access.BindingRef{Kind: access.KindRoleBinding, Namespace: b.Namespace, Name: b.Name, RoleRef: b.RoleRef}
		judged := b.Subjects
		if t, ok := a.tenantOf[b.Namespace]; ok {
			if a.memberBinding(t, b.Labels) {
				judged = a.staleBinding(t, ref, b.Subjects)
			} else {
				a.foreignBinding(t, b)
			}
		}
		all = append(all, bindingView{ref, b.Subjects,
			a.base.binding("RoleBinding", b.Namespace, b.Name, b.RoleRef, b.Subjects) && roleIsBaseline(b.Namespace, b.RoleRef), judged})
	}
	for _, b := range all {
		rules, exists := a.eng.RoleRules(b.ref.RoleRef, b.ref.Namespace)
		if b.ref.RoleRef.Kind == "Role" && b.ref.Namespace != "" {
			boundRoles[nsName{b.ref.Namespace, b.ref.RoleRef.Name}] = exists || boundRoles[nsName{b.ref.Namespace, b.ref.RoleRef.Name}]
			if !exists {
				missingRoles[b.ref.RoleRef.Name] = append(missingRoles[b.ref.RoleRef.Name], b.ref)
			}
		}
		if b.base {
			continue
		}
		if !exists && (len(b.judged) > 0 || len(b.subjects) == 0) {
			a.danglingRole(b.ref, b.subjects)
		}
		a.missingSubjects(b.ref, b.judged, known, dangling)
		if exists && len(rules) > 0 {
			a.broadSubjects(b.ref, b.subjects)
			a.operatorDeputy(b.ref, b.subjects)
			a.namedRights(b.ref, b.subjects, rules)
		}
		if t, ok := a.tenantOf[b.ref.Namespace]; ok && b.ref.RoleRef.Kind == "ClusterRole" && aggregated[b.ref.RoleRef.Name] {
			a.add(Finding{
				Rule: "aggregated-role", Pattern: 5, Severity: Medium, Tenant: a.tenants[t].Name, Subject: subjectList(b.subjects, b.ref.Namespace),
				Namespace: b.ref.Namespace, Objects: []string{b.ref.String()},
				Message: fmt.Sprintf("%s binds the aggregated ClusterRole %s: any ClusterRole labelled to aggregate into it (operators add them) widens "+
					"what the tenant holds, without a change to the tenant's objects.", b.ref, b.ref.RoleRef.Name),
				Fix: a.aggregatedFix(b.ref.RoleRef.Name),
			})
		}
	}
	a.strayRoles(boundRoles, missingRoles)
	a.danglingFindings(dangling, known)
}

type nsName struct{ namespace, name string }

func (a *auditor) danglingRole(ref access.BindingRef, subjects []rbacv1.Subject) {
	where := "on the cluster" // ClusterRoles are cluster-scoped
	if ref.RoleRef.Kind == "Role" {
		where = "in " + ref.Namespace
	}
	msg := fmt.Sprintf("%s refers to %s %q, which does not exist %s. Its subjects (%s) do not get the access it was meant to give "+
		"(the API server answers: RBAC: %s %q not found), and whoever can create a %s of that name later inherits the grant.",
		ref, ref.RoleRef.Kind, ref.RoleRef.Name, where, subjectList(subjects, ref.Namespace),
		strings.ToLower(ref.RoleRef.Kind)+".rbac.authorization.k8s.io", ref.RoleRef.Name, ref.RoleRef.Kind)
	fix := fmt.Sprintf("Create %s %s %s, or delete the binding (kubectl delete %s %s%s).", ref.RoleRef.Kind, ref.RoleRef.Name, where,
		strings.ToLower(ref.Kind), ref.Name, nsFlag(ref.Namespace))
	var elsewhere []string
	if ref.RoleRef.Kind == "Role" {
		for _, r := range a.snap.Roles {
			if r.Name == ref.RoleRef.Name && r.Namespace != ref.Namespace {
				elsewhere = append(elsewhere, r.Namespace)
			}
		}
	}
	if len(elsewhere) > 0 {
		msg += fmt.Sprintf(" A Role of that name exists in namespace %s: it was most likely created in the wrong namespace (a copy-paste slip).",
			strings.Join(elsewhere, ", "))
		fix = fmt.Sprintf("Move Role %s from namespace %s to %s: kubectl get role %s -n %s -o yaml | sed 's/namespace: %s$/namespace: %s/' | "+
			"kubectl apply -f - && kubectl delete role %s -n %s. Provisioning with bulkhead apply makes this slip impossible.",
			ref.RoleRef.Name, elsewhere[0], ref.Namespace, ref.RoleRef.Name, elsewhere[0], elsewhere[0], ref.Namespace, ref.RoleRef.Name, elsewhere[0])
	}
	a.add(Finding{
		Rule: "dangling-role-ref", Pattern: 20, Severity: High, Tenant: a.tenantName(ref.Namespace),
		Subject: subjectList(subjects, ref.Namespace), Namespace: ref.Namespace,
		Objects: []string{objectKey(ref.Kind, ref.Namespace, ref.Name)}, Message: msg, Fix: fix,
	})
}

// strayRoles reports Roles nothing in their namespace binds: misplaced
// when a binding elsewhere misses a Role of that name, unused otherwise.
func (a *auditor) strayRoles(bound map[nsName]bool, missing map[string][]access.BindingRef) {
	for _, r := range a.snap.Roles {
		if bound[nsName{r.Namespace, r.Name}] || a.base.has("Role", r.Namespace, r.Name) {
			continue
		}
		t := a.tenantName(r.Namespace)
		if refs := missing[r.Name]; len(refs) > 0 {
			a.add(Finding{
				Rule: "misplaced-role", Pattern: 20, Severity: High, Tenant: t, Namespace: r.Namespace,
				Objects: []string{objectKey("Role", r.Namespace, r.Name), objectKey(refs[0].Kind, refs[0].Namespace, refs[0].Name)},
				Message: fmt.Sprintf("Role %s/%s is bound by nothing in %s, while %s expects a Role of that name in %s: it was most likely "+
					"meant for %s. It grants nothing where it is, but a RoleBinding in %s that names it would hand out rights meant for another tenant (%s).",
					r.Namespace, r.Name, r.Namespace, refs[0], refs[0].Namespace, refs[0].Namespace, r.Namespace, plural(len(r.Rules), "rule")),
				Fix: fmt.Sprintf("Move it: create Role %s in %s and delete it from %s (kubectl delete role %s -n %s).",
					r.Name, refs[0].Namespace, r.Namespace, r.Name, r.Namespace),
			})
			continue
		}
		if t == "" {
			continue
		}
		a.add(Finding{
			Rule: "unused-role", Pattern: 20, Severity: Low, Tenant: t, Namespace: r.Namespace,
			Objects: []string{objectKey("Role", r.Namespace, r.Name)},
			Message: fmt.Sprintf("Role %s/%s is bound by nothing in its namespace.", r.Namespace, r.Name),
			Fix:     fmt.Sprintf("Delete it if it is left over (kubectl delete role %s -n %s).", r.Name, r.Namespace),
		})
	}
}

// missingSubjects reports ServiceAccount subjects that do not exist, where
// the snapshot can tell: a cluster, or a namespace whose ServiceAccounts the
// manifests define. A subject in a namespace that does not exist at all is
// a dangling subject (most often a typo: teamb for team-b).
func (a *auditor) missingSubjects(ref access.BindingRef, subjects []rbacv1.Subject, known map[string]bool, dangling danglingSubjects) {
	for _, s := range subjects {
		if s.Kind != rbacv1.ServiceAccountKind {
			continue
		}
		ns := cmp.Or(s.Namespace, ref.Namespace)
		if ns != "" && !known[ns] {
			if !SystemNamespace(ns) && ns != "kube-public" {
				// A binding's subjects come together: comparing with the
				// last ref dedupes without scanning thousands of them.
				k := saSubject(ns, s.Name)
				if refs := dangling[k]; len(refs) == 0 || refs[len(refs)-1] != ref {
					dangling[k] = append(refs, ref)
				}
			}
			continue
		}
		if !a.saMissing(ns, s.Name) {
			continue
		}
		a.add(Finding{
			Rule: "missing-subject", Pattern: 20, Severity: Medium, Tenant: a.tenantName(ns), Subject: saSubject(ns, s.Name).String(),
			Namespace: ref.Namespace, Objects: []string{objectKey(ref.Kind, ref.Namespace, ref.Name)},
			Message: fmt.Sprintf("%s names ServiceAccount %s/%s, which does not exist: whoever creates a ServiceAccount of that name in %s "+
				"inherits the grant.", ref, ns, s.Name, ns),
			Fix: fmt.Sprintf("Remove the subject from %s, or create the ServiceAccount if it is meant to exist.", ref),
		})
	}
}

// saMissing reports whether ServiceAccount ns/name does not exist, where
// the snapshot can tell.
func (a *auditor) saMissing(ns, name string) bool {
	if ns == "" || a.saKnown[saSubject(ns, name)] || (!a.snap.Complete && len(a.saNames[ns]) == 0) {
		return false
	}
	return a.snap.Complete || a.namespaceKnown(ns)
}

func (a *auditor) namespaceKnown(ns string) bool {
	_, object := a.nsLabels[ns]
	return object || len(a.saNames[ns]) > 0
}

// broadSubjects reports bindings to groups that span tenants (pattern 2).
func (a *auditor) broadSubjects(ref access.BindingRef, subjects []rbacv1.Subject) {
	for _, s := range subjects {
		sev := a.broadSeverity(ref, s)
		if sev == 0 {
			continue
		}
		scope := "every namespace"
		if ref.Namespace != "" {
			scope = "namespace " + ref.Namespace
		}
		a.add(Finding{
			Rule: "broad-group", Pattern: 2, Severity: sev, Tenant: a.tenantName(ref.Namespace), Subject: s.Kind + " " + s.Name,
			Namespace: ref.Namespace, Objects: []string{objectKey(ref.Kind, ref.Namespace, ref.Name)},
			Message: fmt.Sprintf("%s gives %s %s in %s: it applies to every identity in that group at once, across tenants.",
				ref, s.Name, ref.RoleRef.Kind+" "+ref.RoleRef.Name, scope),
			Fix: fmt.Sprintf("Bind the specific users, groups or ServiceAccounts that need %s instead of %s.", ref.RoleRef.Name, s.Name),
		})
	}
}

// broadSeverity is how far a group that spans tenants reaches when ref
// binds it (pattern 2); 0 when s is no such group.
func (a *auditor) broadSeverity(ref access.BindingRef, s rbacv1.Subject) Severity {
	_, inTenant := a.tenantOf[ref.Namespace]
	switch {
	case s.Kind == rbacv1.GroupKind && broadGroup(s.Name), s.Kind == rbacv1.UserKind && s.Name == "system:anonymous":
		if ref.Kind == access.KindClusterRoleBinding || inTenant {
			return Critical
		}
		return Medium
	case s.Kind == rbacv1.GroupKind && strings.HasPrefix(s.Name, "system:serviceaccounts:"):
		from := strings.TrimPrefix(s.Name, "system:serviceaccounts:")
		_, fromTenant := a.tenantOf[from]
		switch {
		case ref.Kind == access.KindClusterRoleBinding:
			return Critical
		case from != ref.Namespace && inTenant:
			return Critical
		case from == ref.Namespace && inTenant, fromTenant:
			return Medium
		}
	}
	return 0
}

// operatorDeputy reports ServiceAccounts outside the tenants that hold
// cluster-wide rights to run code, read secrets or change RBAC (pattern
// 16): a tenant that can create the objects such an operator reconciles
// borrows those rights.
func (a *auditor) operatorDeputy(ref access.BindingRef, subjects []rbacv1.Subject) {
	if ref.Kind != access.KindClusterRoleBinding {
		return
	}
	for _, s := range subjects {
		if s.Kind != rbacv1.ServiceAccountKind || s.Namespace == "" {
			continue
		}
		if _, ok := a.tenantOf[s.Namespace]; ok {
			continue // a tenant's own ServiceAccount: cluster-binding reports it
		}
		var powers, named []string
		sev := Medium
		for _, g := range a.eng.Grants(saSubject(s.Namespace, s.Name)) {
			if g.Binding != ref {
				continue
			}
			for _, p := range deputyPowers {
				if slices.ContainsFunc(p.any, func(r access.Attributes) bool { return a.eng.RuleSetAllows(g.RuleSet, r) }) {
					powers = append(powers, p.name)
				}
			}
			var nsev Severity
			named, nsev = a.namedDeputyPowers(g)
			sev = max(sev, nsev)
		}
		if len(powers) == 0 && len(named) == 0 {
			continue
		}
		msg := fmt.Sprintf("ServiceAccount %s/%s can %s in every namespace through %s.", s.Namespace, s.Name,
			strings.Join(append(powers, named...), ", "), ref)
		if len(named) > 0 {
			msg += " resourceNames does not narrow this: escalate on a Role lets it write any rules into a Role of that name, and bind " +
				"lets it bind that Role (or a named ClusterRole) to anyone, itself included, in any namespace, kube-system too: " +
				"whoever holds its credentials (its pods, its token) can make itself admin of every namespace in two steps."
		}
		msg += " If tenants can create the objects it reconciles, they can make it act for them (confused deputy); audit cannot see " +
			"which objects those are."
		a.add(Finding{
			Rule: "operator-deputy", Pattern: 16, Severity: sev, Subject: saSubject(s.Namespace, s.Name).String(),
			Objects: []string{objectKey(ref.Kind, "", ref.Name)},
			Message: msg,
			Fix: "Scope the operator to the namespaces it serves (RoleBindings per namespace), or check that it validates who created each object; " +
				"keep its namespace for it alone, so that nobody else can create pods or read tokens there.",
		})
	}
}

// deputyPowers are what an operator lends a tenant; each is held when any
// of its requests is allowed. Listing Secrets returns their data, so it
// reads them as surely as get does (a controller's cache lists and watches).
var deputyPowers = []struct {
	name string
	any  []access.Attributes
}{
	{"create pods", []access.Attributes{{Verb: "create", Resource: "pods"}}},
	{"read secrets", []access.Attributes{{Verb: "get", Resource: "secrets"}, {Verb: "list", Resource: "secrets"}, {Verb: "watch", Resource: "secrets"}}},
	{"create RoleBindings", []access.Attributes{{Verb: "create", Group: rbacGroup, Resource: "rolebindings"}}},
	{"impersonate", []access.Attributes{{Verb: "impersonate", Resource: "serviceaccounts"}}},
}

// foreignBinding reports a RoleBinding added by hand to a namespace bulkhead
// manages that lets in users or groups the tenant does not list as members.
// If they belong to another tenant, closure reports the cross-tenant access
// as well.
func (a *auditor) foreignBinding(t int, b rbacv1.RoleBinding) {
	var outsiders []string
	for _, s := range b.Subjects {
		if (s.Kind == rbacv1.UserKind || s.Kind == rbacv1.GroupKind) && !a.isMember(access.Subject{Kind: s.Kind, Name: s.Name}, t) {
			outsiders = append(outsiders, s.Kind+" "+s.Name)
		}
	}
	if len(outsiders) == 0 {
		return
	}
	tenant := a.tenants[t]
	a.add(Finding{
		Rule: "foreign-binding", Pattern: 1, Severity: Medium, Tenant: tenant.Name, Subject: strings.Join(outsiders, ", "),
		Namespace: b.Namespace, Objects: []string{objectKey("RoleBinding", b.Namespace, b.Name)},
		Message: fmt.Sprintf("RoleBinding %s/%s, not made by bulkhead, lets %s into tenant %s's namespace, though the tenant does not list "+
			"them as members.", b.Namespace, b.Name, strings.Join(outsiders, ", "), tenant.Name),
		Fix: fmt.Sprintf("Add them as members in the tenant spec and run bulkhead apply, or delete the binding (kubectl delete rolebinding %s -n %s).",
			b.Name, b.Namespace),
	})
}
