package access

import (
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// namespacedClusterWorld: RoleBindings in ns "t" that grant on cluster-scoped
// resource names, as the API server's bind and escalate checks ask them.
func namespacedClusterWorld() *Snapshot {
	return &Snapshot{
		ClusterRoles: []rbacv1.ClusterRole{
			clusterRole("admin", res("*", "*", "*"), url("*", "*")),
			clusterRole("bind-admin", res("bind", "rbac.authorization.k8s.io", "clusterroles", "admin")),
			clusterRole("bind-view", res("bind", "rbac.authorization.k8s.io", "clusterroles", "view")),
			clusterRole("escalate-all", res("escalate", "rbac.authorization.k8s.io", "clusterroles,roles")),
			clusterRole("bind-wrong-group", res("bind", "", "clusterroles", "admin")),
			clusterRole("custom", res("frobnicate", "example.com", "widgets"), res("get", "example.com", "gadgets"), url("get,post", "/metrics,/logs/*")),
		},
		RoleBindings: []rbacv1.RoleBinding{
			roleBinding("t", "binder", "ClusterRole", "bind-admin", saSubject("t", "binder")),
			roleBinding("t", "viewbinder", "ClusterRole", "bind-view", saSubject("t", "viewbinder")),
			roleBinding("t", "escalator", "ClusterRole", "escalate-all", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "esc"}),
			roleBinding("t", "wrong-group", "ClusterRole", "bind-wrong-group", saSubject("t", "wrong")),
			roleBinding("t", "custom", "ClusterRole", "custom", rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "devs"}),
			roleBinding("u", "binder", "ClusterRole", "bind-admin", saSubject("u", "binder")),
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			clusterRoleBinding("root", "admin", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "root"}),
		},
	}
}

func holderArgs(hs []Holder) []string {
	var out []string
	for _, h := range hs {
		out = append(out, SubjectArg(h.Subject))
	}
	return out
}

// A namespace on a cluster-scoped resource is kept: "bind clusterroles admin
// in t" is what the API server asks when a RoleBinding in t is written.
func TestWhoCanClusterScopedResourceInANamespace(t *testing.T) {
	e := New(namespacedClusterWorld())
	cases := []struct {
		name string
		a    Attributes
		want []string
	}{
		{"bind admin in t", ask("bind", "rbac.authorization.k8s.io", "clusterroles", "admin", "t"),
			[]string{"system:serviceaccount:t:binder", "user:root"}},
		{"near miss: bind admin at cluster scope (RoleBindings do not count)", ask("bind", "rbac.authorization.k8s.io", "clusterroles", "admin", ""),
			[]string{"user:root"}},
		{"near miss: bind admin in another namespace", ask("bind", "rbac.authorization.k8s.io", "clusterroles", "admin", "u"),
			[]string{"system:serviceaccount:u:binder", "user:root"}},
		{"near miss: bind edit in t (resourceNames)", ask("bind", "rbac.authorization.k8s.io", "clusterroles", "edit", "t"),
			[]string{"user:root"}},
		{"escalate in t", ask("escalate", "rbac.authorization.k8s.io", "clusterroles", "admin", "t"),
			[]string{"user:esc", "user:root"}},
		{"near miss: escalate at cluster scope", ask("escalate", "rbac.authorization.k8s.io", "clusterroles", "admin", ""),
			[]string{"user:root"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := holderArgs(e.WhoCan(c.a))
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("WhoCan(%s) = %v, want %v", c.a, got, c.want)
			}
		})
	}
}

func TestWhoCanAnyNamespace(t *testing.T) {
	e := New(namespacedClusterWorld())
	got := holderArgs(e.WhoCanAnyNamespace(ask("bind", "rbac.authorization.k8s.io", "clusterroles", "admin", "ignored")))
	want := []string{"system:serviceaccount:t:binder", "system:serviceaccount:u:binder", "user:root"}
	if !slices.Equal(got, want) {
		t.Errorf("WhoCanAnyNamespace = %v, want %v", got, want)
	}
	// Near miss: the view binder may bind view only, in any namespace.
	got = holderArgs(e.WhoCanAnyNamespace(ask("bind", "rbac.authorization.k8s.io", "clusterroles", "edit", "")))
	if !slices.Equal(got, []string{"user:root"}) {
		t.Errorf("WhoCanAnyNamespace(bind edit) = %v, want only user:root", got)
	}
	// Non-resource requests carry no namespace: RoleBindings never grant them.
	got = holderArgs(e.WhoCanAnyNamespace(askURL("get", "/metrics")))
	if !slices.Equal(got, []string{"user:root"}) {
		t.Errorf("WhoCanAnyNamespace(get /metrics) = %v, want only user:root", got)
	}
}

