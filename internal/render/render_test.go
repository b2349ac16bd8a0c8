package render

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite golden files")

// tenant is a test builder: a defaulted tenant with the given members.
func tenant(name string, members ...v1alpha1.Member) v1alpha1.Tenant {
	t := v1alpha1.Tenant{Spec: v1alpha1.TenantSpec{Namespace: name, Members: members}}
	t.Name = name
	if len(members) == 0 {
		t.Spec.Members = []v1alpha1.Member{member(v1alpha1.ServiceAccountMember, name+"-user", v1alpha1.EditRole)}
	}
	return t
}

func member(kind v1alpha1.MemberKind, name string, role v1alpha1.RoleName) v1alpha1.Member {
	return v1alpha1.Member{Kind: kind, Name: name, Role: role}
}

func TestGolden(t *testing.T) {
	cases := map[string][]v1alpha1.Tenant{
		"researcher": {tenant("bob")},
		"team": {tenant("vision",
			member(v1alpha1.ServiceAccountMember, "pipeline", v1alpha1.EditRole),
			member(v1alpha1.UserMember, "carol@example.com", v1alpha1.EditRole),
			member(v1alpha1.GroupMember, "oidc:vision-readers", v1alpha1.ViewRole))},
		"two-researchers": {tenant("bob"), tenant("alice")},
	}
	for name, ts := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := YAML(Tenants(ts))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/render -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("render of %s differs from %s (run with -update after checking the diff):\n%s", name, path, got)
			}
		})
	}
}

func TestClusterScopedFirst(t *testing.T) {
	objs := Tenants([]v1alpha1.Tenant{tenant("bob"), tenant("alice")})
	if *objs[0].GetKind() != "Namespace" || *objs[1].GetKind() != "Namespace" {
		t.Fatalf("first objects are %s and %s, want the two Namespaces", *objs[0].GetKind(), *objs[1].GetKind())
	}
	for _, o := range objs[2:] {
		if *o.GetKind() == "Namespace" {
			t.Errorf("namespace %s after namespaced objects", *o.GetName())
		}
	}
}

// TestRolesKeepGuardrails pins the procedure's mistakes out of every level:
// no wildcards, no writes to guardrails, no RBAC, no extensions group.
func TestRolesKeepGuardrails(t *testing.T) {
	guardrails := []string{"resourcequotas", "limitranges", "networkpolicies", "namespaces", "serviceaccounts", "serviceaccounts/token"}
	for _, level := range v1alpha1.RoleNames {
		for _, r := range Rules(level) {
			for _, s := range slices.Concat(r.APIGroups, r.Resources, r.Verbs) {
				if strings.Contains(s, "*") {
					t.Errorf("%s: wildcard %q in %v", level, s, *r)
				}
			}
			for _, g := range r.APIGroups {
				if g == "rbac.authorization.k8s.io" || g == "extensions" {
					t.Errorf("%s: grants group %q", level, g)
				}
			}
			writes := slices.ContainsFunc(r.Verbs, func(v string) bool { return !slices.Contains(readVerbs, v) })
			for _, res := range r.Resources {
				if writes && slices.Contains(guardrails, res) {
					t.Errorf("%s: can write %s (%v)", level, res, r.Verbs)
				}
			}
		}
	}
}

func TestViewReadsNoSecretsAndRunsNothing(t *testing.T) {
	for _, r := range Rules(v1alpha1.ViewRole) {
		for _, v := range r.Verbs {
			if !slices.Contains(readVerbs, v) {
				t.Errorf("view grants verb %q on %v", v, r.Resources)
			}
		}
		for _, res := range r.Resources {
			if res == "secrets" || res == "pods/exec" || res == "pods/attach" {
				t.Errorf("view grants %s", res)
			}
		}
	}
}

func TestEditRunsWorkloads(t *testing.T) {
	want := map[string]bool{"pods": false, "pods/exec": false, "jobs": false, "deployments": false, "secrets": false}
	for _, r := range Rules(v1alpha1.EditRole) {
		for _, res := range r.Resources {
			if _, ok := want[res]; ok && slices.Contains(r.Verbs, "create") {
				want[res] = true
			}
		}
	}
	for res, ok := range want {
		if !ok {
			t.Errorf("edit cannot create %s", res)
		}
	}
}

func TestBindingName(t *testing.T) {
	cases := []struct {
		m    v1alpha1.Member
		want string
	}{
		{member(v1alpha1.ServiceAccountMember, "bob-user", v1alpha1.EditRole), "bulkhead-edit-sa-bob-user"},
		{member(v1alpha1.UserMember, "carol", v1alpha1.ViewRole), "bulkhead-view-user-carol"},
		{member(v1alpha1.UserMember, "carol@example.com", v1alpha1.EditRole), "bulkhead-edit-user-carol-example.com-"},
		{member(v1alpha1.GroupMember, "oidc:Readers", v1alpha1.ViewRole), "bulkhead-view-group-oidc-readers-"},
	}
	for _, c := range cases {
		got := BindingName(c.m)
		if !strings.HasPrefix(got, c.want) || (strings.HasSuffix(c.want, "-") && len(got) != len(c.want)+8) {
			t.Errorf("BindingName(%s %q) = %q, want %q (plus an 8-character hash when the name was changed)", c.m.Kind, c.m.Name, got, c.want)
		}
	}
	// Two names that sanitize alike must still get different bindings.
	a := BindingName(member(v1alpha1.UserMember, "a@b", v1alpha1.EditRole))
	b := BindingName(member(v1alpha1.UserMember, "a:b", v1alpha1.EditRole))
	if a == b {
		t.Errorf("a@b and a:b share the binding name %q", a)
	}
	long := BindingName(member(v1alpha1.UserMember, strings.Repeat("x", 300)+"@", v1alpha1.EditRole))
	if len(long) > 253 {
		t.Errorf("binding name of a long user is %d characters", len(long))
	}
}
