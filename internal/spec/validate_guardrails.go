package spec

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// adder records a problem with a hint on what to do.
type adder func(fe *field.Error, hint string)

// checkGuardrails checks each guardrail a document sets on its own (the
// spec of a Tenant or of a TenantDefaults; both put them under spec).
// checkCombined checks them together with what they inherit.
func checkGuardrails(g *v1alpha1.Guardrails) []finding {
	var out []finding
	add := func(fe *field.Error, hint string) {
		out = append(out, finding{err: problem(fe, hint)})
	}
	spec := field.NewPath("spec")
	checkQuota(g.Quota, spec.Child("quota"), add)
	if l := g.Limits; l != nil {
		p := spec.Child("limits")
		checkLimitList(l.DefaultRequest, p.Child("defaultRequest"), add)
		checkLimitList(l.Default, p.Child("default"), add)
		checkLimitList(l.Max, p.Child("max"), add)
		checkZeroMax(l.Max, p.Child("max"), add)
	}
	if g.PodSecurity != "" && !slices.Contains(v1alpha1.PodSecurityLevels, g.PodSecurity) {
		add(field.NotSupported(spec.Child("podSecurity"), g.PodSecurity, v1alpha1.PodSecurityLevels), "set podSecurity to one of them")
	}
	checkNetwork(g.Network, spec.Child("network"), add)
	checkCredentials(g.Credentials, spec.Child("credentials"), add)
	return out
}

