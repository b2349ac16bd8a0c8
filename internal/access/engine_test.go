package access

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

func TestWhoCan(t *testing.T) {
	e := New(semanticsWorld())
	got := e.WhoCan(ask("list", "", "pods", "", "team-a"))
	var names []string
	for _, h := range got {
		var via []string
		for _, b := range h.Via {
			via = append(via, b.Name)
		}
		names = append(names, h.Subject.String()+" via "+strings.Join(via, ","))
	}
	// list pods in team-a: only the Role "pods" (alice, team-b/visitor, the
	// impostor user); "everything" grants get, not list.
	wantNames := []string{
		"ServiceAccount team-b/visitor via sa-foreign",
		"User alice via pods",
		"User system:serviceaccount:team-a:impostor via fake-sa",
	}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("WhoCan(list pods in team-a) =\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(wantNames, "\n"))
	}

	// The SA defaulted into team-a is found under its full name, and the
	// namespace-less SA of the ClusterRoleBinding is never a holder.
	got = e.WhoCan(ask("get", "", "secrets", "s", "team-a"))
	for _, h := range got {
		if h.Subject.Kind == rbacv1.ServiceAccountKind && h.Subject.Namespace == "" {
			t.Errorf("inert subject reported: %v", h)
		}
	}
	if !slices.ContainsFunc(got, func(h Holder) bool { return h.Subject == Subject{Kind: "User", Name: "bob"} }) {
		t.Errorf("bob (RoleBinding to secret-reader) missing from %v", got)
	}
	if got := e.WhoCan(ask("update", "apps", "deployments/scale", "", "team-a")); len(got) != 1 ||
		got[0].Subject != (Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "team-a", Name: "builder"}) {
		t.Errorf("WhoCan(update deployments/scale) = %v, want only ServiceAccount team-a/builder", got)
	}
}

func TestRulesAndGrants(t *testing.T) {
	e := New(semanticsWorld())
	rules := e.Rules(UserInfo{Name: "alice"}, "team-a")
	want := []rbacv1.PolicyRule{res("get,list", "", "pods"), res("get,list,watch,update", "", "configmaps", "settings")}
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("Rules(alice, team-a) = %v, want %v", rules, want)
	}
	if rules := e.Rules(UserInfo{Name: "alice"}, "team-b"); len(rules) != 0 {
		t.Errorf("Rules(alice, team-b) = %v, want none", rules)
	}
	// A user bound by user name and by group through one binding gets its
	// rules once; cluster rules come first.
	rules = e.Rules(User("agg-user"), "team-a")
	if len(rules) != 2 || rules[0].Resources[0] != "*" || rules[1].Resources[0] != "events" {
		t.Errorf("Rules(agg-user) = %v", rules)
	}

	grants := e.Grants(Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "team-a", Name: "builder"})
	if len(grants) != 1 || grants[0].Binding.Name != "sa-default" || grants[0].Namespace != "team-a" {
		t.Errorf("Grants(team-a/builder) = %+v", grants)
	}
	inert := e.Grants(Subject{Kind: rbacv1.ServiceAccountKind, Name: "builder"})
	if len(inert) != 1 || !inert[0].Inert || inert[0].Binding.Kind != KindClusterRoleBinding {
		t.Errorf("Grants(namespace-less builder) = %+v, want the inert ClusterRoleBinding", inert)
	}
	dangling := e.Grants(Subject{Kind: rbacv1.UserKind, Name: "dave"})
	if len(dangling) != 1 || !dangling[0].RoleMissing || dangling[0].Rules != nil {
		t.Errorf("Grants(dave) = %+v, want a missing role", dangling)
	}
	if w := strings.Join(e.Warnings(), "\n"); !strings.Contains(w, `"ghost" does not exist`) {
		t.Errorf("warnings miss the dangling roleRef:\n%s", w)
	}
	subjects := e.Subjects()
	if !sort.SliceIsSorted(subjects, func(i, j int) bool { return subjectLess(subjects[i], subjects[j]) }) {
		t.Error("Subjects() not sorted")
	}
	if len(subjects) != 16 {
		t.Errorf("Subjects() has %d entries: %v", len(subjects), subjects)
	}
}

