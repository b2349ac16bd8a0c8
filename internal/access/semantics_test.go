package access

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// semanticsWorld is small and hand-made: each binding exists for one or two
// of the questions below.
func semanticsWorld() *Snapshot {
	return &Snapshot{
		Roles: []rbacv1.Role{
			role("team-a", "exec", res("create,get", "", "pods/exec")),
			role("team-a", "pods", res("get,list", "", "pods")),
			role("team-a", "named", res("get,list,watch,update", "", "configmaps", "settings")),
			role("team-b", "only-in-b", res("delete", "", "secrets")),
		},
		ClusterRoles: []rbacv1.ClusterRole{
			clusterRole("scaler", res("get,update", "*", "*/scale")),
			clusterRole("any-group-deployments", res("list", "*", "deployments")),
			clusterRole("core-deployments", res("list", "", "deployments")),
			clusterRole("secret-reader", res("get", "", "secrets")),
			clusterRole("health", url("get", "/healthz/*,/logs*")),
			clusterRole("star-verbs", res("*", "rbac.authorization.k8s.io", "roles")),
			clusterRole("everything", res("get", "*", "*")),
			aggregating(clusterRole("aggregate", res("delete", "", "nodes")), "example.com/aggregate-to-a", "true"),
			labelled(clusterRole("part", res("get", "", "events")), "example.com/aggregate-to-a", "true"),
		},
		RoleBindings: []rbacv1.RoleBinding{
			roleBinding("team-a", "exec", "Role", "exec", userSubject("exec-user")),
			roleBinding("team-a", "pods", "Role", "pods", userSubject("alice")),
			roleBinding("team-a", "named", "Role", "named", userSubject("alice")),
			roleBinding("team-a", "secret-reader", "ClusterRole", "secret-reader", userSubject("bob")),
			roleBinding("team-a", "sa-default", "ClusterRole", "scaler", saSubject("", "builder")),
			roleBinding("team-a", "sa-foreign", "Role", "pods", saSubject("team-b", "visitor")),
			roleBinding("team-a", "all-sas", "ClusterRole", "core-deployments", groupSubject("system:serviceaccounts:team-a")),
			roleBinding("team-a", "wrong-ns-role", "Role", "only-in-b", userSubject("carol")),
			roleBinding("team-a", "dangling", "Role", "ghost", userSubject("dave")),
			roleBinding("team-a", "health-in-ns", "ClusterRole", "health", userSubject("erin")),
			roleBinding("team-a", "fake-sa", "Role", "pods", userSubject("system:serviceaccount:team-a:impostor")),
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			clusterRoleBinding("any-group", "any-group-deployments", groupSubject("deployers")),
			clusterRoleBinding("health", "health", userSubject("prober")),
			clusterRoleBinding("star-verbs", "star-verbs", userSubject("rbac-admin")),
			clusterRoleBinding("authenticated", "everything", groupSubject("system:authenticated")),
			clusterRoleBinding("sa-no-ns", "secret-reader", saSubject("", "builder")),
			clusterRoleBinding("aggregate", "aggregate", userSubject("agg-user")),
		},
	}
}