func checkQuota(q *v1alpha1.Quota, p *field.Path, add adder) {
	if q == nil {
		return
	}
	// GPUs and objects are counted in whole units; the API server insists
	// for pods and claims, and a container can only request whole GPUs.
	for _, c := range []struct {
		name  string
		value *resource.Quantity
		whole bool
	}{
		{"gpus", q.GPUs, true},
		{"cpu", q.CPU, false},
		{"memory", q.Memory, false},
		{"pods", q.Pods, true},
		{"storage", q.Storage, false},
		{"persistentVolumeClaims", q.PersistentVolumeClaims, true},
	} {
		if c.value != nil {
			checkQuantity(*c.value, c.whole, p.Child(c.name), "use 0 to allow none", add)
		}
	}
	switch {
	case q.GPUs != nil && q.UnlimitedGPUs:
		add(field.Forbidden(p.Child("unlimitedGPUs"), "may not be set together with gpus: unlimitedGPUs lifts the GPU cap that gpus sets"),
			"keep one of them")
	case q.GPUs != nil:
		checkBound(*q.GPUs, v1alpha1.MaxGPUs, p.Child("gpus"), "no tenant of a real cluster gets more GPUs",
			"lower it, or remove gpus and set unlimitedGPUs: true for no GPU cap", add)
	}
	if q.GPUResource != "" {
		if msg := extendedResourceProblem(q.GPUResource); msg != "" {
			add(field.Invalid(p.Child("gpuResource"), string(q.GPUResource), msg),
				"name the extended resource the GPU device plugin advertises, such as nvidia.com/gpu or amd.com/gpu")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(q.ExtendedResources)) {
		kp := p.Child("extendedResources").Key(string(k))
		if msg := extendedResourceProblem(k); msg != "" {
			add(field.Invalid(kp, string(k), msg), "cap cpu, memory, pods and storage with their own quota fields; "+
				"extendedResources is for device plugin resources such as nvidia.com/mig-1g.10gb")
			continue
		}
		v := q.ExtendedResources[k]
		checkQuantity(v, true, kp, "use 0 to allow none", add)
		checkBound(v, v1alpha1.MaxExtendedResourceQuota, kp, "no tenant of a real cluster gets more of a device",
			"lower it, or remove the entry for no cap", add)
	}
	if n := len(q.ExtendedResources); n > maxListEntries {
		add(field.TooMany(p.Child("extendedResources"), n, maxListEntries), "keep the caps that matter; a resource left out has no cap")
	}
}

// maxListEntries bounds the quota's and the LimitRange's maps, as the CRD's
// schema does (its CEL rules over their values cost too much beyond that).
const maxListEntries = 5

// checkBound refuses a count above max (a quota of 10^23 GPUs caps
// nothing and is a typo); why says why no real value is that large.
// Negative and fractional values are checkQuantity's to report.
func checkBound(v resource.Quantity, bound int64, p *field.Path, why, hint string, add adder) {
	if v.Sign() < 0 || v.Cmp(*resource.NewQuantity(bound, resource.DecimalSI)) <= 0 {
		return
	}
	add(field.Invalid(p, v.String(), fmt.Sprintf("must be at most %d: %s, so a larger cap is most likely a typo", bound, why)), hint)
}

// checkLimitList checks the keys and values of one LimitRange list.
func checkLimitList(l corev1.ResourceList, p *field.Path, add adder) {
	if len(l) > maxListEntries {
		add(field.TooMany(p, len(l), maxListEntries), "keep the resources that matter")
	}
	for _, k := range slices.Sorted(maps.Keys(l)) {
		kp := p.Key(string(k))
		switch k {
		case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
			checkQuantity(l[k], false, kp, "remove it or give a positive amount", add)
			continue
		}
		if !strings.Contains(string(k), "/") {
			hint := "use cpu, memory, ephemeral-storage or an extended resource name"
			if s := suggest(string(k), []string{"cpu", "memory", "ephemeral-storage"}); s != "" {
				hint = fmt.Sprintf("rename it to %q", s)
			}
			add(field.Invalid(kp, string(k), "must be cpu, memory, ephemeral-storage or an extended resource name such as nvidia.com/gpu"), hint)
			continue
		}
		if msg := extendedResourceProblem(k); msg != "" {
			add(field.Invalid(kp, string(k), msg), "use cpu, memory, ephemeral-storage or an extended resource name")
			continue
		}
		checkQuantity(l[k], true, kp, "remove it or give a positive amount", add)
	}
}

// checkZeroMax refuses a max of zero CPU, memory or ephemeral storage: every
// container uses some, so such a max refuses every pod. (A max of 0 for an
// extended resource is meaningful: no container may ask for it.)
func checkZeroMax(limit corev1.ResourceList, p *field.Path, add adder) {
	for _, k := range slices.Sorted(maps.Keys(limit)) {
		if v := limit[k]; isContainerResource(k) && v.IsZero() {
			add(field.Invalid(p.Key(string(k)), v.String(), "must be more than 0: every container uses some "+string(k)+
				", so a max of 0 refuses every pod"), "remove it for no maximum, or give a positive amount")
		}
	}
}

// isContainerResource reports whether every container uses some of k.
func isContainerResource(k corev1.ResourceName) bool {
	return k == corev1.ResourceCPU || k == corev1.ResourceMemory || k == corev1.ResourceEphemeralStorage
}

func checkQuantity(v resource.Quantity, whole bool, p *field.Path, hint string, add adder) {
	rounded := v.DeepCopy()
	switch {
	case v.Sign() < 0:
		add(field.Invalid(p, v.String(), "must not be negative"), hint)
	case whole && !rounded.RoundUp(0):
		add(field.Invalid(p, v.String(), "must be a whole number"), "round it")
	}
}

// extendedResourceProblem says why name is no extended resource name (such
// as nvidia.com/gpu), "" if it is one. apimachinery has no such check; it
// lives in k8s.io/kubernetes (pkg/apis/core/v1/helper.IsExtendedResourceName),
// which bulkhead does not import. This is the same rule: a qualified name
// with a domain prefix, outside the kubernetes.io namespace Kubernetes keeps
// for its own resources, not starting with "requests." and still a
// qualified name once a quota puts "requests." in front of it.
func extendedResourceProblem(name corev1.ResourceName) string {
	s := string(name)
	if msgs := validation.IsQualifiedName(s); len(msgs) > 0 {
		return strings.Join(msgs, "; ")
	}
	switch {
	case !strings.Contains(s, "/"):
		return "must be an extended resource name with a domain prefix, such as nvidia.com/gpu"
	case strings.Contains(s, corev1.ResourceDefaultNamespacePrefix):
		return "must be an extended resource name; names in the kubernetes.io domain are Kubernetes' own resources"
	case strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix):
		return `must be an extended resource name without the "requests." prefix, which bulkhead adds itself`
	}
	if msgs := validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix + s); len(msgs) > 0 {
		return "is too long: the quota's requests." + s + " would be invalid: " + strings.Join(msgs, "; ")
	}
	return ""
}

