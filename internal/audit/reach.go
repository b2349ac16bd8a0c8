package audit

import (
	"fmt"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// Memo numbers of the questions judgePowers asks (below checkCatalog,
// above questions.go's).
const (
	checkMayEscalateRoles int32 = 512 + iota*8
	checkMayEscalateClusterRoles
)

// power is a catalogue check an identity passes, and through which bindings.
type power struct {
	check int
	via   []access.BindingRef
}

// clusterPowers are the cluster-scope catalogue checks s passes, once per
// identity however many subjects reach it.
func (a *auditor) clusterPowers(s access.Subject) []power {
	if p, ok := a.powers[s]; ok {
		return p
	}
	var out []power
	grants := a.grantsIn(s, "")
	for k := range checks {
		if c := &checks[k]; c.cluster {
			if via := a.check(checkCatalog+int32(k)*64, c, grants, ""); len(via) > 0 {
				out = append(out, power{k, via})
			}
		}
	}
	a.powers[s] = out
	return out
}

// podSecurityEnforce is the Pod Security admission label that decides
// whether privileged pods are admitted in a namespace.
const podSecurityEnforce = "pod-security.kubernetes.io/enforce"

// judgePowers looks at what cur, which member reached (or member itself),
// can do beyond rights in namespaces: acting as an identity carries every
// right of it, the cluster-scoped ones included; a role it may rewrite is
// every right; pods in a namespace that admits privileged pods are the node.
func (a *auditor) judgePowers(member, cur access.Subject, parent map[access.Subject]step) {
	if cur.Kind == rbacv1.GroupKind && cur.Name == superuser {
		return // cluster-admin: becomesSuperuser says it once
	}
	if cur != member {
		a.reachedChecks(member, cur, parent)
	}
	a.privilegedPods(member, cur, parent)
	a.selfEscalation(member, cur, parent)
}

// reachedChecks asks the catalogue of an identity member acts as: at the
// cluster scope, and in member's own namespaces (its other namespaces are
// judged cell by cell as cross-tenant or outside-tenant access). A right
// member holds itself is already its own finding.
func (a *auditor) reachedChecks(member, cur access.Subject, parent map[access.Subject]step) {
	homes := a.memberOf[member]
	home := a.tenants[homes[0]]
	report := func(c *check, ns string, via []access.BindingRef) {
		where := "cluster-wide"
		if ns != "" {
			where = "in " + ns
		}
		a.add(reached(member, cur, parent, Finding{
			Rule: c.id, Pattern: c.pattern, Severity: c.severity, Tenant: home.Name, Subject: member.String(), Namespace: ns,
			Objects: append(pathObjects(member, cur, parent), bindingStrings(via)...),
			Message: fmt.Sprintf("%s%s can %s %s: %s; acting as %s it holds every right %s has.",
				member, pathText(member, cur, parent), c.what, where, c.why, cur, cur),
			Fix: fmt.Sprintf("Remove the right that lets %s act as %s (%s), or in %s: %s.",
				member, cur, firstHop(member, cur, parent), roleNames(via), c.fix),
		}))
	}
	if reached := a.clusterPowers(cur); len(reached) > 0 {
		own := a.clusterPowers(member)
		for _, p := range reached {
			if !slices.ContainsFunc(own, func(o power) bool { return o.check == p.check }) {
				report(&checks[p.check], "", p.via)
			}
		}
	}
	for _, t := range homes {
		ns := a.tenants[t].Namespace
		grants := a.grantsIn(cur, ns)
		if !slices.ContainsFunc(grants, func(g access.Grant) bool { return g.Namespace == ns }) {
			continue // cluster grants only: the cluster checks above
		}
		for k := range checks {
			c := &checks[k]
			if c.cluster {
				continue
			}
			memo := checkCatalog + int32(k)*64
			if via := a.check(memo, c, grants, ns); len(via) > 0 && len(a.check(memo, c, a.grantsIn(member, ns), ns)) == 0 {
				report(c, ns, via)
			}
		}
	}
}

// firstHop names the binding of the first edge from member towards cur.
func firstHop(member, cur access.Subject, parent map[access.Subject]step) string {
	at := cur
	for parent[at].from != member {
		at = parent[at].from
	}
	return bindingStrings(parent[at].edge.via[:1])[0]
}

// privilegedPods reports pod creation in a namespace whose Pod Security
// admits privileged pods (no enforce label, or privileged): a privileged
// or hostPath pod is the node, and every pod on it.
func (a *auditor) privilegedPods(member, cur access.Subject, parent map[access.Subject]step) {
	home := a.tenants[a.memberOf[member][0]]
	seen := namespaceSet{}
	for _, g := range a.subjectGrants(cur) {
		ns := g.Namespace
		if ns == "" || !seen.add(ns) {
			continue // cluster-wide pod creation is cluster-binding's
		}
		labels, known := a.nsLabels[ns]
		if !known || (labels[podSecurityEnforce] != "" && labels[podSecurityEnforce] != "privileged") {
			continue
		}
		via := a.anyOf(a.grantsIn(cur, ns), checkPodCreate, podCreators, ns)
		if len(via) == 0 || (cur != member && len(a.anyOf(a.grantsIn(member, ns), checkPodCreate, podCreators, ns)) > 0) {
			continue
		}
		level := "no " + podSecurityEnforce + " label"
		if labels[podSecurityEnforce] != "" {
			level = podSecurityEnforce + "=privileged"
		}
		a.add(reached(member, cur, parent, Finding{
			Rule: "node-escape", Pattern: 13, Severity: Critical, Tenant: home.Name, Subject: member.String(), Namespace: ns,
			Objects: append(append(pathObjects(member, cur, parent), bindingStrings(via)...), "Namespace "+ns),
			Message: fmt.Sprintf("%s%s can create pods in %s, whose Pod Security admits privileged pods (%s): a privileged or hostPath pod "+
				"takes over its node and every pod on it, other tenants' included.", member, pathText(member, cur, parent), ns, level),
			Fix: fmt.Sprintf("Label namespace %s %s=baseline (or restricted), or remove pod creation from %s.", ns, podSecurityEnforce, roleNames(via)),
		}))
	}
}

// selfEscalation reports escalate with update or patch on a role the
// subject is bound to, also when both are limited to that role by name:
// the API server then lets it add any rule to the role. Unlimited rights
// are the catalogue's bind-escalate and cluster-rbac-write.
func (a *auditor) selfEscalation(member, cur access.Subject, parent map[access.Subject]step) {
	home := a.tenants[a.memberOf[member][0]]
	for _, g := range a.subjectGrants(cur) {
		ref := g.Binding.RoleRef
		resource, ns, sev, scope := "roles", g.Namespace, High, "in namespace "+g.Namespace
		if ref.Kind == "ClusterRole" {
			resource, ns, sev, scope = "clusterroles", "", Critical, "wherever it is bound, cluster-wide included"
		}
		grants := a.grantsIn(cur, ns)
		esc := access.Attributes{Verb: "escalate", Group: rbacGroup, Resource: resource, Namespace: ns}
		memo := checkMayEscalateRoles
		if ns == "" {
			memo = checkMayEscalateClusterRoles
		}
		if !a.mayAllow(grants, memo, esc) || len(a.allows(grants, memo+1, esc)) > 0 {
			continue // any role: the catalogue's finding
		}
		esc.Name = ref.Name
		via := a.allows(grants, noMemo, esc)
		if len(via) == 0 {
			continue
		}
		var edit []access.BindingRef
		for _, verb := range []string{"update", "patch"} {
			w := esc
			w.Verb = verb
			edit = appendUnique(edit, a.allows(grants, noMemo, w)...)
		}
		if len(edit) == 0 {
			continue
		}
		role := ref.Kind + " " + ref.Name
		if ref.Kind == "Role" {
			role = "Role " + g.Namespace + "/" + ref.Name
		}
		a.add(reached(member, cur, parent, Finding{
			Rule: "bind-escalate", Pattern: 10, Severity: sev, Tenant: home.Name, Subject: member.String(), Namespace: g.Namespace,
			Objects: append(pathObjects(member, cur, parent), bindingStrings(appendUnique(append([]access.BindingRef{g.Binding}, via...), edit...))...),
			Message: fmt.Sprintf("%s%s can escalate and update %s, which it is bound to through %s: it can add any rule to it "+
				"and so give itself any right %s.", member, pathText(member, cur, parent), role, g.Binding, scope),
			Fix: fmt.Sprintf("In %s: remove escalate (and update/patch) on %s %s.", roleNames(appendUnique(via, edit...)), resource, ref.Name),
		}))
	}
}
