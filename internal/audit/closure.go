package audit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// step is how the closure reached an identity: from whom, by which edge.
type step struct {
	from access.Subject
	edge edge
}

// closure follows edges from every tenant subject to a fixed point and
// judges what each reached identity holds: rights in the namespace of a
// tenant the subject is not a member of are cross-tenant access (critical);
// acting as a more privileged identity of its own tenant is an escalation
// (medium). Each subject is followed once, however many tenants it is a
// member of. Worker i of n follows the subjects whose first tenant is its.
func (a *auditor) closure(i, n int) {
	done := map[access.Subject]bool{}
	parent := map[access.Subject]step{}
	for t := range a.tenants {
		for _, s := range a.members[t] {
			if done[s] || a.memberOf[s][0]%n != i {
				continue
			}
			done[s] = true
			clear(parent)
			parent[s] = step{}
			queue := []access.Subject{s}
			var actsAs []string
			for len(queue) > 0 {
				cur := queue[0]
				queue = queue[1:]
				a.judgeReach(s, cur, parent)
				a.judgePowers(s, cur, parent)
				for _, e := range a.edgesOf(cur) {
					if _, seen := parent[e.to]; seen {
						continue
					}
					parent[e.to] = step{from: cur, edge: e}
					queue = append(queue, e.to)
					if e.to.Kind == rbacv1.GroupKind && e.to.Name == superuser {
						a.becomesSuperuser(s, e, parent)
					}
					if !a.findingsOnly {
						actsAs = append(actsAs, e.to.String())
					}
					if home, ok := a.tenantOf[e.to.Namespace]; ok && cur == s && a.isMember(s, home) {
						a.escalation(a.tenants[home], s, e)
					}
				}
			}
			if !a.findingsOnly {
				a.drill(a.tenants[t], s).ActsAs = actsAs
			}
		}
		if t%n == i && !a.findingsOnly {
			for _, g := range a.guests[t] {
				a.drill(a.tenants[t], g)
			}
		}
	}
}

// judgeReach looks at the grants of cur, which member reached (cur may be
// member itself).
func (a *auditor) judgeReach(member, cur access.Subject, parent map[access.Subject]step) {
	homes := a.memberOf[member]
	home := a.tenants[homes[0]]
	direct := cur == member
	for _, g := range a.subjectGrants(cur) {
		ns := g.Namespace
		if ns == "" {
			if a.namespacedRules(g) {
				for _, t := range homes {
					a.cell(a.tenants[t].Name, "*", g, member, cur, true)
				}
				a.add(reached(member, cur, parent, Finding{
					Rule: "cluster-binding", Pattern: 1, Severity: Critical, Tenant: home.Name, Subject: member.String(),
					Objects: append(pathObjects(member, cur, parent), g.Binding.String()),
					Message: fmt.Sprintf("%s%s holds namespaced rights through %s, so they apply in every namespace, every other tenant's included.",
						member, pathText(member, cur, parent), g.Binding),
					Fix: fmt.Sprintf("Replace ClusterRoleBinding %s with RoleBindings in the namespaces it is meant for (a RoleBinding may reference the same ClusterRole).", g.Binding.Name),
				}))
			}
			continue
		}
		other, isTenant := a.tenantOf[ns]
		switch {
		case isTenant && a.isMember(member, other):
			if direct {
				a.cell(a.tenants[other].Name, ns, g, member, cur, false)
			}
			continue
		case !isTenant:
			for _, t := range homes {
				a.cell(a.tenants[t].Name, ns, g, member, cur, false)
			}
			a.outsideTenant(member, cur, g, parent)
			continue
		}
		for _, t := range homes {
			a.cell(a.tenants[t].Name, ns, g, member, cur, true)
		}
		a.add(reached(member, cur, parent, Finding{
			Rule: "cross-tenant-access", Pattern: 1, Severity: Critical, Tenant: home.Name, Subject: member.String(), Namespace: ns,
			Objects: append(pathObjects(member, cur, parent), g.Binding.String()),
			Message: fmt.Sprintf("%s of tenant %s%s has rights in namespace %s of tenant %s through %s.",
				member, home.Name, pathText(member, cur, parent), ns, a.tenants[other].Name, g.Binding),
			Fix: crossFix(g, cur, member, parent),
		}))
	}
}