// TestMatchesReference compares the engine with the transcribed upstream
// evaluator on synthetic worlds: Allowed, Rules and WhoCan.
func TestMatchesReference(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			snap := Synthetic(25, seed)
			e := New(snap)
			ref := newReference(snap)
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			users := randomUsers(rng, snap)
			allowed := 0
			const n = 8000
			for i := range n {
				u, a := users[rng.IntN(len(users))], randomAttributes(rng, snap)
				got, want := e.Allowed(u, a), ref.allowed(u, a)
				if got != want {
					t.Fatalf("check %d: Allowed(%+v, %s) = %v, reference says %v", i, u, a, got, want)
				}
				if why := e.Why(u, a); (len(why) > 0) != got {
					t.Fatalf("check %d: Why(%+v, %s) = %v, but Allowed = %v", i, u, a, why, got)
				}
				if got {
					allowed++
				}
			}
			t.Logf("%d of %d checks allowed", allowed, n)
			for range 200 {
				u := users[rng.IntN(len(users))]
				ns := randomNamespace(rng, snap)
				if got, want := e.Rules(u, ns), ref.rulesFor(u, ns); !sameRuleMultiset(got, want) {
					t.Fatalf("Rules(%+v, %q) = %v, reference %v", u, ns, got, want)
				}
			}
			subjects := e.Subjects()
			for range 50 {
				a := randomAttributes(rng, snap)
				holders := map[Subject]bool{}
				for _, h := range e.WhoCan(a) {
					holders[h.Subject] = true
				}
				for _, s := range subjects {
					if want := active(s) && ref.allowed(s.Identity(), a); holders[s] != want {
						t.Fatalf("WhoCan(%s): %v holds = %v, reference says %v", a, s, holders[s], want)
					}
				}
			}
		})
	}
}

func sameRuleMultiset(a, b []rbacv1.PolicyRule) bool {
	keys := func(rules []rbacv1.PolicyRule) []string {
		out := make([]string, len(rules))
		for i, r := range rules {
			out[i] = ruleKey(r)
		}
		sort.Strings(out)
		return out
	}
	return slices.Equal(keys(a), keys(b))
}

// randomUsers are identities that hit the synthetic world's subjects: its
// users and teams, its ServiceAccounts, and strangers.
func randomUsers(rng *rand.Rand, snap *Snapshot) []UserInfo {
	var out []UserInfo
	for i := range 40 {
		out = append(out, User(fmt.Sprintf("user-%d", rng.IntN(3*len(snap.Namespaces))),
			fmt.Sprintf("team-%03d", rng.IntN(97)), fmt.Sprintf("team-%03d", i%97)))
	}
	for range 40 {
		sa := snap.ServiceAccounts[rng.IntN(len(snap.ServiceAccounts))]
		out = append(out, ServiceAccountUser(sa.Namespace, sa.Name))
	}
	return append(out, User("stranger"), UserInfo{Name: "nobody"}, Anonymous())
}

func randomNamespace(rng *rand.Rand, snap *Snapshot) string {
	if rng.IntN(8) == 0 {
		return ""
	}
	return snap.Namespaces[rng.IntN(len(snap.Namespaces))].Name
}

func randomAttributes(rng *rand.Rand, snap *Snapshot) Attributes {
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	if rng.IntN(10) == 0 {
		return askURL(pick("get", "post", "put"), pick("/healthz", "/healthz/etcd", "/metrics", "/logs/x", "/version", "/apis/apps", "/other"))
	}
	return Attributes{
		Verb:        pick("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "impersonate", "bind", "escalate"),
		Group:       pick("", "", "apps", "batch", "rbac.authorization.k8s.io", "networking.k8s.io", "example.com"),
		Resource:    pick("pods", "pods", "secrets", "configmaps", "deployments", "jobs", "roles", "rolebindings", "networkpolicies", "widgets", "services", "events"),
		Subresource: pick("", "", "", "", "exec", "log", "status", "scale", "attach"),
		Name:        pick("", "", "alpha", "beta", "app-config-3", "x"),
		Namespace:   randomNamespace(rng, snap),
	}
}
