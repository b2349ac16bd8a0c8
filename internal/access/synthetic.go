package access

import (
	"fmt"
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SyntheticSize shapes a synthetic world. Every namespace gets 2
// ServiceAccounts, 4 Roles and 10 RoleBindings.
type SyntheticSize struct {
	Namespaces          int
	ClusterRoles        int // a tenth of them aggregated
	ClusterRoleBindings int
}

// Synthetic is the multi-tenant world docs/baselines.md measures other tools on:
// per namespace 2 ServiceAccounts, 4 Roles, 10 RoleBindings; cluster-wide
// 100 ClusterRoles (10 aggregated) and 400 ClusterRoleBindings. The same
// seed gives the same world.
func Synthetic(namespaces int, seed int64) *Snapshot {
	return SyntheticSized(SyntheticSize{Namespaces: namespaces, ClusterRoles: 100, ClusterRoleBindings: 400}, seed)
}

// SyntheticScaled grows the cluster-wide objects with the tenants: N/10
// ClusterRoles and 2N/5 ClusterRoleBindings, so 5,000 namespaces give
// 50,000 RoleBindings, 20,000 Roles, 500 ClusterRoles and 2,000
// ClusterRoleBindings.
func SyntheticScaled(namespaces int, seed int64) *Snapshot {
	return SyntheticSized(SyntheticSize{
		Namespaces:          namespaces,
		ClusterRoles:        max(namespaces/10, 10),
		ClusterRoleBindings: max(namespaces*2/5, 10),
	}, seed)
}

// SyntheticSized builds a world of the given size. Roles are drawn from a
// few templates with per-namespace variation, as tenant roles rendered from
// one spec are; some bindings dangle and some ServiceAccount subjects omit
// their namespace, so every code path has work at scale.
func SyntheticSized(size SyntheticSize, seed int64) *Snapshot {
	g := synth{rng: rand.New(rand.NewPCG(uint64(seed), 0x5eed)), size: size}
	snap := &Snapshot{}
	g.clusterRoles(snap)
	for i := range size.Namespaces {
		g.tenant(snap, i)
	}
	g.clusterRoleBindings(snap)
	return snap
}

type synth struct {
	rng  *rand.Rand
	size SyntheticSize
	// plain and aggregated ClusterRole names, for roleRefs
	plain, aggregated []string
}

const synthAggLabel = "synthetic.bulkhead.dev/aggregate-to-"

func (g *synth) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *synth) some(list []string, most int) []string {
	n := 1 + g.rng.IntN(most)
	out := make([]string, 0, n)
	for range n {
		if s := g.pick(list); !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func tenantName(i int) string { return fmt.Sprintf("tenant-%05d", i) }

func (g *synth) tenant(snap *Snapshot, i int) {
	ns := tenantName(i)
	team := fmt.Sprintf("team-%03d", i%97)
	snap.Namespaces = append(snap.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   ns,
		Labels: map[string]string{"bulkhead.dev/tenant": ns, "bulkhead.dev/team": team},
	}})
	for _, sa := range []string{"runner", "deployer"} {
		snap.ServiceAccounts = append(snap.ServiceAccounts, corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa}})
	}
	roles := []string{"reader", "writer", "operator", "secrets"}
	for slot, name := range roles {
		snap.Roles = append(snap.Roles, rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Rules:      g.tenantRules(slot, i),
		})
	}
	for b := range 10 {
		ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: roles[b%len(roles)]}
		switch r := g.rng.IntN(100); {
		case r < 35:
			ref = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: g.pick(g.plain)}
		case r < 40:
			ref = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: g.pick(g.aggregated)}
		case r < 41:
			ref.Name = "ghost" // dangling: whoever creates it inherits the binding
		}
		snap.RoleBindings = append(snap.RoleBindings, rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("binding-%d", b)},
			RoleRef:    ref,
			Subjects:   g.tenantSubjects(ns, team),
		})
	}
}

// tenantRules varies each role slot over a few templates, so that many
// namespaces share a rule list (and the engine one compiled rule set) while
// the "secrets" slot names a per-namespace object and stays distinct.
func (g *synth) tenantRules(slot, i int) []rbacv1.PolicyRule {
	read := []string{"get", "list", "watch"}
	write := []string{"create", "update", "patch", "delete"}
	switch slot {
	case 0:
		return []rbacv1.PolicyRule{{Verbs: read, APIGroups: []string{""}, Resources: g.some([]string{"pods", "configmaps", "services", "pods/log", "events"}, 3)}}
	case 1:
		return []rbacv1.PolicyRule{
			{Verbs: append(read, write...), APIGroups: []string{"apps"}, Resources: g.some([]string{"deployments", "statefulsets", "replicasets"}, 2)},
			{Verbs: append(read, write...), APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}},
		}
	case 2:
		return []rbacv1.PolicyRule{
			{Verbs: []string{"create", "get"}, APIGroups: []string{""}, Resources: g.some([]string{"pods/exec", "pods/attach", "pods/portforward"}, 2)},
			{Verbs: []string{"get", "update", "patch"}, APIGroups: []string{"apps", ""}, Resources: []string{"*/scale"}},
		}
	default:
		return []rbacv1.PolicyRule{
			{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{fmt.Sprintf("app-config-%d", i%1000)}},
			{Verbs: read, APIGroups: []string{""}, Resources: []string{"configmaps"}},
		}
	}
}

