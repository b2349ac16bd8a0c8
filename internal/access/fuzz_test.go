package access

import (
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
			for _, h := range e.WhoCan(a) {
				if !ref.allowed(h.Subject.Identity(), a) {
					t.Fatalf("WhoCan(%+v) lists %v, which the reference denies", a, h.Subject)
				}
			}
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
