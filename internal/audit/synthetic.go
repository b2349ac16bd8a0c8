package audit

import (
	"fmt"
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SyntheticCluster builds the benchmark cluster: per namespace 2
// ServiceAccounts, 4 Roles and 10 RoleBindings, plus namespaces/10
// ClusterRoles (a tenth aggregated) and 2·namespaces/5 ClusterRoleBindings,
// so 5,000 namespaces give 50,000 RoleBindings, 20,000 Roles, 500
// ClusterRoles and 2,000 ClusterRoleBindings. Tenants are rendered from a
// few templates, as a provisioning tool or a Helm chart would; the fraction
// broken of them carry one hand-made mistake each (cross-tenant bindings,
// wildcards, dangling and misplaced roles, quota rights, legacy tokens,
// cluster-wide bindings of tenant subjects, ...), replacing a templated
// object so the counts stay exact. The same seed gives the same cluster.
func SyntheticCluster(namespaces int, broken float64, seed uint64) *Snapshot {
	g := &clusterGen{rng: rand.New(rand.NewPCG(seed, 0xa0d17)), n: namespaces}
	snap := &Snapshot{Source: fmt.Sprintf("synthetic cluster: %d namespaces, %.0f%% of tenants misconfigured", namespaces, broken*100)}
	g.clusterRoles(snap)
	for i := range namespaces {
		g.tenant(snap, i, g.rng.Float64() < broken)
	}
	g.clusterRoleBindings(snap)
	return snap
}

type clusterGen struct {
	rng       *rand.Rand
	n         int
	operators []string // operator ClusterRoles, one ServiceAccount each
}

func synthTenant(i int) string { return fmt.Sprintf("tenant-%05d", i) }

var (
	synthRead  = []string{"get", "list", "watch"}
	synthWrite = []string{"get", "list", "watch", "create", "update", "patch", "delete"}
)

// roleTemplates are the four Roles of every tenant, in three variants each
// (chart versions), so rule lists repeat across namespaces.
func (g *clusterGen) roleRules(slot, variant int) []rbacv1.PolicyRule {
	switch slot {
	case 0: // edit
		rules := []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "services", "configmaps", "persistentvolumeclaims"}, Verbs: synthWrite},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets"}, Verbs: synthWrite},
			{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: synthWrite},
		}
		if variant > 0 {
			rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec", "pods/log"}, Verbs: []string{"get", "create"}})
		}
		return rules
	case 1: // view
		return []rbacv1.PolicyRule{{APIGroups: []string{"", "apps", "batch"}, Resources: []string{"pods", "services", "deployments", "jobs", "events"}[:3+variant], Verbs: synthRead}}
	case 2: // deploy
		return []rbacv1.PolicyRule{
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "update", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: synthRead[:1+variant]},
		}
	default: // quota-viewer
		return []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"resourcequotas", "limitranges"}, Verbs: synthRead}}
	}
}

var synthRoleNames = []string{"edit", "view", "deploy", "quota-viewer"}

func rb(ns, name, kind, role string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
	return rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role},
		Subjects:   subjects,
	}
}

func user(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func sa(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
}

func (g *clusterGen) tenant(snap *Snapshot, i int, broken bool) {
	ns := synthTenant(i)
	variant := g.rng.IntN(3)
	snap.Namespaces = append(snap.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   ns,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "baseline", "team": fmt.Sprintf("team-%02d", i%40)},
	}})
	snap.NetworkPolicies = append(snap.NetworkPolicies, networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "isolate"},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}},
		},
	})
	snap.ResourceQuotas = append(snap.ResourceQuotas, corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gpus"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"requests.nvidia.com/gpu": resource.MustParse("2")}},
	})
	for _, name := range []string{"runner", "deployer"} {
		snap.ServiceAccounts = append(snap.ServiceAccounts, corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
	}
	roles := make([]rbacv1.Role, 4)
	for slot, name := range synthRoleNames {
		roles[slot] = rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: g.roleRules(slot, variant)}
	}
	bindings := []rbacv1.RoleBinding{
		rb(ns, "lead", "Role", "edit", user(ns+"-lead")),
		rb(ns, "researchers", "Role", "edit", user(ns+"-a"), user(ns+"-b")),
		rb(ns, "reviewers", "Role", "view", user(ns+"-reviewer"), rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: ns + "-readers"}),
		rb(ns, "runner", "Role", "edit", sa(ns, "runner")),
		rb(ns, "deployer", "Role", "deploy", sa(ns, "deployer")),
		rb(ns, "quota", "Role", "quota-viewer", user(ns+"-lead"), user(ns+"-a"), user(ns+"-b")),
		rb(ns, "cluster-view", "ClusterRole", "tenant-observer", user(ns+"-reviewer")),
		rb(ns, "observer", "ClusterRole", "tenant-observer", sa("monitoring", "prometheus")),
		rb(ns, "ci", "ClusterRole", g.operators[g.rng.IntN(len(g.operators))], sa("ci", "pipelines")),
		rb(ns, "platform", "ClusterRole", "platform-support", rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "platform-oncall"}),
	}
	if broken {
		g.breakTenant(snap, i, roles, bindings)
	}
	snap.Roles = append(snap.Roles, roles...)
	snap.RoleBindings = append(snap.RoleBindings, bindings...)
}

