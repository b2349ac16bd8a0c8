package access

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// checkWhoCan asks, for sampled requests, every subject alone (its
// Identity) whether it may; WhoCan must list exactly those that may.
func checkWhoCan(ctx context.Context, t *testing.T, sar sarClient, e *Engine, snap *Snapshot, w *randomWorld) {
	rng := rand.New(rand.NewPCG(13, 17))
	var subjects []Subject
	for _, s := range e.Subjects() {
		if active(s) {
			subjects = append(subjects, s)
		}
	}
	samples := makeChecks(rng, e, w, 30)
	var checks []check
	for _, c := range samples {
		for _, s := range subjects {
			checks = append(checks, check{user: s.Identity(), a: c.a})
		}
	}
	answers := runChecks(ctx, t, sar, checks)
	disagreements, holders := 0, 0
	for i, c := range samples {
		found := map[Subject]bool{}
		for _, h := range e.WhoCan(c.a) {
			found[h.Subject] = true
		}
		holders += len(found)
		for j, s := range subjects {
			if server := answers[i*len(subjects)+j]; server != found[s] {
				disagreements++
				t.Errorf("WhoCan(%s): %v listed=%v, API server says %v\n%s", c.a, s, found[s], server, explain(snap, s.Identity(), c.a))
			}
		}
	}
	t.Logf("WhoCan on %d requests × %d subjects (%d reviews): %d holders found, %d disagreements",
		len(samples), len(subjects), len(checks), holders, disagreements)
}

// checkRules compares Rules with SelfSubjectRulesReview, impersonating each
// identity (impersonation adds system:authenticated, so the engine is
// asked with it too).
func checkRules(ctx context.Context, t *testing.T, cfg *rest.Config, e *Engine, w *randomWorld) {
	rng := rand.New(rand.NewPCG(19, 23))
	compared := 0
	for _, u := range identities(rng, w) {
		if u.Name == "" || u.Name == anonymousUser {
			continue // impersonation needs a user; anonymous gets no system:authenticated
		}
		ns := w.namespaces[rng.IntN(len(w.namespaces))]
		imp := rest.CopyConfig(cfg)
		imp.Impersonate = rest.ImpersonationConfig{UserName: u.Name, Groups: u.Groups}
		cs, err := kubernetes.NewForConfig(imp)
		if err != nil {
			t.Fatal(err)
		}
		review, err := cs.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx,
			&authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("selfsubjectrulesreview as %s: %v", u.Name, err)
		}
		// Impersonating a ServiceAccount without groups gets its token's
		// groups; every impersonated non-anonymous user gets
		// system:authenticated.
		asked := User(u.Name, u.Groups...)
		if ns, name, ok := splitServiceAccountUser(u.Name); ok && len(u.Groups) == 0 {
			asked = ServiceAccountUser(ns, name)
		}
		if got, want := reviewStrings(e.Rules(asked, ns)), serverReviewStrings(review.Status); !slices.Equal(got, want) {
			t.Errorf("Rules(%+v, %s):\n  engine: %v\n  server: %v", asked, ns, got, want)
		}
		compared++
	}
	t.Logf("Rules matched SelfSubjectRulesReview for %d identities", compared)
}

func splitServiceAccountUser(user string) (ns, name string, ok bool) {
	rest, ok := strings.CutPrefix(user, saUserPrefix)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

func reviewStrings(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		if len(r.Resources) > 0 {
			out = append(out, fmt.Sprintf("R %q %q %q %q", r.Verbs, r.APIGroups, r.Resources, r.ResourceNames))
		}
		if len(r.NonResourceURLs) > 0 {
			out = append(out, fmt.Sprintf("N %q %q", r.Verbs, r.NonResourceURLs))
		}
	}
	sort.Strings(out)
	return out
}

func serverReviewStrings(s authorizationv1.SubjectRulesReviewStatus) []string {
	var out []string
	for _, r := range s.ResourceRules {
		out = append(out, fmt.Sprintf("R %q %q %q %q", r.Verbs, r.APIGroups, r.Resources, r.ResourceNames))
	}
	for _, r := range s.NonResourceRules {
		out = append(out, fmt.Sprintf("N %q %q", r.Verbs, r.NonResourceURLs))
	}
	sort.Strings(out)
	return out
}