func TestSemantics(t *testing.T) {
	snap := semanticsWorld()
	e := New(snap)
	ref := newReference(snap)
	raw := func(name string, groups ...string) UserInfo { return UserInfo{Name: name, Groups: groups} }
	tests := []struct {
		name string
		user UserInfo
		ask  Attributes
		want bool
	}{
		{"pods/exec grants the subresource", raw("exec-user"), ask("create", "", "pods/exec", "web", "team-a"), true},
		{"pods/exec is not a pod named exec", raw("exec-user"), ask("get", "", "pods", "exec", "team-a"), false},
		{"pods does not grant pods/exec", raw("alice"), ask("get", "", "pods/exec", "web", "team-a"), false},
		{"a Role counts in its namespace", raw("alice"), ask("list", "", "pods", "", "team-a"), true},
		{"a grant in one namespace does not count in another", raw("alice"), ask("list", "", "pods", "", "team-b"), false},
		{"a RoleBinding grants nothing cluster-wide", raw("alice"), ask("list", "", "pods", "", ""), false},
		{"RoleBinding to a ClusterRole: its namespace", raw("bob"), ask("get", "", "secrets", "s", "team-a"), true},
		{"RoleBinding to a ClusterRole: not elsewhere", raw("bob"), ask("get", "", "secrets", "s", "team-b"), false},
		{"*/scale matches deployments/scale", raw("system:serviceaccount:team-a:builder"), ask("update", "apps", "deployments/scale", "web", "team-a"), true},
		{"*/scale matches any group's scale", raw("system:serviceaccount:team-a:builder"), ask("get", "", "replicationcontrollers/scale", "rc", "team-a"), true},
		{"*/scale is not the parent resource", raw("system:serviceaccount:team-a:builder"), ask("update", "apps", "deployments", "web", "team-a"), false},
		{"*/scale is not a resource named scale", raw("system:serviceaccount:team-a:builder"), ask("get", "", "scale", "", "team-a"), false},
		{"resourceNames: the named object", raw("alice"), ask("get", "", "configmaps", "settings", "team-a"), true},
		{"resourceNames: another object", raw("alice"), ask("get", "", "configmaps", "other", "team-a"), false},
		{"resourceNames never match list (no name)", raw("alice"), ask("list", "", "configmaps", "", "team-a"), false},
		{"resourceNames match watch of one object", raw("alice"), ask("watch", "", "configmaps", "settings", "team-a"), true},
		{"nonResourceURL /healthz/* covers /healthz/etcd", raw("prober"), askURL("get", "/healthz/etcd"), true},
		{"nonResourceURL /healthz/* does not cover /healthz", raw("prober"), askURL("get", "/healthz"), false},
		{"nonResourceURL /logs* is a plain prefix", raw("prober"), askURL("get", "/logsfoo"), true},
		{"nonResourceURL: other verbs", raw("prober"), askURL("post", "/healthz/etcd"), false},
		{"non-resource rules via a RoleBinding never count", raw("erin"), Attributes{Verb: "get", NonResourceURL: "/healthz/x", Namespace: "team-a"}, false},
		{"group * matches apps", raw("d", "deployers"), ask("list", "apps", "deployments", "", "x"), true},
		{"group * matches the core group", raw("d", "deployers"), ask("list", "", "deployments", "", ""), true},
		{"group \"\" is only the core group", raw("system:serviceaccount:team-a:x", "system:serviceaccounts:team-a"), ask("list", "apps", "deployments", "", "team-a"), false},
		{"group system:serviceaccounts:<ns> covers its SAs", ServiceAccountUser("team-a", "x"), ask("list", "", "deployments", "", "team-a"), true},
		{"... but not other namespaces' SAs", ServiceAccountUser("team-b", "x"), ask("list", "", "deployments", "", "team-a"), false},
		{"SA subject without namespace: the binding's", raw("system:serviceaccount:team-a:builder"), ask("get", "apps", "deployments/scale", "", "team-a"), true},
		{"SA subject without namespace: not another's", raw("system:serviceaccount:team-b:builder"), ask("get", "apps", "deployments/scale", "", "team-a"), false},
		{"SA subject without namespace in a ClusterRoleBinding: nobody", raw("system:serviceaccount:team-a:builder"), ask("get", "", "secrets", "", "team-a"), false},
		{"SA from another namespace bound here", raw("system:serviceaccount:team-b:visitor"), ask("get", "", "pods", "p", "team-a"), true},
		{"a User named like an SA matches its token", ServiceAccountUser("team-a", "impostor"), ask("get", "", "pods", "p", "team-a"), true},
		{"Role looked up in the binding's namespace only", raw("carol"), ask("delete", "", "secrets", "s", "team-a"), false},
		{"a dangling roleRef grants nothing", raw("dave"), ask("get", "", "pods", "p", "team-a"), false},
		{"verb * covers escalate", raw("rbac-admin"), ask("escalate", "rbac.authorization.k8s.io", "roles", "r", "ns"), true},
		{"verb * does not widen resources", raw("rbac-admin"), ask("escalate", "rbac.authorization.k8s.io", "clusterroles", "r", ""), false},
		{"resource * covers subresources", raw("x", "system:authenticated"), ask("get", "", "pods/log", "p", "team-b"), true},
		{"no implicit system:authenticated", raw("x"), ask("get", "", "pods", "p", "team-b"), false},
		{"User() adds system:authenticated", User("x"), ask("get", "", "pods", "p", "team-b"), true},
		{"aggregation: the selected role's rules", raw("agg-user"), ask("get", "", "events", "", ""), true},
		{"aggregation: stored rules are replaced", raw("agg-user"), ask("delete", "", "nodes", "n", ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.Allowed(tt.user, tt.ask); got != tt.want {
				t.Errorf("Allowed(%+v, %s) = %v, want %v", tt.user, tt.ask, got, tt.want)
			}
			if got := ref.allowed(tt.user, tt.ask); got != tt.want {
				t.Errorf("reference evaluator says %v, want %v: the test case is wrong", got, tt.want)
			}
		})
	}
}
