package render

import (
	"sync"

	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// Verbs, spelled out: a `*` verb would also grant verbs added later.
var (
	readVerbs  = []string{"get", "list", "watch"}
	writeVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
)

// grant is one rule before it becomes an apply configuration.
type grant struct {
	group     string
	resources []string
	verbs     []string
}

// workloads are what a researcher runs and manages in their own namespace.
// Deliberately absent: resourcequotas, limitranges and networkpolicies for
// writing (the tenant's own guardrails), anything in rbac.authorization.k8s.io
// (a tenant must not open its namespace to others), serviceaccounts/token (no
// minting tokens), and the `extensions` group, which no longer serves these.
var workloads = []grant{
	{"", []string{"pods", "services", "configmaps", "secrets", "persistentvolumeclaims"}, writeVerbs},
	{"", []string{"pods/exec", "pods/attach", "pods/portforward"}, []string{"get", "create"}},
	{"apps", []string{"deployments", "statefulsets", "replicasets", "deployments/scale", "statefulsets/scale", "replicasets/scale"}, writeVerbs},
	{"batch", []string{"jobs", "cronjobs"}, writeVerbs},
	{"autoscaling", []string{"horizontalpodautoscalers"}, writeVerbs},
	{"policy", []string{"poddisruptionbudgets"}, writeVerbs},
	{"networking.k8s.io", []string{"ingresses"}, writeVerbs},
}

// observations are read-only for every level: a researcher should see why a
// pod is pending (events, quota use) without being able to change the cause.
var observations = []grant{
	{"", []string{"pods/log", "pods/status", "events", "endpoints", "serviceaccounts", "resourcequotas", "limitranges", "namespaces"}, readVerbs},
	{"events.k8s.io", []string{"events"}, readVerbs},
	{"discovery.k8s.io", []string{"endpointslices"}, readVerbs},
	{"networking.k8s.io", []string{"networkpolicies"}, readVerbs},
}

// administration lets a tenant admin share the namespace within the team.
// RBAC alone cannot say "only our Roles, only our people": the admission
// policy (admission.go) does.
var administration = []grant{
	{"rbac.authorization.k8s.io", []string{"rolebindings"}, writeVerbs},
	{"rbac.authorization.k8s.io", []string{"roles"}, readVerbs},
}

// sharedRules holds each level's rules once: every tenant's Role of a level
// has the same rules, and ten thousand tenants need not hold ten thousand
// copies. Rendered objects are never changed after rendering (apply only
// adds annotations to their metadata), so sharing is safe.
var sharedRules = sync.OnceValue(func() map[v1alpha1.RoleName][]*rbacv1ac.PolicyRuleApplyConfiguration {
	out := map[v1alpha1.RoleName][]*rbacv1ac.PolicyRuleApplyConfiguration{}
	for _, level := range v1alpha1.RoleNames {
		out[level] = Rules(level)
	}
	return out
})

// Rules returns the rules of one access level.
func Rules(level v1alpha1.RoleName) []*rbacv1ac.PolicyRuleApplyConfiguration {
	var gs []grant
	switch level {
	case v1alpha1.AdminRole:
		gs = append(append(gs, workloads...), observations...)
		gs = append(gs, administration...)
	case v1alpha1.EditRole:
		gs = append(append(gs, workloads...), observations...)
	case v1alpha1.ViewRole:
		gs = append(gs, readOnly(workloads)...)
		gs = append(gs, observations...)
	}
	rules := make([]*rbacv1ac.PolicyRuleApplyConfiguration, 0, len(gs))
	for _, g := range gs {
		rules = append(rules, rbacv1ac.PolicyRule().
			WithAPIGroups(g.group).
			WithResources(g.resources...).
			WithVerbs(g.verbs...))
	}
	return rules
}

// readOnly turns workload grants into view grants: read verbs, no secrets, no
// exec/attach/port-forward (they run code, which is not viewing).
func readOnly(gs []grant) []grant {
	var out []grant
	for _, g := range gs {
		var res []string
		for _, r := range g.resources {
			switch r {
			case "secrets", "pods/exec", "pods/attach", "pods/portforward":
				continue
			}
			res = append(res, r)
		}
		if len(res) > 0 {
			out = append(out, grant{g.group, res, readVerbs})
		}
	}
	return out
}