// becomesSuperuser reports a path to the system:masters group.
func (a *auditor) becomesSuperuser(member access.Subject, e edge, parent map[access.Subject]step) {
	home := a.tenants[a.memberOf[member][0]]
	a.add(reached(member, parent[e.to].from, parent, Finding{
		Rule: "impersonate", Pattern: 9, Severity: Critical, Tenant: home.Name, Subject: member.String(),
		Objects: bindingStrings(e.via),
		Message: fmt.Sprintf("%s%s can impersonate group %s, which RBAC never limits: it is cluster-admin.",
			member, pathText(member, parent[e.to].from, parent), superuser),
		Fix: fmt.Sprintf("%s: remove %s from the impersonate rule's resourceNames.", rolesOf(e.via), superuser),
	}))
}

func (a *auditor) isMember(s access.Subject, t int) bool {
	return a.membership[membership{s, t}]
}

// pathText spells how member reaches cur: " (acting as X: creates pods …)".
func pathText(member, cur access.Subject, parent map[access.Subject]step) string {
	if cur == member {
		return ""
	}
	var hops []string
	for at := cur; at != member; {
		st := parent[at]
		hops = append([]string{fmt.Sprintf("%s %s (pattern %d, %s)", st.edge.how(), at, st.edge.pattern, bindingStrings(st.edge.via)[0])}, hops...)
		at = st.from
	}
	return ", which " + strings.Join(hops, ", which ") + ","
}

// pathObjects lists the bindings along the path from member to cur, first
// hop first.
func pathObjects(member, cur access.Subject, parent map[access.Subject]step) []string {
	var out []string
	for at := cur; at != member; at = parent[at].from {
		out = append(bindingStrings(parent[at].edge.via[:1]), out...)
	}
	return out
}

func crossFix(g access.Grant, cur, member access.Subject, parent map[access.Subject]step) string {
	if cur != member {
		st := parent[cur]
		return fmt.Sprintf("Remove %s's access to %s, or the right that lets it act as %s (%s).", cur, g.Namespace, cur, bindingStrings(st.edge.via)[0])
	}
	return fmt.Sprintf("Remove %s from %s (kubectl edit -n %s rolebinding %s), unless the tenants are meant to share.",
		cur, g.Binding, g.Namespace, g.Binding.Name)
}

// escalation reports an edge inside the tenant to a ServiceAccount that
// holds rights s lacks (compared right by right over the known resources,
// so an admin acting as an edit ServiceAccount gains nothing).
func (a *auditor) escalation(t Tenant, s access.Subject, e edge) {
	if e.to == s {
		return
	}
	var more []string
	for _, g := range a.subjectGrants(e.to) {
		if !a.covers(s, g, e.to.Namespace) {
			more = append(more, g.Binding.String())
		}
	}
	if len(more) == 0 {
		return
	}
	a.add(a.actsAsFinding(t.Name, &cause{member: s, to: e.to, edge: e}, more))
}

// covers reports whether s's grants allow everything g allows in ns, over the
// resources the engine knows (non-resource URLs are cluster-wide and judged
// by the cluster checks). Answers are memoised by the rule lists involved:
// tenants rendered from one template ask the same question thousands of times.
func (a *auditor) covers(s access.Subject, g access.Grant, ns string) bool {
	where := g.Namespace
	if where == "" {
		where = ns
	}
	grants := a.grantsIn(s, where) // s's grants where the target's apply
	for _, h := range grants {
		if h.RuleSet == g.RuleSet && (h.Namespace == "" || h.Namespace == where) {
			return true // the same rules
		}
	}
	key := strconv.AppendInt(make([]byte, 0, 64), int64(g.RuleSet), 10)
	var applying []access.Grant
	for _, h := range grants {
		if h.Namespace == "" || h.Namespace == where {
			applying = append(applying, h)
			key = strconv.AppendInt(append(key, ','), int64(h.RuleSet), 10)
		}
	}
	if v, ok := a.coverMemo[string(key)]; ok {
		return v
	}
	v := a.coversNow(applying, g, where)
	a.coverMemo[string(key)] = v
	return v
}