// breakTenant makes one of the mistakes ISOLATION.md lists, in place.
func (g *clusterGen) breakTenant(snap *Snapshot, i int, roles []rbacv1.Role, bindings []rbacv1.RoleBinding) {
	ns := synthTenant(i)
	other := synthTenant((i + 1 + g.rng.IntN(g.n-1)) % g.n)
	switch g.rng.IntN(10) {
	case 0: // another tenant's ServiceAccount bound here
		bindings[8] = rb(ns, "shared", "Role", "edit", sa(other, "runner"))
	case 1: // the hand procedure's wildcard role
		roles[0].Rules = []rbacv1.PolicyRule{{APIGroups: []string{"", "apps", "batch"}, Resources: []string{"*"}, Verbs: []string{"*"}}}
	case 2: // a RoleBinding to a Role that is not there (dangling)
		bindings[3].RoleRef.Name = "runner-role"
	case 3: // the copy-paste slip: this tenant's Role created in another namespace
		roles[2].Namespace = other
		roles[2].Name = ns + "-deploy"
		bindings[4].RoleRef.Name = ns + "-deploy"
	case 4: // researchers may delete their quota
		roles[3].Rules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"resourcequotas", "limitranges"}, Verbs: synthWrite}}
	case 5: // a long-lived token, readable by everyone who reads secrets
		snap.Secrets = append(snap.Secrets, corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer-token",
				Annotations: map[string]string{corev1.ServiceAccountNameKey: "deployer"}},
			Type: corev1.SecretTypeServiceAccountToken,
		})
		roles[0].Rules = append(roles[0].Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: synthRead})
	case 6: // the lead may bind roles: opens the namespace
		roles[0].Rules = append(roles[0].Rules, rbacv1.PolicyRule{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"rolebindings"}, Verbs: synthWrite})
	case 7: // no pod security
		delete(snap.Namespaces[len(snap.Namespaces)-1].Labels, "pod-security.kubernetes.io/enforce")
	case 8: // the runner may mint the deployer's token; deployer is bound in another tenant
		roles[0].Rules = append(roles[0].Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}})
		bindings[9] = rb(other, ns+"-deployer", "Role", "view", sa(ns, "deployer"))
	case 9: // a RoleBinding to the aggregated edit role
		bindings[0].RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"}
	}
}

// clusterRoles: the built-in aggregated view/edit/admin, a tenant-observer,
// and operators' roles (a few broad), namespaces/10 in all.
func (g *clusterGen) clusterRoles(snap *Snapshot) {
	total := max(g.n/10, 20)
	agg := func(name string) rbacv1.ClusterRole {
		return rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, AggregationRule: &rbacv1.AggregationRule{
			ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"rbac.example.com/aggregate-to-" + name: "true"}}},
		}}
	}
	snap.ClusterRoles = append(snap.ClusterRoles, agg("view"), agg("edit"), agg("admin"),
		rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tenant-observer"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "services", "endpoints"}, Verbs: synthRead}}},
		rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "platform-support"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"", "apps"}, Resources: []string{"pods", "pods/log", "deployments", "events"}, Verbs: synthRead}}})
	nAgg := total/10 - 3 // view, edit and admin are the first three
	for j := range nAgg {
		snap.ClusterRoles = append(snap.ClusterRoles, agg(fmt.Sprintf("aggregate-%03d", j)))
	}
	for j := range total - len(snap.ClusterRoles) + 0 {
		if len(snap.ClusterRoles) >= total {
			break
		}
		name := fmt.Sprintf("operator-%03d", j)
		group := fmt.Sprintf("op%03d.example.com", j)
		rules := []rbacv1.PolicyRule{{APIGroups: []string{group}, Resources: []string{"widgets", "widgets/status"}, Verbs: synthWrite}}
		if j%25 == 0 { // a few operators run pods and read secrets everywhere
			rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods", "secrets"}, Verbs: synthWrite})
		}
		labels := map[string]string{}
		if j%7 == 0 {
			labels["rbac.example.com/aggregate-to-"+[]string{"view", "edit", "admin"}[j%3]] = "true"
		}
		snap.ClusterRoles = append(snap.ClusterRoles, rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Rules: rules})
		g.operators = append(g.operators, name)
	}
}

// clusterRoleBindings: each operator's ServiceAccount, platform groups, and
// per-tenant CI identities, 2·namespaces/5 in all; a broken tenant's SA
// bound cluster-wide is one of the mistakes.
func (g *clusterGen) clusterRoleBindings(snap *Snapshot) {
	total := max(g.n*2/5, 10)
	crb := func(name, role string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
		return rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}, Subjects: subjects}
	}
	for j, op := range g.operators {
		if len(snap.ClusterRoleBindings) == total {
			return
		}
		snap.ClusterRoleBindings = append(snap.ClusterRoleBindings, crb(op, op, sa(fmt.Sprintf("operators-%02d", j%20), op)))
	}
	for j := 0; len(snap.ClusterRoleBindings) < total; j++ {
		switch {
		case j%50 == 49: // a tenant's ServiceAccount bound cluster-wide
			snap.ClusterRoleBindings = append(snap.ClusterRoleBindings, crb(fmt.Sprintf("tenant-wide-%04d", j), "tenant-observer", sa(synthTenant(g.rng.IntN(g.n)), "runner")))
		default:
			snap.ClusterRoleBindings = append(snap.ClusterRoleBindings, crb(fmt.Sprintf("platform-%04d", j), "view",
				rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("platform-team-%02d", j%30)}))
		}
	}
}
