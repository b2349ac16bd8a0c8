package verify

import (
	"cmp"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// adder records checks of one member: scope, target namespace, expected outcome.
type adder func(scope Scope, ns string, expect Outcome, ps ...probe)

// item is one check of a tenant, the probe that answers it and the
// identity it is about.
type item struct {
	check Check
	probe probe
	// member is the tenant's member the check is about; nil for a leftover
	// binding's subject, which is only ever asked about with a
	// SubjectAccessReview.
	member *v1alpha1.Member
	as     access.UserInfo
	why    string // for a leftover: why it must be refused
}

// checks lists every check of tenant t, in report order: each member's
// (what plan requires of it), then each leftover binding's subject's
// (planLeftover). others are the namespaces of other tenants to probe;
// intruder is a ServiceAccount outside t that an admin must not bind. Run
// and Review answer this one list, with requests and with reviews.
func checks(t v1alpha1.Tenant, others []string, intruder rbacv1.Subject, left []leftover) []item {
	var out []item
	collect := func(base Check, as access.UserInfo, m *v1alpha1.Member, why string) adder {
		return func(scope Scope, ns string, expect Outcome, ps ...probe) { // one check per probe
			for _, p := range ps {
				c := base
				c.Scope, c.Namespace, c.Action, c.Expect = scope, ns, p.action, expect
				out = append(out, item{check: c, probe: p, member: m, as: as, why: why})
			}
		}
	}
	ns := t.Spec.Namespace
	for i := range t.Spec.Members {
		m := &t.Spec.Members[i]
		if isLeftover(*m, ns, left) {
			continue
		}
		base := Check{Tenant: t.Name, Member: string(m.Kind) + "/" + m.Name, Role: string(m.Role)}
		plan(t, *m, others, intruder, collect(base, memberIdentity(ns, *m), m, ""))
	}
	for _, l := range left {
		base := Check{Tenant: t.Name, Member: l.member(ns), Role: cmp.Or(string(l.role), "none")}
		planLeftover(l, ns, collect(base, l.subject.RequestUser(), nil, l.reason(ns)))
	}
	return out
}

// groupUser prefixes the synthetic user a group member is checked as: a
// group authenticates no one by itself, so verify asks as a user in it.
const groupUser = "bulkhead-verify:"

// memberIdentity is who a member's requests are authorized as: a
// ServiceAccount token's user and groups, an authenticated user, or a
// synthetic user in the member group.
func memberIdentity(ns string, m v1alpha1.Member) access.UserInfo {
	switch m.Kind {
	case v1alpha1.ServiceAccountMember:
		return access.ServiceAccountUser(ns, m.Name)
	case v1alpha1.GroupMember:
		return access.User(groupUser+m.Name, m.Name)
	}
	return access.User(m.Name)
}

// plan lists what isolation requires of member m of tenant t; others are
// the namespaces of other tenants it probes, intruder a ServiceAccount of
// none of t's that an admin must not bind.
func plan(t v1alpha1.Tenant, m v1alpha1.Member, others []string, intruder rbacv1.Subject, add adder) {
	own := t.Spec.Namespace
	runsPods := m.Role != v1alpha1.ViewRole
	if runsPods {
		add(Own, own, Allowed, listPods, createPod, createJob)
	} else {
		add(Own, own, Allowed, listPods)
		add(Own, own, Forbidden, createPod, listSecrets)
	}
	for _, o := range others {
		if o != own {
			add(Other, o, Forbidden, listPods, getSecret, createPod)
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
		rejectedBind("bind system:authenticated", roleRef("Role", v1alpha1.RoleObjectName(v1alpha1.ViewRole)), everyone),
		rejectedBind("bind another tenant's serviceaccount", roleRef("Role", v1alpha1.RoleObjectName(v1alpha1.ViewRole)), intruder),
		rejectedBind("bind a clusterrole", roleRef("ClusterRole", "view"), ownSA))
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
	return intruderIn(t, nil)
}

// intruderIn names a ServiceAccount in the first of the namespaces others
// that is not t's, or in a namespace no tenant has when there is none:
// the subject is all an admission policy looks at.
func intruderIn(t v1alpha1.Tenant, others []string) rbacv1.Subject {
	for _, o := range others {
		if o != t.Spec.Namespace {
			return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "intruder", Namespace: o}
		}
	}
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "intruder", Namespace: strings.TrimSuffix("not-"+t.Spec.Namespace, "-")}
}

// neighbours returns the tenants member checks of tenant i probe: the
// others from the next one round the ring, all of them or, with max > 0,
// the next max. Every namespace is then still probed by max other
// tenants' members, and verify stays linear in the number of tenants
// instead of quadratic.
func neighbours(tenants []v1alpha1.Tenant, i, max int) []v1alpha1.Tenant {
	n := len(tenants) - 1
	if max > 0 {
		n = min(n, max)
	}
	out := make([]v1alpha1.Tenant, 0, n)
	for k := 1; k <= n; k++ {
		out = append(out, tenants[(i+k)%len(tenants)])
	}
	return out
}

// namespaces are the tenants' namespaces.
func namespaces(ts []v1alpha1.Tenant) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Spec.Namespace
	}
	return out
}
