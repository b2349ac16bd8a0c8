package access

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func namespaceObject(name string) corev1.Namespace {
	return corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"diff.bulkhead.dev/world": "true"}}}
}

// check is one question asked of both the engine and the API server.
type check struct {
	user UserInfo
	a    Attributes
	kind string // how it was made, for the report
}

// identities are who the checks ask about: the world's users with group
// mixes, group-only reviews, ServiceAccounts with and without their token
// groups, and a few identities bootstrap policy does bind.
func identities(rng *rand.Rand, w *randomWorld) []UserInfo {
	var out []UserInfo
	for i := range 9 { // u-8 is bound nowhere
		var groups []string
		for g := range 5 {
			if rng.IntN(3) == 0 {
				groups = append(groups, fmt.Sprintf("g-%d", g))
			}
		}
		out = append(out, UserInfo{Name: fmt.Sprintf("u-%d", i), Groups: groups}, User(fmt.Sprintf("u-%d", i), groups...))
	}
	out = append(out, UserInfo{Groups: []string{"g-1", "g-3"}}, UserInfo{Groups: []string{"g-0"}})
	for _, ns := range w.namespaces {
		for _, sa := range []string{"sa-0", "sa-1", "sa-2"} {
			out = append(out, ServiceAccountUser(ns, sa), UserInfo{Name: ServiceAccountUserName(ns, sa)})
		}
	}
	return append(out,
		Anonymous(),
		UserInfo{Name: "system:kube-scheduler", Groups: []string{allAuthenticated}},
		ServiceAccountUser("kube-system", "namespace-controller"),
		ServiceAccountUser("kube-system", "bootstrap-signer"),
	)
}

func checkNamespaces(w *randomWorld) []string {
	return append(slices.Clone(w.namespaces), "", "", "default", "kube-system", "kube-public")
}

// makeChecks mixes checks derived from rules the engine says apply
// (instantiated, sometimes mutated in one field) with uniform random ones,
// so that roughly a third to a half are allowed and both sides of every
// rule boundary are probed.
func makeChecks(rng *rand.Rand, e *Engine, w *randomWorld, n int) []check {
	ids := identities(rng, w)
	namespaces := checkNamespaces(w)
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	out := make([]check, 0, n)
	for len(out) < n {
		u := ids[rng.IntN(len(ids))]
		ns := pick(namespaces)
		if rng.IntN(100) < 60 {
			if rules := e.Rules(u, ns); len(rules) > 0 {
				a := instantiate(rng, rules[rng.IntN(len(rules))], ns)
				kind := "derived"
				if rng.IntN(100) < 30 {
					u, a = mutate(rng, ids, namespaces, u, a)
					kind = "mutated"
				}
				out = append(out, check{u, a, kind})
				continue
			}
		}
		out = append(out, check{u, randomWorldAttributes(rng, ns), "random"})
	}
	return out
}

func randomWorldAttributes(rng *rand.Rand, ns string) Attributes {
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	if rng.IntN(100) < 12 {
		return askURL(pick([]string{"get", "post", "put"}), pick(worldPaths()))
	}
	a := Attributes{Verb: pick(worldVerbs()), Group: pick(worldGroups()), Resource: pick(worldResources()), Namespace: ns}
	if rng.IntN(3) == 0 {
		a.Subresource = pick(worldSubs())
	}
	if rng.IntN(2) == 0 {
		a.Name = pick(append(worldNames(), "exec", "other"))
	}
	return a
}

// instantiate turns a rule into a request it should allow, resolving
// wildcards to concrete values.
func instantiate(rng *rand.Rand, r rbacv1.PolicyRule, ns string) Attributes {
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	verb := pick(r.Verbs)
	if verb == "*" {
		verb = pick(append(worldVerbs(), "use", "sign"))
	}
	if len(r.NonResourceURLs) > 0 {
		u := pick(r.NonResourceURLs)
		switch {
		case u == "*":
			u = pick(worldPaths())
		case strings.HasSuffix(u, "*"):
			u = strings.TrimRight(u, "*") + pick([]string{"", "x", "etcd/y"})
		}
		return askURL(verb, u)
	}
	a := Attributes{Verb: verb, Group: pick(r.APIGroups), Namespace: ns}
	if a.Group == "*" {
		a.Group = pick(append(worldGroups(), "networking.k8s.io"))
	}
	resource := pick(r.Resources)
	switch {
	case resource == "*":
		a.Resource = pick(worldResources())
		if rng.IntN(3) == 0 {
			a.Subresource = pick(worldSubs())
		}
	case strings.HasPrefix(resource, "*/"):
		a.Resource, a.Subresource = pick(worldResources()), resource[2:]
	default:
		a.Resource, a.Subresource, _ = strings.Cut(resource, "/")
	}
	if len(r.ResourceNames) > 0 && rng.IntN(5) > 0 {
		a.Name = pick(r.ResourceNames)
	} else if rng.IntN(2) == 0 {
		a.Name = pick(worldNames())
	}
	return a
}

func mutate(rng *rand.Rand, ids []UserInfo, namespaces []string, u UserInfo, a Attributes) (UserInfo, Attributes) {
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	switch rng.IntN(7) {
	case 0:
		u = ids[rng.IntN(len(ids))]
	case 1:
		a.Verb = pick(worldVerbs())
	case 2:
		a.Group = pick(worldGroups())
	case 3:
		a.Resource = pick(worldResources())
	case 4:
		a.Subresource = pick(append(worldSubs(), ""))
	case 5:
		a.Name = pick(append(worldNames(), ""))
	default:
		a.Namespace = pick(namespaces)
	}
	return u, a
}

