package access

import (
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
)

// indexSubjects builds the auditor's view: for every subject, the bindings
// naming it. The authorization path never reads it.
func (e *Engine) indexSubjects() {
	for id := range e.bindings {
		for si, s := range e.bindings[id].subjects {
			refs := e.subjects[s]
			if n := len(refs); n > 0 && refs[n-1].binding == int32(id) {
				continue // named twice in one binding
			}
			e.subjects[s] = append(refs, grantRef{binding: int32(id), subject: int32(si)})
		}
	}
}

// sortedSubjects lists the subjects once, on first use: an audit never
// asks, and sorting tens of thousands of them costs it time.
func (e *Engine) sortedSubjects() []Subject {
	e.subjectOnce.Do(func() {
		e.subjectList = make([]Subject, 0, len(e.subjects))
		for s := range e.subjects {
			e.subjectList = append(e.subjectList, s)
		}
		sort.Slice(e.subjectList, func(i, j int) bool { return subjectLess(e.subjectList[i], e.subjectList[j]) })
	})
	return e.subjectList
}

// Subjects lists every subject named by any binding, sorted by kind,
// namespace and name, including inert ones (see Grant.Inert). The slice is
// fresh.
func (e *Engine) Subjects() []Subject {
	return append([]Subject(nil), e.sortedSubjects()...)
}

// Grants lists the bindings that name s, in snapshot order
// (ClusterRoleBindings first). s must be spelled as Subjects spells it: a
// RoleBinding's namespace-less ServiceAccount appears with the binding's
// namespace. Group memberships are not followed; ask Rules for a user's
// effective rights.
func (e *Engine) Grants(s Subject) []Grant {
	refs := e.subjects[s]
	out := make([]Grant, 0, len(refs))
	for _, r := range refs {
		b := &e.bindings[r.binding]
		g := Grant{
			Subject:     b.subjects[r.subject],
			Binding:     b.ref,
			Namespace:   b.ref.Namespace,
			RoleMissing: b.ruleSet < 0,
			Inert:       b.inert || !active(b.subjects[r.subject]),
			RuleSet:     b.ruleSet,
		}
		if b.ruleSet >= 0 {
			g.Rules = e.ruleSets[b.ruleSet].rules
		}
		out = append(out, g)
	}
	return out
}

// RoleRules returns the rules a roleRef resolves to from a binding in
// namespace ("" for a ClusterRoleBinding), aggregation resolved, and
// whether the role exists. The rules are shared: do not modify them.
func (e *Engine) RoleRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, bool) {
	var id int32
	var ok bool
	switch ref.Kind {
	case "ClusterRole":
		id, ok = e.clusterRoles[ref.Name]
	case "Role":
		if namespace != "" {
			id, ok = e.roles[nsName{namespace, ref.Name}]
		}
	}
	if !ok {
		return nil, false
	}
	return e.ruleSets[id].rules, true
}

// Warnings lists what makes bindings grant nothing: dangling roleRefs,
// unsupported kinds, RoleBindings without namespace, aggregation selectors
// the controller rejects. The API server silently ignores the same things.
func (e *Engine) Warnings() []string {
	return append([]string(nil), e.warnings...)
}

// Stats counts what New built, for sizing and benchmarks.
type Stats struct {
	Bindings, RuleSets, Subjects, Namespaces int
}

// Stats reports the engine's size.
func (e *Engine) Stats() Stats {
	return Stats{
		Bindings:   len(e.bindings),
		RuleSets:   len(e.ruleSets),
		Subjects:   len(e.subjects),
		Namespaces: len(e.namespaced),
	}
}

// RuleSetAllows reports whether the rule list id (Grant.RuleSet) allows the
// request, ignoring who asks and where: the question a binding answers once
// it applies. An id of -1 allows nothing.
func (e *Engine) RuleSetAllows(id int32, attrs Attributes) bool {
	if id < 0 || int(id) >= len(e.ruleSets) {
		return false
	}
	req := newRequest(attrs)
	return e.ruleSets[id].allows(&req)
}

// RuleSetMayAllow is RuleSetAllows for some object name: resourceNames are
// ignored. It tells an auditor whether asking per object is worth it.
func (e *Engine) RuleSetMayAllow(id int32, attrs Attributes) bool {
	if id < 0 || int(id) >= len(e.ruleSets) {
		return false
	}
	req := newRequest(attrs)
	req.anyName = true
	return e.ruleSets[id].allows(&req)
}