func (a *auditor) coversNow(grants []access.Grant, g access.Grant, where string) bool {
	for _, c := range a.expand(g) {
		if !c.Resource.Namespaced {
			continue
		}
		names := c.Names
		if len(names) == 0 {
			names = []string{""}
		}
		for _, v := range c.Verbs {
			for _, n := range names {
				attrs := access.Attributes{Verb: v, Group: c.Resource.Group, Resource: c.Resource.Resource,
					Subresource: c.Resource.Subresource, Name: n, Namespace: where}
				if len(a.allows(grants, noMemo, attrs)) == 0 {
					return false
				}
			}
		}
	}
	return true
}

// expand is Engine.Expand of every rule of g, once per rule list.
func (a *auditor) expand(g access.Grant) []access.Coverage {
	if c, ok := a.expanded[g.RuleSet]; ok {
		return c
	}
	var out []access.Coverage
	for _, r := range g.Rules {
		out = append(out, a.eng.Expand(r)...)
	}
	a.expanded[g.RuleSet] = out
	return out
}

// sharedMembers reports users and groups that are members of several
// tenants: legitimate for a shared team member, worth a look otherwise.
func (a *auditor) sharedMembers() {
	for s, ts := range a.memberOf {
		if len(ts) < 2 || s.Kind == rbacv1.ServiceAccountKind {
			continue
		}
		names := make([]string, len(ts))
		for i, t := range ts {
			names[i] = a.tenants[t].Name
		}
		a.add(Finding{
			Rule: "shared-member", Pattern: 1, Severity: Low, Tenant: names[0], Subject: s.String(),
			Message: fmt.Sprintf("%s is a member of %d tenants (%s): it can carry data between them.", s, len(ts), Abbreviate(names, 5)),
			Fix:     "Nothing, if the person works in all of them; otherwise remove the extra RoleBindings.",
		})
	}
}

// namespacedRules reports whether a grant covers any namespaced resource
// (what a ClusterRoleBinding must not give a tenant).
func (a *auditor) namespacedRules(g access.Grant) bool {
	key := memoKey{g.RuleSet, checkNamespaced}
	if v, ok := a.memo[key]; ok {
		return v
	}
	v := false
	for _, c := range a.expand(g) {
		// bind and escalate on roles do nothing without a role or binding
		// write, which is then the namespaced right that counts.
		if c.Resource.Namespaced && slices.ContainsFunc(c.Verbs, func(v string) bool { return v != "bind" && v != "escalate" }) {
			v = true
			break
		}
	}
	// A resource the engine does not know (a CRD, read offline) may well be
	// namespaced: assume it is rather than miss a cluster-wide grant.
	for _, r := range g.Rules {
		for _, group := range r.APIGroups {
			for _, res := range r.Resources {
				if _, known := a.scopes[group+"/"+strings.SplitN(res, "/", 2)[0]]; !known && res != "*" && group != "*" {
					v = true
				}
			}
		}
	}
	a.memo[key] = v
	return v
}

// outsideTenant reports rights a tenant subject holds (or reaches) in a
// namespace no tenant owns: kube-system and the platform's namespaces.
func (a *auditor) outsideTenant(member, cur access.Subject, g access.Grant, parent map[access.Subject]step) {
	lvl := a.level(g)
	sev := Medium
	switch {
	case SystemNamespace(g.Namespace) && lvl != LevelRead:
		sev = Critical
	case SystemNamespace(g.Namespace), lvl != LevelRead:
		sev = High
	}
	home := a.tenants[a.memberOf[member][0]]
	a.add(reached(member, cur, parent, Finding{
		Rule: "outside-tenant", Pattern: 1, Severity: sev, Tenant: home.Name, Subject: member.String(), Namespace: g.Namespace,
		Objects: append(pathObjects(member, cur, parent), g.Binding.String()),
		Message: fmt.Sprintf("%s of tenant %s%s holds %s rights in namespace %s, which belongs to no tenant, through %s.",
			member, home.Name, pathText(member, cur, parent), lvl, g.Namespace, g.Binding),
		Fix: fmt.Sprintf("Remove %s from %s unless the platform means it (kubectl edit -n %s rolebinding %s).",
			cur, g.Binding, g.Namespace, g.Binding.Name),
	}))
}
