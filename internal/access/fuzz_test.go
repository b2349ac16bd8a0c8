package access

import (
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// FuzzAllowed feeds odd rules and requests (empty lists, "*/", "**", names
// with slashes, users named like ServiceAccounts) through every query. The
// engine must not panic and must agree with the reference evaluator.
// Seeds live in testdata/fuzz/FuzzAllowed.
func FuzzAllowed(f *testing.F) {
	f.Add("get,*", "*", "pods/exec,*/scale", "", "/healthz/*", "get", "", "pods", "exec", "", "ns", "", "u", "g")
	f.Fuzz(func(t *testing.T, verbs, groups, resources, names, urls, verb, group, resource, sub, name, ns, path, user, grp string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		rule := rbacv1.PolicyRule{Verbs: split(verbs), APIGroups: split(groups), Resources: split(resources),
			ResourceNames: split(names), NonResourceURLs: split(urls)}
		snap := &Snapshot{
			Roles: []rbacv1.Role{role("ns", "fuzz", rule)},
			ClusterRoles: []rbacv1.ClusterRole{
				labelled(clusterRole("fuzz", rule), "l", "1"),
				aggregating(clusterRole("agg"), "l", "1"),
			},
			RoleBindings: []rbacv1.RoleBinding{
				roleBinding("ns", "to-group", "Role", "fuzz", groupSubject(grp)),
				roleBinding("ns", "to-sa", "ClusterRole", "fuzz", saSubject("", user)),
				roleBinding(ns, "anywhere", "ClusterRole", "agg", userSubject(user)),
			},
			ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
				clusterRoleBinding("to-user", "fuzz", userSubject(user), rbacv1.Subject{Kind: "Robot", Name: user}),
			},
		}
		e := New(snap)
		ref := newReference(snap)
		u := UserInfo{Name: user, Groups: []string{grp}}
		for _, a := range []Attributes{
			{Verb: verb, Group: group, Resource: resource, Subresource: sub, Name: name, Namespace: ns},
			{Verb: verb, NonResourceURL: path},
		} {
			for _, who := range []UserInfo{u, ServiceAccountUser("ns", user), {Name: "system:serviceaccount:ns:" + user}} {
				if got, want := e.Allowed(who, a), ref.allowed(who, a); got != want {
					t.Fatalf("Allowed(%+v, %+v) = %v, reference %v (rule %+v)", who, a, got, want, rule)
				}
			}
			holders := e.WhoCan(a)
			for _, h := range holders {
				if !ref.allowed(h.Subject.Identity(), a) {
					t.Fatalf("WhoCan(%+v) lists %v, which the reference denies", a, h.Subject)
				}
			}
			for _, who := range []UserInfo{u, ServiceAccountUser("ns", user)} {
				if e.Allowed(who, a) && !coveredBy(who, holders) {
					t.Fatalf("Allowed(%+v, %+v) but WhoCan lists no subject that is %+v: %v", who, a, who, holders)
				}
			}
			checkWildcards(t, e, rule, u, a)
		}
		if got, want := e.Rules(u, ns), ref.rulesFor(u, ns); !sameRuleMultiset(got, want) {
			t.Fatalf("Rules = %v, reference %v", got, want)
		}
		for _, c := range e.Expand(rule) {
			if len(c.Verbs) == 0 {
				t.Fatalf("Expand listed %v with no verbs", c.Resource)
			}
		}
		for _, s := range e.Subjects() {
			_ = e.Grants(s)
		}
	})
}

// coveredBy reports whether one of holders is who: its user name, one of
// its groups, or the ServiceAccount it is.
func coveredBy(who UserInfo, holders []Holder) bool {
	for _, h := range holders {
		id := h.Subject.Identity()
		if h.Subject.Kind == rbacv1.GroupKind && slices.Contains(who.Groups, h.Subject.Name) ||
			h.Subject.Kind != rbacv1.GroupKind && id.Name == who.Name {
			return true
		}
	}
	return false
}

// checkWildcards holds the engine to what a wildcard in the only rule of
// the snapshot means: the field it covers cannot change the answer ("*"
// verbs allow every verb, "*" groups every group, "*" resources every
// resource and subresource, no resourceNames every name).
func checkWildcards(t *testing.T, e *Engine, rule rbacv1.PolicyRule, u UserInfo, a Attributes) {
	t.Helper()
	want := e.Allowed(u, a)
	vary := func(what string, b Attributes) {
		if got := e.Allowed(u, b); got != want {
			t.Fatalf("rule %+v: Allowed(%+v) = %v but Allowed(%+v) = %v, though %s cannot matter", rule, a, want, b, got, what)
		}
	}
	if slices.Contains(rule.Verbs, rbacv1.VerbAll) {
		b := a
		b.Verb = "fuzz-some-verb"
		vary("the verb", b)
	}
	if !a.IsResourceRequest() {
		return
	}
	if slices.Contains(rule.APIGroups, rbacv1.APIGroupAll) {
		b := a
		b.Group = "fuzz.example.com"
		vary("the group", b)
	}
	if slices.Contains(rule.Resources, rbacv1.ResourceAll) {
		b := a
		b.Resource, b.Subresource = "fuzzthings", "fuzzsub"
		vary("the resource", b)
	}
	if len(rule.ResourceNames) == 0 {
		b := a
		b.Name = "fuzz-some-name"
		vary("the name", b)
	}
}