// SubjectArg must give back what ParseSubject reads, for every kind.
func TestSubjectArgRoundTrips(t *testing.T) {
	for _, s := range []Subject{
		{Kind: rbacv1.ServiceAccountKind, Namespace: "team-a", Name: "deployer"},
		{Kind: rbacv1.UserKind, Name: "alice@example.com"},
		{Kind: rbacv1.UserKind, Name: "system:kube-scheduler"},
		{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts:team-a"},
	} {
		got, _, err := ParseSubject(SubjectArg(s))
		if err != nil || got != s {
			t.Errorf("ParseSubject(SubjectArg(%v) = %q) = %v, %v", s, SubjectArg(s), got, err)
		}
	}
}

func matrixRow(m Matrix, group, name string) (MatrixRow, bool) {
	for _, r := range m.Rows {
		if r.Resource.Group == group && r.Resource.Name() == name && !r.Self {
			return r, true
		}
	}
	return MatrixRow{}, false
}

func TestMatrixShowsAuthorizationVerbsCustomResourcesAndURLs(t *testing.T) {
	snap := namespacedClusterWorld()
	e := New(snap)

	m := e.Matrix(ServiceAccountUser("t", "binder"), "t")
	r, ok := matrixRow(m, "rbac.authorization.k8s.io", "clusterroles")
	if !ok || r.Allowed["bind"] || !slices.Equal(r.Named["bind"], []string{"admin"}) || len(r.Named) != 1 {
		t.Errorf("binder in t: clusterroles row %+v (found %v), want bind on admin only", r, ok)
	}
	if m := e.Matrix(ServiceAccountUser("t", "binder"), "u"); len(m.Rows) != 0 {
		t.Errorf("near miss: binder of t has rows in u: %+v", m.Rows)
	}
	m = e.Matrix(User("esc"), "t")
	if r, ok := matrixRow(m, "rbac.authorization.k8s.io", "roles"); !ok || !r.Allowed["escalate"] || !slices.Equal(r.Other(), []string{"escalate"}) {
		t.Errorf("esc in t: roles row %+v (found %v), want escalate under Other", r, ok)
	}

	m = e.Matrix(User("dev", "devs"), "t")
	if r, ok := matrixRow(m, "example.com", "widgets"); !ok || !r.FromRules || !r.Allowed["frobnicate"] || !slices.Equal(r.Other(), []string{"frobnicate"}) {
		t.Errorf("dev in t: widgets row %+v (found %v), want custom verb frobnicate, from rules", r, ok)
	}
	if r, ok := matrixRow(m, "example.com", "gadgets"); !ok || !r.Allowed["get"] || r.Allowed["list"] {
		t.Errorf("dev in t: gadgets row %+v (found %v), want get only", r, ok)
	}
	var urls []string
	for _, u := range m.NonResource {
		urls = append(urls, u.URL)
	}
	// RoleBindings never grant URLs: the matrix asks, and the answer is no.
	if slices.Contains(urls, "/metrics") {
		t.Errorf("dev in t: non-resource %v, a RoleBinding cannot grant /metrics", m.NonResource)
	}
	if m := e.Matrix(User("dev", "devs"), "u"); len(m.Rows) != 0 {
		t.Errorf("near miss: dev has rows in u: %+v", m.Rows)
	}

	// A CRD in the resource list: a known resource, not FromRules.
	snap.Resources = append(StandardResources(), APIResource{Group: "example.com", Resource: "gadgets", Namespaced: true, Verbs: MatrixVerbs()})
	snap.ClusterRoleBindings = append(snap.ClusterRoleBindings, clusterRoleBinding("devs-custom", "custom", rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "devs"}))
	m = New(snap).Matrix(User("dev", "devs"), "t")
	if r, ok := matrixRow(m, "example.com", "gadgets"); !ok || r.FromRules {
		t.Errorf("gadgets with a definition: %+v (found %v), want a known resource", r, ok)
	}
	if len(m.NonResource) != 2 || m.NonResource[0].URL != "/logs/*" || !slices.Equal(m.NonResource[1].Allowed, []string{"get", "post"}) {
		t.Errorf("bound cluster-wide, non-resource rows = %+v, want /logs/* and /metrics with get,post", m.NonResource)
	}
}
