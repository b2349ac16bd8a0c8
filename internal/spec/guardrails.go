package spec

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// BuiltinGuardrails returns what a tenant gets for every guardrail that
// neither it nor the TenantDefaults document sets. They suit a shared
// cluster: no GPUs unless granted, a generous but finite share of CPU,
// memory and storage, containers that ask for something when they do not
// say, baseline Pod Security and ingress only from the tenant itself. Every
// call returns a fresh value, so callers may change it.
func BuiltinGuardrails() v1alpha1.Guardrails {
	q := func(s string) *resource.Quantity {
		v := resource.MustParse(s)
		return &v
	}
	return v1alpha1.Guardrails{
		Quota: &v1alpha1.Quota{
			GPUs:                   q("0"),
			GPUResource:            "nvidia.com/gpu",
			CPU:                    q("32"),
			Memory:                 q("128Gi"),
			Pods:                   q("100"),
			Storage:                q("1Ti"),
			PersistentVolumeClaims: q("50"),
		},
		Limits: &v1alpha1.Limits{
			DefaultRequest: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("256Mi"),
			},
			Default: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")},
			// No maximum: a container may use what the quota leaves.
		},
		PodSecurity: v1alpha1.PodSecurityBaseline,
		Network:     &v1alpha1.Network{Mode: v1alpha1.NetworkIsolated, Egress: v1alpha1.EgressOpen},
		Credentials: &v1alpha1.Credentials{MaxTokenTTL: &metav1.Duration{Duration: DefaultMaxTokenTTL}},
	}
}

// DefaultMaxTokenTTL is the longest token lifetime a tenant gets unless its
// spec or defaults raise it: long enough for a week's work, short enough
// that a lost laptop's kubeconfig dies on its own.
const DefaultMaxTokenTTL = 7 * 24 * time.Hour

// ResolveGuardrails returns complete guardrails: every field is the tenant's
// own value if it sets one, else the defaults' value (defaults is the spec
// of a TenantDefaults document and may be nil), else the built-in default.
// Either argument may be nil; neither is changed, and the result shares no
// memory with them.
//
// The merge is field by field: each quota field on its own (gpus and
// unlimitedGPUs count as one field), with
// extendedResources merged by key; each LimitRange list merged by key; the
// network's mode, allowFrom (as a whole list), egress and egressCIDRs each on
// their own. A list that is set but empty ([]) counts as set, so a tenant can
// drop the peers or CIDRs it would inherit.
//
// One exception keeps the result consistent: a level that opts out of
// isolation also discards what it would inherit for it. A network mode of
// open discards inherited allowFrom, restricted egress and egressCIDRs, and
// an egress that is not restricted discards inherited egressCIDRs. Values a
// level sets itself are never discarded; Validate reports them when they
// contradict.
//
// Resolving resolved guardrails again changes nothing.
func ResolveGuardrails(tenant, defaults *v1alpha1.Guardrails) v1alpha1.Guardrails {
	builtin := BuiltinGuardrails()
	// Highest precedence first.
	levels := []*v1alpha1.Guardrails{tenant, defaults, &builtin}
	out := v1alpha1.Guardrails{
		Quota:   resolveQuota(levels),
		Limits:  resolveLimits(levels),
		Network: resolveNetwork(levels),
	}
	for _, g := range levels {
		if g != nil && g.Credentials != nil && g.Credentials.MaxTokenTTL != nil {
			out.Credentials = &v1alpha1.Credentials{MaxTokenTTL: &metav1.Duration{Duration: g.Credentials.MaxTokenTTL.Duration}}
			break
		}
	}
	for _, g := range levels {
		if g != nil && g.PodSecurity != "" {
			out.PodSecurity = g.PodSecurity
			break
		}
	}
	return out
}