func (g *synth) tenantSubjects(ns, team string) []rbacv1.Subject {
	n := 1 + g.rng.IntN(3)
	out := make([]rbacv1.Subject, 0, n)
	for range n {
		switch r := g.rng.IntN(100); {
		case r < 40:
			s := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: g.pick([]string{"runner", "deployer"}), Namespace: ns}
			if g.rng.IntN(2) == 0 {
				s.Namespace = "" // defaulted to the binding's namespace
			}
			out = append(out, s)
		case r < 65:
			out = append(out, userSubject(fmt.Sprintf("user-%d", g.rng.IntN(3*max(g.size.Namespaces, 1)))))
		case r < 85:
			out = append(out, groupSubject(team))
		case r < 95:
			out = append(out, groupSubject("system:serviceaccounts:"+ns))
		default:
			other := tenantName(g.rng.IntN(max(g.size.Namespaces, 1)))
			out = append(out, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "runner", Namespace: other})
		}
	}
	return out
}

func userSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func groupSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

// clusterRoles makes plain roles with random rules (some wildcards, some
// non-resource URLs) and aggregated roles selecting labels the plain roles
// carry; aggregated role j may carry aggregated role j-1's label, which
// makes chains.
func (g *synth) clusterRoles(snap *Snapshot) {
	nAgg := max(g.size.ClusterRoles/10, 1)
	nPlain := max(g.size.ClusterRoles-nAgg, 1)
	for j := range nAgg {
		g.aggregated = append(g.aggregated, fmt.Sprintf("synthetic-aggregate-%03d", j))
	}
	for j := range nPlain {
		name := fmt.Sprintf("synthetic-role-%04d", j)
		g.plain = append(g.plain, name)
		labels := map[string]string{}
		if g.rng.IntN(10) < 3 {
			labels[synthAggLabel+g.pick(g.aggregated)] = "true"
		}
		snap.ClusterRoles = append(snap.ClusterRoles, rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Rules:      g.clusterRules(),
		})
	}
	for j, name := range g.aggregated {
		labels := map[string]string{}
		if j > 0 && g.rng.IntN(2) == 0 {
			labels[synthAggLabel+g.aggregated[j-1]] = "true"
		}
		snap.ClusterRoles = append(snap.ClusterRoles, rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
				{MatchLabels: map[string]string{synthAggLabel + name: "true"}},
			}},
		})
	}
}

func (g *synth) clusterRules() []rbacv1.PolicyRule {
	verbs := []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "impersonate", "bind", "escalate", "*"}
	groups := []string{"", "apps", "batch", "rbac.authorization.k8s.io", "networking.k8s.io", "example.com", "*"}
	resources := []string{"pods", "pods/exec", "pods/log", "secrets", "configmaps", "deployments", "deployments/scale",
		"jobs", "roles", "rolebindings", "networkpolicies", "widgets", "*/status", "*/scale", "*"}
	urls := []string{"/healthz", "/healthz/*", "/metrics", "/logs/*", "/version", "/apis/*"}
	n := 1 + g.rng.IntN(4)
	out := make([]rbacv1.PolicyRule, 0, n)
	for range n {
		if g.rng.IntN(10) == 0 {
			out = append(out, rbacv1.PolicyRule{Verbs: []string{g.pick([]string{"get", "post", "*"})}, NonResourceURLs: g.some(urls, 2)})
			continue
		}
		r := rbacv1.PolicyRule{Verbs: g.some(verbs, 3), APIGroups: g.some(groups, 2), Resources: g.some(resources, 3)}
		if g.rng.IntN(5) == 0 {
			r.ResourceNames = g.some([]string{"alpha", "beta", "gamma"}, 2)
		}
		out = append(out, r)
	}
	return out
}

func (g *synth) clusterRoleBindings(snap *Snapshot) {
	all := append(append([]string(nil), g.plain...), g.aggregated...)
	for j := range g.size.ClusterRoleBindings {
		var subjects []rbacv1.Subject
		for range 1 + g.rng.IntN(2) {
			switch r := g.rng.IntN(10); {
			case r < 4:
				subjects = append(subjects, userSubject(fmt.Sprintf("user-%d", g.rng.IntN(3*max(g.size.Namespaces, 1)))))
			case r < 7:
				subjects = append(subjects, groupSubject(fmt.Sprintf("team-%03d", g.rng.IntN(97))))
			default:
				ns := tenantName(g.rng.IntN(max(g.size.Namespaces, 1)))
				subjects = append(subjects, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "deployer", Namespace: ns})
			}
		}
		snap.ClusterRoleBindings = append(snap.ClusterRoleBindings, rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("synthetic-binding-%05d", j)},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: g.pick(all)},
			Subjects:   subjects,
		})
	}
}
