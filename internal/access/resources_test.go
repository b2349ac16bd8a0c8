package access

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStandardResources(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range StandardResources() {
		k := r.Group + "/" + r.Name()
		if seen[k] {
			t.Errorf("%s listed twice", k)
		}
		seen[k] = true
		if len(r.Verbs) == 0 {
			t.Errorf("%s has no verbs", k)
		}
	}
	for _, must := range []string{"/pods/exec", "/serviceaccounts/token", "/nodes/proxy", "apps/deployments/scale",
		"rbac.authorization.k8s.io/clusterroles", "certificates.k8s.io/certificatesigningrequests/approval", "/users"} {
		if !seen[must] {
			t.Errorf("%s missing", must)
		}
	}
}

func TestExpand(t *testing.T) {
	e := New(&Snapshot{})
	names := func(cov []Coverage) []string {
		var out []string
		for _, c := range cov {
			out = append(out, c.Resource.Group+"/"+c.Resource.Name())
		}
		return out
	}
	scale := e.Expand(res("get,update", "*", "*/scale"))
	want := []string{"apps/deployments/scale", "apps/replicasets/scale", "apps/statefulsets/scale", "/replicationcontrollers/scale"}
	if got := names(scale); !sameSet(got, want) {
		t.Errorf("Expand(*/scale) = %v, want %v", got, want)
	}
	// list is not a verb of pods/exec, so only create and get remain.
	exec := e.Expand(res("create,get,list", "", "pods/exec"))
	if len(exec) != 1 || !slices.Equal(exec[0].Verbs, []string{"create", "get"}) {
		t.Errorf("Expand(pods/exec) = %+v", exec)
	}
	all := e.Expand(res("*", "*", "*"))
	if len(all) != len(e.Resources()) {
		t.Errorf("Expand(*) covers %d of %d resources", len(all), len(e.Resources()))
	}
	if got := e.Expand(url("get", "/healthz")); got != nil {
		t.Errorf("non-resource rule expanded to %v", got)
	}
	imp := e.Expand(res("impersonate", "", "*"))
	if got := names(imp); !sameSet(got, []string{"/serviceaccounts", "/users", "/groups"}) {
		t.Errorf("Expand(impersonate core *) = %v", got)
	}
}

func TestResourcesFromDiscovery(t *testing.T) {
	lists := []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "serviceaccounts", Namespaced: true, Verbs: []string{"get", "list"}},
			{Name: "serviceaccounts/token", Namespaced: true, Verbs: []string{"create"}},
		}},
		{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{{Name: "widgets", Namespaced: true, Verbs: []string{"get"}}}},
		{GroupVersion: "example.com/v2", APIResources: []metav1.APIResource{{Name: "widgets", Namespaced: true, Verbs: []string{"get", "watch"}}}},
	}
	got := ResourcesFromDiscovery(lists)
	find := func(group, name string) *APIResource {
		for i := range got {
			if got[i].Group == group && got[i].Name() == name {
				return &got[i]
			}
		}
		return nil
	}
	if w := find("example.com", "widgets"); w == nil || !slices.Equal(w.Verbs, []string{"get", "watch"}) {
		t.Errorf("widgets = %+v, want verbs of both versions", w)
	}
	if sa := find("", "serviceaccounts"); sa == nil || !slices.Contains(sa.Verbs, "impersonate") {
		t.Errorf("serviceaccounts = %+v, want impersonate added", sa)
	}
	if u := find("", "users"); u == nil || !u.Virtual {
		t.Errorf("virtual users missing: %+v", u)
	}
	if p := find("", "pods"); p != nil {
		t.Errorf("pods not served but listed: %+v", p)
	}
	withGet := 0
	for _, r := range got {
		if slices.Contains(r.Verbs, "get") {
			withGet++
		}
	}
	e := New(&Snapshot{Resources: got})
	if cov := e.Expand(res("get", "*", "*")); len(cov) != withGet {
		t.Errorf("Expand(get * *) = %d entries, want the %d with get", len(cov), withGet)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestParseResource(t *testing.T) {
	e := New(&Snapshot{})
	for _, c := range []struct {
		arg  string
		want Attributes
		err  string
	}{
		{arg: "pods", want: Attributes{Resource: "pods"}},
		{arg: "Pods/Exec", want: Attributes{Resource: "pods", Subresource: "exec"}},
		{arg: "deployments", want: Attributes{Group: "apps", Resource: "deployments"}},
		{arg: "deployments.apps/scale", want: Attributes{Group: "apps", Resource: "deployments", Subresource: "scale"}},
		{arg: "deployments.v1.apps", want: Attributes{Group: "apps", Resource: "deployments"}},
		{arg: "notebooks.kubeflow.org", want: Attributes{Group: "kubeflow.org", Resource: "notebooks"}},
		{arg: "/metrics", want: Attributes{NonResourceURL: "/metrics"}},
		{arg: "pod", err: "did you mean pods?"},
		{arg: "gizmos", err: "RESOURCE.GROUP"},
		{arg: "events", want: Attributes{Resource: "events"}}, // core wins, as in kubectl
	} {
		got, err := e.ParseResource(c.arg)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseResource(%q) error = %v, want one saying %q", c.arg, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("ParseResource(%q) = %+v, %v; want %+v", c.arg, got, err, c.want)
		}
	}
}

func TestParseSubject(t *testing.T) {
	for _, c := range []struct {
		arg    string
		want   Subject
		groups int
	}{
		{"system:serviceaccount:bob:runner", Subject{Kind: "ServiceAccount", Namespace: "bob", Name: "runner"}, 3},
		{"serviceaccount:bob/runner", Subject{Kind: "ServiceAccount", Namespace: "bob", Name: "runner"}, 3},
		{"user:system:serviceaccount:bob:runner", Subject{Kind: "ServiceAccount", Namespace: "bob", Name: "runner"}, 3},
		{"user:alice", Subject{Kind: "User", Name: "alice"}, 1},
		{"group:team-a", Subject{Kind: "Group", Name: "team-a"}, 2},
	} {
		got, user, err := ParseSubject(c.arg)
		if err != nil || got != c.want || len(user.Groups) != c.groups {
			t.Errorf("ParseSubject(%q) = %+v %+v %v; want %+v with %d groups", c.arg, got, user, err, c.want, c.groups)
		}
	}
	for _, bad := range []string{"bob", "user:", "group:", "serviceaccount:bob/", "system:serviceaccount:bob"} {
		if _, _, err := ParseSubject(bad); err == nil {
			t.Errorf("ParseSubject(%q) accepted", bad)
		}
	}
}
