package audit

import (
	"cmp"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// objectRules judges namespaces and token Secrets (patterns 13 and 18).
func (a *auditor) objectRules() {
	for _, ns := range a.snap.Namespaces {
		t, ok := a.tenantOf[ns.Name]
		if !ok {
			continue
		}
		switch ns.Labels["pod-security.kubernetes.io/enforce"] {
		case "baseline", "restricted":
			continue
		}
		a.add(Finding{
			Rule: "no-pod-security", Pattern: 13, Severity: High, Tenant: a.tenants[t].Name, Namespace: ns.Name,
			Objects: []string{objectKey("Namespace", "", ns.Name)},
			Message: fmt.Sprintf("Namespace %s has no Pod Security Admission enforce label at baseline or restricted: its pods may be privileged "+
				"or mount the node's filesystem, and from the node read every other tenant's data and tokens.", ns.Name),
			Fix: fmt.Sprintf("kubectl label namespace %s pod-security.kubernetes.io/enforce=restricted (or baseline); bulkhead apply sets it.", ns.Name),
		})
	}
	a.guardrails()
	for _, s := range a.snap.Secrets {
		if s.Type != corev1.SecretTypeServiceAccountToken {
			continue
		}
		t := a.tenantName(s.Namespace)
		sev := Medium
		if t == "" {
			sev = Low
		}
		a.add(Finding{
			Rule: "legacy-token", Pattern: 18, Severity: sev, Tenant: t, Namespace: s.Namespace,
			Subject: tokenOwner(s),
			Objects: []string{objectKey("Secret", s.Namespace, s.Name)},
			Message: fmt.Sprintf("Secret %s/%s holds a ServiceAccount token that never expires and survives the person who used it.", s.Namespace, s.Name),
			Fix: fmt.Sprintf("Issue expiring tokens instead (bulkhead kubeconfig, or kubectl create token) and delete the Secret "+
				"(kubectl delete secret %s -n %s).", s.Name, s.Namespace),
		})
	}
}

func subjectList(subjects []rbacv1.Subject, ns string) string {
	var out []string
	for _, s := range subjects {
		if s.Kind == rbacv1.ServiceAccountKind {
			out = append(out, saSubject(cmp.Or(s.Namespace, ns), s.Name).String())
		} else {
			out = append(out, s.Kind+" "+s.Name)
		}
	}
	if len(out) == 0 {
		return "no subjects"
	}
	return Abbreviate(out, 3)
}

func nsFlag(ns string) string {
	if ns == "" {
		return ""
	}
	return " -n " + ns
}

// guardrails reports tenant namespaces without network isolation or a
// ResourceQuota: PROCEDURE.md's open networks and unbounded GPUs. They are
// not RBAC, so they carry no ISOLATION.md pattern number.
func (a *auditor) guardrails() {
	// Policies add up: a namespace is isolated when one policy selects all
	// its pods for ingress and none lets every namespace in.
	isolated := map[string]bool{}
	opened := map[string]bool{}
	for _, np := range a.snap.NetworkPolicies {
		selectsAll, ingress := selectsAllForIngress(np)
		if selectsAll && ingress {
			isolated[np.Namespace] = true
		}
		if ingress && admitsEveryone(np) {
			opened[np.Namespace] = true
		}
	}
	quota := map[string]bool{}
	for _, q := range a.snap.ResourceQuotas {
		quota[q.Namespace] = true
	}
	in := "on the cluster"
	if !a.snap.Complete {
		in = "in the manifests read"
	}
	for _, t := range a.tenants {
		if !isolated[t.Namespace] || opened[t.Namespace] {
			a.add(Finding{
				Rule: "no-network-isolation", Severity: Medium, Tenant: t.Name, Namespace: t.Namespace,
				Objects: []string{objectKey("Namespace", "", t.Namespace)},
				Message: fmt.Sprintf("No NetworkPolicy %s isolates namespace %s: every pod of every tenant can connect to its pods "+
					"(notebooks, dashboards, model servers).", in, t.Namespace),
				Fix: "Add a NetworkPolicy with podSelector {} and policyTypes [Ingress] that admits only the namespace itself " +
					"(bulkhead apply renders bulkhead-isolate-ingress); it takes effect with a CNI that enforces NetworkPolicy.",
			})
		}
		if !quota[t.Namespace] {
			a.add(Finding{
				Rule: "no-quota", Severity: Medium, Tenant: t.Name, Namespace: t.Namespace,
				Objects: []string{objectKey("Namespace", "", t.Namespace)},
				Message: fmt.Sprintf("No ResourceQuota %s caps namespace %s: one tenant can take every GPU of the cluster.", in, t.Namespace),
				Fix:     "Add a ResourceQuota with requests.nvidia.com/gpu (and cpu, memory, pods); bulkhead apply renders one from the tenant's quota.",
			})
		}
	}
}

// selectsAllForIngress reports whether np selects every pod of its
// namespace, and whether it is an ingress policy.
func selectsAllForIngress(np networkingv1.NetworkPolicy) (all, ingress bool) {
	all = len(np.Spec.PodSelector.MatchLabels) == 0 && len(np.Spec.PodSelector.MatchExpressions) == 0
	ingress = len(np.Spec.PolicyTypes) == 0
	for _, pt := range np.Spec.PolicyTypes {
		ingress = ingress || pt == networkingv1.PolicyTypeIngress
	}
	return all, ingress
}

// admitsEveryone reports whether np lets some pods be reached from every
// namespace: a rule without peers, an empty namespaceSelector, or 0.0.0.0/0.
func admitsEveryone(np networkingv1.NetworkPolicy) bool {
	for _, rule := range np.Spec.Ingress {
		if len(rule.From) == 0 {
			return true
		}
		for _, peer := range rule.From {
			if peer.NamespaceSelector != nil && len(peer.NamespaceSelector.MatchLabels) == 0 && len(peer.NamespaceSelector.MatchExpressions) == 0 {
				return true
			}
			if peer.IPBlock != nil && (peer.IPBlock.CIDR == "0.0.0.0/0" || peer.IPBlock.CIDR == "::/0") {
				return true
			}
		}
	}
	return false
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// tokenOwner names the ServiceAccount a token Secret belongs to, if it says.
func tokenOwner(s corev1.Secret) string {
	if name := s.Annotations[corev1.ServiceAccountNameKey]; name != "" {
		return saSubject(s.Namespace, name).String()
	}
	return ""
}
