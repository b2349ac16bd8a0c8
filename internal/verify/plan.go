package verify

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// adder records checks of one member: scope, target namespace, expected outcome.
type adder func(scope Scope, ns string, expect Outcome, ps ...probe)

// plan lists what isolation requires of member m of tenant t; others are
// the tenants whose namespaces it probes.
func plan(t v1alpha1.Tenant, m v1alpha1.Member, others []v1alpha1.Tenant, add adder) {
	own := t.Spec.Namespace
	runsPods := m.Role != v1alpha1.ViewRole
	if runsPods {
		add(Own, own, Allowed, listPods, createPod, createJob)
	} else {
		add(Own, own, Allowed, listPods)
		add(Own, own, Forbidden, createPod, listSecrets)
	}
	for _, o := range others {
		if o.Spec.Namespace != own {
			add(Other, o.Spec.Namespace, Forbidden, listPods, getSecret, createPod)
		}
	}
	add(Cluster, "", Forbidden, listNamespaces, listNodes, createCRB)
	add(Guardrail, own, Forbidden, deleteQuota, patchQuota, deleteLimits, patchLimits, deleteNetpol, patchNamespace)

	if runsPods {
		if t.Spec.PodSecurity != "" && t.Spec.PodSecurity != v1alpha1.PodSecurityPrivileged {
			add(Guardrail, own, Rejected, privilegedPod, hostPathPod)
		}
		if q := t.Spec.Quota; q != nil && q.GPUs != nil && q.GPUResource != "" {
			add(Guardrail, own, Rejected, gpuPod(string(q.GPUResource), q.GPUs.Value()))
		}
	}

	if m.Role != v1alpha1.AdminRole {
		add(Guardrail, own, Forbidden, createRoleBinding)
		return
	}
	// An admin shares the namespace within the team, and only there.
	ownSA := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: probeName, Namespace: own}
	add(Own, own, Allowed, bind("bind bulkhead-view to own serviceaccount", roleRef("Role", v1alpha1.RoleObjectName(v1alpha1.ViewRole)), ownSA))
	everyone := rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"}
	add(Guardrail, own, Rejected,
		bind("bind system:authenticated", roleRef("Role", v1alpha1.RoleObjectName(v1alpha1.ViewRole)), everyone),
		bind("bind another tenant's serviceaccount", roleRef("Role", v1alpha1.RoleObjectName(v1alpha1.ViewRole)), otherSA(t, others)),
		bind("bind a clusterrole", roleRef("ClusterRole", "view"), ownSA))
}

// otherSA names a ServiceAccount of another tenant, or of a namespace no
// tenant has when there is no other tenant.
func otherSA(t v1alpha1.Tenant, tenants []v1alpha1.Tenant) rbacv1.Subject {
	for _, o := range tenants {
		if o.Spec.Namespace == t.Spec.Namespace {
			continue
		}
		for _, m := range o.Spec.Members {
			if m.Kind == v1alpha1.ServiceAccountMember {
				return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: m.Name, Namespace: o.Spec.Namespace}
			}
		}
	}
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "intruder", Namespace: strings.TrimSuffix("not-"+t.Spec.Namespace, "-")}
}

// neighbours returns the tenants member checks of tenant i probe: all others,
// or, with max > 0, the next max tenants round the ring. Every namespace is
// then still probed by max other tenants' members, and verify stays linear
// in the number of tenants instead of quadratic.
func neighbours(tenants []v1alpha1.Tenant, i, max int) []v1alpha1.Tenant {
	if max <= 0 || max >= len(tenants)-1 {
		return tenants
	}
	out := make([]v1alpha1.Tenant, 0, max)
	for k := 1; k <= max; k++ {
		out = append(out, tenants[(i+k)%len(tenants)])
	}
	return out
}
