package access

import (
	"fmt"
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// randomWorld is an RBAC world for the differential test, drawn from a
// seeded RNG. Names avoid everything bootstrap policy binds (u-*, g-*,
// diff-*), so random subjects only reach bootstrap rights through
// system:authenticated and system:serviceaccounts, as in a real cluster.
// Some objects are invalid on purpose; the API server rejects them and the
// test keeps only what it accepted.
type randomWorld struct {
	namespaces          []string
	serviceAccounts     []corev1.ServiceAccount
	roles               []rbacv1.Role
	clusterRoles        []rbacv1.ClusterRole
	roleBindings        []rbacv1.RoleBinding
	clusterRoleBindings []rbacv1.ClusterRoleBinding
}

// The vocabulary rules and checks share, so that they meet often.
// Functions rather than package variables: nothing can change them.
func worldVerbs() []string {
	return []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "impersonate", "bind", "escalate", "approve"}
}
func worldGroups() []string {
	return []string{"", "apps", "batch", "rbac.authorization.k8s.io", "example.com"}
}
func worldResources() []string {
	return []string{"pods", "deployments", "secrets", "configmaps", "jobs", "roles", "widgets", "services", "replicationcontrollers"}
}
func worldSubs() []string   { return []string{"exec", "log", "status", "scale"} }
func worldNames() []string  { return []string{"alpha", "beta", "gamma"} }
func worldColors() []string { return []string{"red", "green", "blue"} }
func worldURLs() []string {
	return []string{"/healthz", "/healthz/*", "/metrics", "/api", "/api/*", "/apis/*", "/logs*", "/version", "/custom/deep/*"}
}
func worldPaths() []string {
	return []string{"/healthz", "/healthz/etcd", "/healthz/x/y", "/metrics", "/api", "/api/v1", "/apis", "/apis/apps",
		"/version", "/version/", "/logs", "/logsx", "/logs/kube", "/livez", "/readyz", "/openapi/v2",
		"/.well-known/openid-configuration", "/custom/deep/x", "/custom/deep", "/other"}
}

const (
	worldColorLabel = "diff.bulkhead.dev/color"
	worldLevelLabel = "diff.bulkhead.dev/level"
)

type worldGen struct{ rng *rand.Rand }

func (g worldGen) pick(list []string) string { return list[g.rng.IntN(len(list))] }
func (g worldGen) chance(percent int) bool   { return g.rng.IntN(100) < percent }

func (g worldGen) some(list []string, most int) []string {
	var out []string
	for range 1 + g.rng.IntN(most) {
		if s := g.pick(list); !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func newRandomWorld(seed uint64, namespaces int) *randomWorld {
	g := worldGen{rng: rand.New(rand.NewPCG(seed, 42))}
	w := &randomWorld{}
	for i := range namespaces {
		ns := fmt.Sprintf("diff-%d", i)
		w.namespaces = append(w.namespaces, ns)
		for _, sa := range []string{"sa-0", "sa-1"} {
			w.serviceAccounts = append(w.serviceAccounts, corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa}})
		}
		for r := range 5 {
			w.roles = append(w.roles, rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("role-%d", r)}, Rules: g.rules(true)})
		}
	}
	for i := range 20 {
		cr := rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("diff-cr-%02d", i)}, Rules: g.rules(false)}
		if g.chance(60) {
			cr.Labels = map[string]string{worldColorLabel: g.pick(worldColors())}
		}
		w.clusterRoles = append(w.clusterRoles, cr)
	}
	w.clusterRoles = append(w.clusterRoles, g.aggregatedRoles()...)
	for _, ns := range w.namespaces {
		for b := range 8 {
			w.roleBindings = append(w.roleBindings, rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("rb-%d", b)},
				RoleRef:    g.roleRef(w, true),
				Subjects:   g.subjects(w, true),
			})
		}
	}
	for b := range 12 {
		w.clusterRoleBindings = append(w.clusterRoleBindings, rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("diff-crb-%02d", b)},
			RoleRef:    g.roleRef(w, false),
			Subjects:   g.subjects(w, false),
		})
	}
	return w
}

