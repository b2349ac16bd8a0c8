package render

import (
	"encoding/json"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// PodSecurityVersion pins the Pod Security Standards version, so a control
// plane upgrade cannot silently change what a level allows.
const PodSecurityVersion = "v1.34"

// namespace renders the tenant's Namespace with its Pod Security labels and
// the subjects its admins may bind.
func namespace(t v1alpha1.Tenant) *corev1ac.NamespaceApplyConfiguration {
	labels := v1alpha1.OwnershipLabels(t.Name)
	level := string(t.Spec.PodSecurity)
	for _, mode := range []string{"enforce", "audit", "warn"} {
		labels["pod-security.kubernetes.io/"+mode] = level
		labels["pod-security.kubernetes.io/"+mode+"-version"] = PodSecurityVersion
	}
	ns := corev1ac.Namespace(t.Spec.Namespace).WithLabels(labels)
	var users, groups []string
	for _, m := range t.Spec.Members {
		switch m.Kind {
		case v1alpha1.UserMember:
			users = append(users, m.Name)
		case v1alpha1.GroupMember:
			groups = append(groups, m.Name)
		}
	}
	lines := make([]string, len(t.Spec.Members))
	for i, m := range t.Spec.Members {
		lines[i] = v1alpha1.MemberLine(m)
	}
	annotations := map[string]string{v1alpha1.MembersAnnotation: strings.Join(lines, "\n")}
	if c := t.Spec.Credentials; c != nil && c.MaxTokenTTL != nil {
		annotations[v1alpha1.MaxTokenTTLAnnotation] = c.MaxTokenTTL.Duration.String()
	}
	if len(users) > 0 {
		annotations[v1alpha1.UsersAnnotation] = strings.Join(users, "\n")
	}
	if len(groups) > 0 {
		annotations[v1alpha1.GroupsAnnotation] = strings.Join(groups, "\n")
	}
	return ns.WithAnnotations(annotations)
}

// quota renders the ResourceQuota; GPUs and other extended resources can
// only be capped on requests.
func quota(t v1alpha1.Tenant) *corev1ac.ResourceQuotaApplyConfiguration {
	q := t.Spec.Quota
	hard := corev1.ResourceList{}
	set := func(name corev1.ResourceName, v *resource.Quantity) {
		if v != nil {
			hard[name] = *v
		}
	}
	set(corev1.ResourceName("requests."+string(q.GPUResource)), q.GPUs)
	for name, v := range q.ExtendedResources {
		hard[corev1.ResourceName("requests."+string(name))] = v
	}
	set(corev1.ResourceRequestsCPU, q.CPU)
	set(corev1.ResourceRequestsMemory, q.Memory)
	set(corev1.ResourcePods, q.Pods)
	set(corev1.ResourceRequestsStorage, q.Storage)
	set(corev1.ResourcePersistentVolumeClaims, q.PersistentVolumeClaims)
	return corev1ac.ResourceQuota(v1alpha1.GuardrailName, t.Spec.Namespace).
		WithLabels(v1alpha1.OwnershipLabels(t.Name)).
		WithAnnotations(map[string]string{v1alpha1.GPUResourceAnnotation: string(q.GPUResource)}).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(hard))
}

// limitRange renders container defaults and maxima; nil when there are none.
func limitRange(t v1alpha1.Tenant) *corev1ac.LimitRangeApplyConfiguration {
	l := t.Spec.Limits
	if l == nil || len(l.DefaultRequest)+len(l.Default)+len(l.Max) == 0 {
		return nil
	}
	item := corev1ac.LimitRangeItem().WithType(corev1.LimitTypeContainer)
	if len(l.DefaultRequest) > 0 {
		item.WithDefaultRequest(l.DefaultRequest)
	}
	if len(l.Default) > 0 {
		item.WithDefault(l.Default)
	}
	if len(l.Max) > 0 {
		item.WithMax(l.Max)
	}
	return corev1ac.LimitRange(v1alpha1.GuardrailName, t.Spec.Namespace).
		WithLabels(v1alpha1.OwnershipLabels(t.Name)).
		WithSpec(corev1ac.LimitRangeSpec().WithLimits(item))
}

// Network policy names.
const (
	IngressPolicyName = "bulkhead-isolate-ingress"
	EgressPolicyName  = "bulkhead-restrict-egress"
)

// networkPolicies isolates the namespace: ingress only from itself and the
// allowed peers; with restricted egress, egress only to itself, cluster DNS
// and the listed CIDRs. An open network gets none.
func networkPolicies(t v1alpha1.Tenant) []Object {
	n := t.Spec.Network
	if n == nil || n.Mode == v1alpha1.NetworkOpen {
		return nil
	}
	ns := t.Spec.Namespace
	sameNamespace := networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector())
	from := []*networkingv1ac.NetworkPolicyPeerApplyConfiguration{sameNamespace}
	for _, p := range n.AllowFrom {
		from = append(from, peer(p))
	}
	objs := []Object{networkingv1ac.NetworkPolicy(IngressPolicyName, ns).
		WithLabels(v1alpha1.OwnershipLabels(t.Name)).
		WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(metav1ac.LabelSelector()).
			WithPolicyTypes(networkingv1.PolicyTypeIngress).
			WithIngress(networkingv1ac.NetworkPolicyIngressRule().WithFrom(from...)))}
	if n.Egress != v1alpha1.EgressRestricted {
		return objs
	}
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	dns := intstr.FromInt32(53)
	rules := []*networkingv1ac.NetworkPolicyEgressRuleApplyConfiguration{
		networkingv1ac.NetworkPolicyEgressRule().WithTo(networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector())),
		networkingv1ac.NetworkPolicyEgressRule().
			WithTo(networkingv1ac.NetworkPolicyPeer().
				WithNamespaceSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{corev1.LabelMetadataName: "kube-system"})).
				WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"k8s-app": "kube-dns"}))).
			WithPorts(
				networkingv1ac.NetworkPolicyPort().WithProtocol(udp).WithPort(dns),
				networkingv1ac.NetworkPolicyPort().WithProtocol(tcp).WithPort(dns)),
	}
	for _, cidr := range n.EgressCIDRs {
		rules = append(rules, networkingv1ac.NetworkPolicyEgressRule().
			WithTo(networkingv1ac.NetworkPolicyPeer().WithIPBlock(networkingv1ac.IPBlock().WithCIDR(cidr))))
	}
	return append(objs, networkingv1ac.NetworkPolicy(EgressPolicyName, ns).
		WithLabels(v1alpha1.OwnershipLabels(t.Name)).
		WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(metav1ac.LabelSelector()).
			WithPolicyTypes(networkingv1.PolicyTypeEgress).
			WithEgress(rules...)))
}

func peer(p v1alpha1.NetworkPeer) *networkingv1ac.NetworkPolicyPeerApplyConfiguration {
	out := networkingv1ac.NetworkPolicyPeer()
	switch {
	case p.Namespace != "":
		out.WithNamespaceSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{corev1.LabelMetadataName: p.Namespace}))
	case p.NamespaceSelector != nil:
		out.WithNamespaceSelector(selector(p.NamespaceSelector))
	}
	if p.PodSelector != nil {
		out.WithPodSelector(selector(p.PodSelector))
	}
	return out
}

// selector converts a validated LabelSelector; both types share one JSON form.
func selector(s *metav1.LabelSelector) *metav1ac.LabelSelectorApplyConfiguration {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a LabelSelector always marshals
	}
	out := metav1ac.LabelSelector()
	if err := json.Unmarshal(b, out); err != nil {
		panic(err)
	}
	return out
}