func checkNetwork(n *v1alpha1.Network, p *field.Path, add adder) {
	if n == nil {
		return
	}
	if n.Mode != "" && !slices.Contains(v1alpha1.NetworkModes, n.Mode) {
		add(field.NotSupported(p.Child("mode"), n.Mode, v1alpha1.NetworkModes), "set mode to one of them")
	}
	if n.Egress != "" && !slices.Contains(v1alpha1.EgressModes, n.Egress) {
		add(field.NotSupported(p.Child("egress"), n.Egress, v1alpha1.EgressModes), "set egress to one of them")
	}
	if l := len(n.EgressCIDRs); l > maxEgressCIDRs {
		add(field.TooMany(p.Child("egressCIDRs"), l, maxEgressCIDRs), "merge them into wider prefixes")
	}
	if l := len(n.AllowFrom); l > maxPeers {
		add(field.TooMany(p.Child("allowFrom"), l, maxPeers), "select the namespaces with one namespaceSelector")
	}
	for i, c := range n.EgressCIDRs {
		cp := p.Child("egressCIDRs").Index(i)
		prefix, err := netip.ParsePrefix(c)
		if err != nil {
			// The error repeats the input as netip.ParsePrefix("..."); keep
			// only the reason.
			_, why, _ := strings.Cut(err.Error(), "): ")
			add(field.Invalid(cp, c, "must be a CIDR such as 10.20.0.0/16 or fd00::/8: "+why), "fix the address or the prefix length")
		} else if prefix.Masked() != prefix {
			add(field.Invalid(cp, c, "has address bits set beyond the prefix length"), fmt.Sprintf("write it as %s", prefix.Masked()))
		}
	}
	for i, peer := range n.AllowFrom {
		checkPeer(peer, p.Child("allowFrom").Index(i), add)
	}
}

// Bounds of the network lists, as in the CRD's schema.
const (
	maxEgressCIDRs = 64
	maxPeers       = 32
)

func checkPeer(peer v1alpha1.NetworkPeer, p *field.Path, add adder) {
	switch {
	case peer.Namespace != "" && peer.NamespaceSelector != nil:
		add(field.Forbidden(p.Child("namespaceSelector"), "may not be set together with namespace"),
			"keep one of them; namespace: x is short for a namespaceSelector on "+corev1.LabelMetadataName+": x")
	case peer.Namespace == "" && peer.NamespaceSelector == nil:
		add(field.Required(p.Child("namespace"), "a peer needs namespace or namespaceSelector"),
			"set one of them; pods of the tenant's own namespace are always admitted")
	}
	if peer.Namespace != "" {
		if msgs := apivalidation.ValidateNamespaceName(peer.Namespace, false); len(msgs) > 0 {
			add(field.Invalid(p.Child("namespace"), peer.Namespace, dnsProblem(peer.Namespace, msgs, labelChars)), "fix the namespace name")
		}
	}
	checkSelector(peer.NamespaceSelector, p.Child("namespaceSelector"), add)
	checkSelector(peer.PodSelector, p.Child("podSelector"), add)
}

// checkSelector validates a label selector. matchLabels are checked key by
// key, as metadata labels are, so each problem points at its own line;
// ValidateLabelSelector does the rest.
func checkSelector(s *metav1.LabelSelector, p *field.Path, add adder) {
	if s == nil {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
		for _, fe := range metavalidation.ValidateLabels(map[string]string{k: s.MatchLabels[k]}, p.Child("matchLabels").Key(k)) {
			add(fe, "fix the label")
		}
	}
	exprs := &metav1.LabelSelector{MatchExpressions: s.MatchExpressions}
	for _, fe := range metavalidation.ValidateLabelSelector(exprs, metavalidation.LabelSelectorValidationOptions{}, p) {
		hint := "fix the selector"
		if strings.HasSuffix(fe.Field, ".operator") {
			hint = "use In, NotIn, Exists or DoesNotExist"
		}
		add(fe, hint)
	}
}

// checkCredentials keeps the token lifetime cap between what the
// TokenRequest API can issue at all and a year, beyond which a cap is a typo
// (87600h for 8760h) rather than a policy.
func checkCredentials(c *v1alpha1.Credentials, p *field.Path, add adder) {
	if c == nil || c.MaxTokenTTL == nil {
		return
	}
	ttl, tp := c.MaxTokenTTL.Duration, p.Child("maxTokenTTL")
	lo, hi := FormatDuration(v1alpha1.MinTokenTTL), FormatDuration(v1alpha1.MaxTokenTTLLimit)
	switch {
	case ttl < v1alpha1.MinTokenTTL:
		add(field.Invalid(tp, FormatDuration(ttl), "must be at least "+lo+", the shortest lifetime the TokenRequest API issues"),
			"raise it to "+lo+" or more")
	case ttl > v1alpha1.MaxTokenTTLLimit:
		add(field.Invalid(tp, FormatDuration(ttl), "must be at most "+hi+" (a year); a longer cap is most likely a typo"),
			"lower it to "+hi+" or less (720h is 30 days)")
	}
}