func resolveQuota(levels []*v1alpha1.Guardrails) *v1alpha1.Quota {
	var quotas []*v1alpha1.Quota
	for _, g := range levels {
		if g != nil && g.Quota != nil {
			quotas = append(quotas, g.Quota)
		}
	}
	pick := func(get func(*v1alpha1.Quota) *resource.Quantity) *resource.Quantity {
		for _, q := range quotas {
			if v := get(q); v != nil {
				c := v.DeepCopy()
				return &c
			}
		}
		return nil
	}
	out := &v1alpha1.Quota{
		CPU:                    pick(func(q *v1alpha1.Quota) *resource.Quantity { return q.CPU }),
		Memory:                 pick(func(q *v1alpha1.Quota) *resource.Quantity { return q.Memory }),
		Pods:                   pick(func(q *v1alpha1.Quota) *resource.Quantity { return q.Pods }),
		Storage:                pick(func(q *v1alpha1.Quota) *resource.Quantity { return q.Storage }),
		PersistentVolumeClaims: pick(func(q *v1alpha1.Quota) *resource.Quantity { return q.PersistentVolumeClaims }),
	}
	// gpus and unlimitedGPUs are one setting: the first level that sets
	// either decides (gpus, should a level wrongly set both).
	for _, q := range quotas {
		if q.GPUs != nil || q.UnlimitedGPUs {
			out.GPUs = pick(func(*v1alpha1.Quota) *resource.Quantity { return q.GPUs })
			out.UnlimitedGPUs = q.GPUs == nil
			break
		}
	}
	for _, q := range quotas {
		if q.GPUResource != "" {
			out.GPUResource = q.GPUResource
			break
		}
	}
	var lists []corev1.ResourceList
	for _, q := range quotas {
		lists = append(lists, q.ExtendedResources)
	}
	out.ExtendedResources = mergeLists(lists)
	return out
}

func resolveLimits(levels []*v1alpha1.Guardrails) *v1alpha1.Limits {
	merge := func(get func(*v1alpha1.Limits) corev1.ResourceList) corev1.ResourceList {
		var lists []corev1.ResourceList
		for _, g := range levels {
			if g != nil && g.Limits != nil {
				lists = append(lists, get(g.Limits))
			}
		}
		return mergeLists(lists)
	}
	return &v1alpha1.Limits{
		DefaultRequest: merge(func(l *v1alpha1.Limits) corev1.ResourceList { return l.DefaultRequest }),
		Default:        merge(func(l *v1alpha1.Limits) corev1.ResourceList { return l.Default }),
		Max:            merge(func(l *v1alpha1.Limits) corev1.ResourceList { return l.Max }),
	}
}

// mergeLists merges resource lists by key, earlier lists winning; nil when
// the result is empty, so that resolving twice gives equal values.
func mergeLists(lists []corev1.ResourceList) corev1.ResourceList {
	var out corev1.ResourceList
	for _, l := range slices.Backward(lists) {
		for k, v := range l {
			if out == nil {
				out = corev1.ResourceList{}
			}
			out[k] = v.DeepCopy()
		}
	}
	return out
}

func resolveNetwork(levels []*v1alpha1.Guardrails) *v1alpha1.Network {
	nets := make([]*v1alpha1.Network, len(levels))
	for i, g := range levels {
		if g != nil {
			nets[i] = g.Network
		}
	}
	// at returns the first level that sets a field; the built-ins set mode
	// and egress, so those are always found.
	at := func(set func(*v1alpha1.Network) bool) int {
		for i, n := range nets {
			if n != nil && set(n) {
				return i
			}
		}
		return len(nets)
	}
	modeAt := at(func(n *v1alpha1.Network) bool { return n.Mode != "" })
	egressAt := at(func(n *v1alpha1.Network) bool { return n.Egress != "" })
	allowAt := at(func(n *v1alpha1.Network) bool { return n.AllowFrom != nil })
	cidrAt := at(func(n *v1alpha1.Network) bool { return n.EgressCIDRs != nil })

	out := &v1alpha1.Network{Mode: nets[modeAt].Mode, Egress: nets[egressAt].Egress}
	if allowAt < len(nets) {
		out.AllowFrom = make([]v1alpha1.NetworkPeer, 0, len(nets[allowAt].AllowFrom))
		for _, p := range nets[allowAt].AllowFrom {
			out.AllowFrom = append(out.AllowFrom, v1alpha1.NetworkPeer{
				Namespace:         p.Namespace,
				NamespaceSelector: p.NamespaceSelector.DeepCopy(),
				PodSelector:       p.PodSelector.DeepCopy(),
			})
		}
	}
	if cidrAt < len(nets) {
		out.EgressCIDRs = slices.Clip(append([]string{}, nets[cidrAt].EgressCIDRs...))
	}
	if out.Mode == v1alpha1.NetworkOpen {
		if allowAt > modeAt {
			out.AllowFrom = nil
		}
		if egressAt > modeAt {
			out.Egress = v1alpha1.EgressOpen
		}
		if cidrAt > modeAt {
			out.EgressCIDRs = nil
		}
	}
	if out.Egress != v1alpha1.EgressRestricted && cidrAt > egressAt {
		out.EgressCIDRs = nil
	}
	return out
}