// aggregatedRoles: level 1 selects colors, level 2 selects level 1 (a
// chain), one selects nothing and so keeps the rules it was created with.
// All start with rules of their own, which aggregation must replace.
func (g worldGen) aggregatedRoles() []rbacv1.ClusterRole {
	var out []rbacv1.ClusterRole
	for i := range 4 {
		sel := metav1.LabelSelector{MatchLabels: map[string]string{worldColorLabel: g.pick(worldColors())}}
		if g.chance(50) {
			sel = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: worldColorLabel, Operator: metav1.LabelSelectorOpIn, Values: g.some(worldColors(), 2)}}}
		}
		cr := rbacv1.ClusterRole{
			ObjectMeta:      metav1.ObjectMeta{Name: fmt.Sprintf("diff-agg-1-%d", i)},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{sel}},
			Rules:           g.rules(false),
		}
		if g.chance(70) {
			cr.Labels = map[string]string{worldLevelLabel: "1"}
		}
		out = append(out, cr)
	}
	for i := range 2 {
		sels := []metav1.LabelSelector{{MatchLabels: map[string]string{worldLevelLabel: "1"}}}
		if i == 1 {
			sels = append(sels, metav1.LabelSelector{MatchLabels: map[string]string{worldColorLabel: g.pick(worldColors())}})
		}
		out = append(out, rbacv1.ClusterRole{
			ObjectMeta:      metav1.ObjectMeta{Name: fmt.Sprintf("diff-agg-2-%d", i)},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: sels},
			Rules:           g.rules(false),
		})
	}
	return append(out, rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "diff-agg-empty"},
		AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
			{MatchLabels: map[string]string{worldColorLabel: "purple"}}}},
		Rules: g.rules(false),
	})
}

func (g worldGen) rules(namespaced bool) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for range 1 + g.rng.IntN(3) {
		if (!namespaced || g.chance(3)) && g.chance(20) { // a Role with URLs is invalid
			out = append(out, rbacv1.PolicyRule{Verbs: g.some([]string{"get", "get", "post", "*"}, 2), NonResourceURLs: g.some(worldURLs(), 2)})
			continue
		}
		r := rbacv1.PolicyRule{Verbs: g.some(worldVerbs(), 3), APIGroups: g.some(worldGroups(), 2)}
		if g.chance(8) {
			r.Verbs = append(r.Verbs, "*")
		}
		if g.chance(10) {
			r.APIGroups = append(r.APIGroups, "*")
		}
		for range 1 + g.rng.IntN(3) {
			switch n := g.rng.IntN(100); {
			case n < 55:
				r.Resources = append(r.Resources, g.pick(worldResources()))
			case n < 80:
				r.Resources = append(r.Resources, g.pick(worldResources())+"/"+g.pick(worldSubs()))
			case n < 92:
				r.Resources = append(r.Resources, "*/"+g.pick(worldSubs()))
			default:
				r.Resources = append(r.Resources, "*")
			}
		}
		if g.chance(25) {
			r.ResourceNames = g.some(worldNames(), 2)
		}
		if g.chance(2) {
			r.Verbs = nil // invalid: verbs are required
		}
		out = append(out, r)
	}
	return out
}

func (g worldGen) roleRef(w *randomWorld, namespaced bool) rbacv1.RoleRef {
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: w.clusterRoles[g.rng.IntN(len(w.clusterRoles))].Name}
	switch n := g.rng.IntN(100); {
	case namespaced && n < 55:
		ref.Kind, ref.Name = "Role", fmt.Sprintf("role-%d", g.rng.IntN(5))
	case n < 60:
		ref.Name = "diff-missing" // dangling
	}
	return ref
}

func (g worldGen) subjects(w *randomWorld, namespaced bool) []rbacv1.Subject {
	var out []rbacv1.Subject
	for range 1 + g.rng.IntN(3) {
		switch n := g.rng.IntN(100); {
		case n < 30:
			out = append(out, userSubject(fmt.Sprintf("u-%d", g.rng.IntN(8))))
		case n < 50:
			out = append(out, groupSubject(fmt.Sprintf("g-%d", g.rng.IntN(5))))
		case n < 58:
			out = append(out, groupSubject("system:serviceaccounts:"+g.pick(w.namespaces)))
		case n < 60:
			out = append(out, groupSubject("system:serviceaccounts"))
		case n < 97:
			s := saSubject(g.pick(w.namespaces), fmt.Sprintf("sa-%d", g.rng.IntN(3))) // sa-2 does not exist
			if (namespaced && g.chance(40)) || g.chance(8) {
				s.Namespace = "" // defaulted in a RoleBinding, rejected in a ClusterRoleBinding
			}
			out = append(out, s)
		default:
			out = append(out, rbacv1.Subject{Kind: "Robot", Name: "r2"}) // rejected
		}
	}
	return out
}
