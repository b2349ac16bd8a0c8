package access

import (
	"slices"
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Allowed reports whether RBAC allows the request: the decision of the API
// server's RBAC authorizer (allowed, or no opinion) for the same user,
// groups and attributes. ClusterRoleBindings count everywhere; RoleBindings
// only in their own namespace.
func (e *Engine) Allowed(user UserInfo, attrs Attributes) bool {
	req := newRequest(attrs)
	if e.allowedIn(&e.cluster, user, &req) {
		return true
	}
	if req.ns == "" {
		return false
	}
	ix := e.namespaced[req.ns]
	return ix != nil && e.allowedIn(ix, user, &req)
}

func (e *Engine) allowedIn(ix *subjectIndex, user UserInfo, req *request) bool {
	if e.anyAllows(ix.users[user.Name], req) {
		return true
	}
	if len(ix.groups) == 0 {
		return false
	}
	for _, g := range user.Groups {
		if e.anyAllows(ix.groups[g], req) {
			return true
		}
	}
	return false
}

func (e *Engine) anyAllows(ids []int32, req *request) bool {
	for _, id := range ids {
		if rs := e.bindings[id].ruleSet; rs >= 0 && e.ruleSets[rs].allows(req) {
			return true
		}
	}
	return false
}

// Rules returns the rules that apply to user in namespace, as
// SelfSubjectRulesReview lists them: those of every ClusterRoleBinding that
// names the user or one of its groups, then those of the namespace's
// RoleBindings. A role bound twice is listed twice, as upstream does.
// Namespace "" gives the cluster-wide rules only. The result is fresh; the
// rules inside share slices with the engine and must not be modified.
func (e *Engine) Rules(user UserInfo, namespace string) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	out = e.appendRules(out, &e.cluster, user)
	if ix := e.namespaced[namespace]; namespace != "" && ix != nil {
		out = e.appendRules(out, ix, user)
	}
	return out
}

func (e *Engine) appendRules(out []rbacv1.PolicyRule, ix *subjectIndex, user UserInfo) []rbacv1.PolicyRule {
	ids := slices.Clone(ix.users[user.Name])
	for _, g := range user.Groups {
		ids = append(ids, ix.groups[g]...)
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if rs := e.bindings[id].ruleSet; rs >= 0 {
			out = append(out, e.ruleSets[rs].rules...)
		}
	}
	return out
}

// WhoCan returns every subject some binding grants the request to, with
// those bindings, sorted by kind, namespace and name. It reads the
// ClusterRoleBindings and the asked namespace's RoleBindings only, and
// evaluates each distinct rule set at most once.
//
// The answer names subjects as bound: a Group holder means every member of
// the group, and a ServiceAccount also holds what its groups
// (system:serviceaccounts, system:serviceaccounts:<ns>) are granted.
func (e *Engine) WhoCan(attrs Attributes) []Holder {
	req := newRequest(attrs)
	w := whoCan{e: e, req: &req, verdict: make([]int8, len(e.ruleSets)), at: map[Subject]int{}}
	w.visit(e.cluster.all)
	if req.ns != "" {
		if ix := e.namespaced[req.ns]; ix != nil {
			w.visit(ix.all)
		}
	}
	sort.Slice(w.out, func(i, j int) bool { return subjectLess(w.out[i].Subject, w.out[j].Subject) })
	return w.out
}

type whoCan struct {
	e       *Engine
	req     *request
	verdict []int8 // per rule set: 0 not evaluated yet, 1 allows, -1 does not
	at      map[Subject]int
	out     []Holder
}

func (w *whoCan) visit(ids []int32) {
	for _, id := range ids {
		b := &w.e.bindings[id]
		if b.ruleSet < 0 || !w.allows(b.ruleSet) {
			continue
		}
		for _, s := range b.subjects {
			if !active(s) {
				continue
			}
			i, ok := w.at[s]
			if !ok {
				i = len(w.out)
				w.at[s] = i
				w.out = append(w.out, Holder{Subject: s})
			}
			if via := w.out[i].Via; len(via) > 0 && via[len(via)-1] == b.ref {
				continue // named twice in one binding
			}
			w.out[i].Via = append(w.out[i].Via, b.ref)
		}
	}
}

func (w *whoCan) allows(rs int32) bool {
	if v := w.verdict[rs]; v != 0 {
		return v > 0
	}
	ok := w.e.ruleSets[rs].allows(w.req)
	w.verdict[rs] = -1
	if ok {
		w.verdict[rs] = 1
	}
	return ok
}

func subjectLess(a, b Subject) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// Why lists the bindings that allow the request for user: the evidence
// behind a true Allowed, ClusterRoleBindings first. It is empty exactly when
// Allowed is false.
func (e *Engine) Why(user UserInfo, attrs Attributes) []BindingRef {
	req := newRequest(attrs)
	var out []BindingRef
	collect := func(ix *subjectIndex) {
		ids := slices.Clone(ix.users[user.Name])
		for _, g := range user.Groups {
			ids = append(ids, ix.groups[g]...)
		}
		slices.Sort(ids)
		for _, id := range slices.Compact(ids) {
			if rs := e.bindings[id].ruleSet; rs >= 0 && e.ruleSets[rs].allows(&req) {
				out = append(out, e.bindings[id].ref)
			}
		}
	}
	collect(&e.cluster)
	if req.ns != "" {
		if ix := e.namespaced[req.ns]; ix != nil {
			collect(ix)
		}
	}
	return out
}

// BindingNamespaces lists the namespaces that hold at least one RoleBinding.
func (e *Engine) BindingNamespaces() []string {
	out := make([]string, 0, len(e.namespaced))
	for ns := range e.namespaced {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}