// runChecks asks the API server every check with 16 workers and returns
// its answers in order.
func runChecks(ctx context.Context, t *testing.T, sar sarClient, checks []check) []bool {
	t.Helper()
	answers := make([]bool, len(checks))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ok, err := sar.allowed(ctx, checks[i].user, checks[i].a)
				if err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
				}
				answers[i] = ok
			}
		}()
	}
	for i := range checks {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return answers
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// bootstrapChecks are facts of the API server's bootstrap policy the
// engine must reproduce from the snapshot alone (1.34 defaults).
func bootstrapChecks() []struct {
	check
	want bool
} {
	authn := User("u-8")
	scheduler := UserInfo{Name: "system:kube-scheduler"}
	signer := ServiceAccountUser("kube-system", "bootstrap-signer")
	type c = struct {
		check
		want bool
	}
	return []c{
		{check{authn, askURL("get", "/api"), "bootstrap"}, true},                  // system:discovery
		{check{authn, askURL("get", "/version"), "bootstrap"}, true},              // system:public-info-viewer
		{check{UserInfo{Name: "u-8"}, askURL("get", "/api"), "bootstrap"}, false}, // no groups, no discovery
		{check{Anonymous(), askURL("get", "/version"), "bootstrap"}, true},        // public-info-viewer
		{check{Anonymous(), askURL("get", "/healthz"), "bootstrap"}, true},
		{check{Anonymous(), askURL("get", "/api"), "bootstrap"}, false}, // discovery needs authentication
		{check{authn, ask("create", "authorization.k8s.io", "selfsubjectaccessreviews", "", ""), "bootstrap"}, true},
		{check{authn, ask("list", "", "pods", "", "default"), "bootstrap"}, false},
		{check{ServiceAccountUser("diff-0", "sa-0"), askURL("get", "/openid/v1/jwks"), "bootstrap"}, true},
		{check{authn, askURL("get", "/openid/v1/jwks"), "bootstrap"}, false},
		{check{scheduler, ask("list", "", "pods", "", ""), "bootstrap"}, true},
		{check{scheduler, ask("create", "", "pods/binding", "p", "default"), "bootstrap"}, true},
		{check{scheduler, ask("get", "", "secrets", "s", "default"), "bootstrap"}, false},
		{check{UserInfo{Groups: []string{"system:masters"}}, ask("delete", "", "nodes", "n", ""), "bootstrap"}, true},
		{check{signer, ask("get", "", "secrets", "s", "kube-system"), "bootstrap"}, true}, // a kube-system RoleBinding
		{check{signer, ask("get", "", "secrets", "s", "default"), "bootstrap"}, false},
	}
}

func checkAllowed(ctx context.Context, t *testing.T, sar sarClient, e *Engine, snap *Snapshot, w *randomWorld) {
	rng := rand.New(rand.NewPCG(7, 11))
	checks := makeChecks(rng, e, w, 12000)
	for _, b := range bootstrapChecks() {
		if got := e.Allowed(b.user, b.a); got != b.want {
			t.Errorf("bootstrap policy: Allowed(%+v, %s) = %v, want %v", b.user, b.a, got, b.want)
		}
		checks = append(checks, b.check)
	}
	answers := runChecks(ctx, t, sar, checks)
	allowed, disagreements := 0, 0
	byKind := map[string][2]int{}
	for i, c := range checks {
		got := e.Allowed(c.user, c.a)
		k := byKind[c.kind]
		k[0]++
		if answers[i] {
			allowed++
			k[1]++
		}
		byKind[c.kind] = k
		if got != answers[i] {
			disagreements++
			if disagreements <= 20 {
				t.Errorf("disagreement: %+v %s: engine %v, API server %v\n%s", c.user, c.a, got, answers[i], explain(snap, c.user, c.a))
			}
		}
	}
	t.Logf("%d checks, %d allowed (%.0f%%), %d disagreements; by kind (checks, allowed): %v",
		len(checks), allowed, 100*float64(allowed)/float64(len(checks)), disagreements, byKind)
	if frac := float64(allowed) / float64(len(checks)); frac < 0.25 || frac > 0.6 {
		t.Errorf("allowed fraction %.2f is outside 0.25..0.6: the checks no longer probe both sides", frac)
	}
}

// explain lists what the transcribed upstream evaluator finds for a case:
// the bindings that apply to the user here and the rules that allow.
func explain(snap *Snapshot, u UserInfo, a Attributes) string {
	ref := newReference(snap)
	var b strings.Builder
	fmt.Fprintf(&b, "  reference evaluator: %v\n", ref.allowed(u, a))
	ns := namespaceOf(a)
	describe := func(kind, name, bns string, ref2 rbacv1.RoleRef, subjects []rbacv1.Subject) {
		if !refAppliesTo(u, subjects, bns) {
			return
		}
		for _, r := range ref.roleRules(ref2, bns) {
			fmt.Fprintf(&b, "  %s %s -> %s %s: %v allows=%v\n", kind, name, ref2.Kind, ref2.Name, r, refRuleAllows(a, r))
		}
	}
	for _, crb := range snap.ClusterRoleBindings {
		describe("ClusterRoleBinding", crb.Name, "", crb.RoleRef, crb.Subjects)
	}
	for _, rb := range snap.RoleBindings {
		if ns != "" && rb.Namespace == ns {
			describe("RoleBinding", rb.Namespace+"/"+rb.Name, ns, rb.RoleRef, rb.Subjects)
		}
	}
	return b.String()
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}
