package v1alpha1

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TenantDefaultsKind is the kind of the document that states guardrails once
// for the tenants that name it.
const TenantDefaultsKind = "TenantDefaults"

// TenantDefaults holds guardrails shared by many tenants. It is cluster-scoped
// and named; a Tenant inherits it by naming it in spec.defaults, field by
// field beneath its own values and above bulkhead's built-in defaults.
// Inheriting nothing but the built-ins, it is judged against them (the rules
// on egressCIDRs and the GPU resource below).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=tnd,categories=bulkhead
// +kubebuilder:validation:XValidation:rule=`!has(self.spec) || !has(self.spec.network) || has(self.spec.network.egress) || !has(self.spec.network.egressCIDRs) || size(self.spec.network.egressCIDRs) == 0`,message="egressCIDRs only apply to restricted egress, and egress is open (bulkhead's built-in default); set egress: restricted, or remove egressCIDRs",fieldPath=`.spec.network.egressCIDRs`,reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule=`!has(self.spec) || !has(self.spec.quota) || has(self.spec.quota.gpuResource) || !has(self.spec.quota.extendedResources) || !("nvidia.com/gpu" in self.spec.quota.extendedResources)`,message="Duplicate value: nvidia.com/gpu is the GPU resource (bulkhead's built-in default), which quota.gpus caps; set quota.gpus instead",fieldPath=`.spec.quota.extendedResources`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TenantDefaults struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec Guardrails `json:"spec,omitempty"`
}

// TenantDefaultsList is a list of TenantDefaults.
//
// +kubebuilder:object:root=true
type TenantDefaultsList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TenantDefaults `json:"items"`
}

// Guardrails are the limits a tenant cannot lift itself. They are inlined in
// TenantSpec and form the spec of TenantDefaults.
type Guardrails struct {
	// Quota caps what the namespace may request; GPUs first.
	Quota *Quota `json:"quota,omitempty"`
	// Limits are container defaults and maxima (a LimitRange).
	Limits *Limits `json:"limits,omitempty"`
	// PodSecurity is the Pod Security Admission level enforced in the
	// namespace: baseline (default), restricted, or privileged (an explicit
	// opt-out that audit reports).
	PodSecurity PodSecurityLevel `json:"podSecurity,omitempty"`
	// Network isolates the namespace's pods.
	Network *Network `json:"network,omitempty"`
	// Credentials bound the tokens bulkhead issues for the tenant.
	Credentials *Credentials `json:"credentials,omitempty"`
}

// Credentials bound the tokens `bulkhead kubeconfig` issues.
type Credentials struct {
	// MaxTokenTTL is the longest lifetime a token may be issued with,
	// whatever the API server would allow. Default 168h (7 days).
	// It is a Go duration (720h, 90m), between MinTokenTTL and MaxTokenTTLLimit.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule=`self.matches(r"^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$")`,messageExpression=`"must be a duration such as 720h or 90m, not \"" + self + "\": a number with a unit, h (hours), m (minutes) or s (seconds); durations have no unit for days (30 days is 720h)"`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r"^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$") || (duration(self) >= duration("10m") && duration(self) <= duration("8760h"))`,messageExpression=`duration(self) < duration("10m") ? "must be at least 10m, the shortest lifetime the TokenRequest API issues; raise it to 10m or more" : "must be at most 8760h (a year); a longer cap is most likely a typo; lower it to 8760h or less (720h is 30 days)"`
	MaxTokenTTL *metav1.Duration `json:"maxTokenTTL,omitempty"`
}

// Bounds of Credentials.MaxTokenTTL. MinTokenTTL is the shortest lifetime
// the TokenRequest API issues, so a lower cap would refuse every token;
// a cap above MaxTokenTTLLimit (a year) is taken for a typo, since a token
// that outlives it is no longer an expiring one in any useful sense.
const (
	MinTokenTTL      = 10 * time.Minute
	MaxTokenTTLLimit = 365 * 24 * time.Hour
)

// Bounds of quota counts. A GPU cap above MaxGPUs (10,000: more than any
// one tenant of a real cluster gets, and the largest clusters hold a few
// times that) is taken for a typo, as is an extended resource cap above
// MaxExtendedResourceQuota (100,000: room for MIG slices, up to seven per
// GPU, and for device plugins that count shares). Without the bound,
// gpus: 100000000000000000000000 would be a quota of 100e21, which caps
// nothing. No cap is said explicitly: Quota.UnlimitedGPUs, or an
// extendedResources entry left out.
const (
	MaxGPUs                  = 10000
	MaxExtendedResourceQuota = 100000
)

// Quota becomes the namespace's ResourceQuota. Unset fields take the
// defaults document's value, then bulkhead's built-in default. The GPU
// resource is capped by gpus alone, never also by extendedResources.
//
// +kubebuilder:validation:XValidation:rule=`!(has(self.unlimitedGPUs) && self.unlimitedGPUs && has(self.gpus))`,message="may not be set together with gpus: unlimitedGPUs lifts the GPU cap that gpus sets; keep one of them",fieldPath=`.unlimitedGPUs`,reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule=`!has(self.gpuResource) || !has(self.extendedResources) || !(self.gpuResource in self.extendedResources)`,messageExpression=`"Duplicate value: " + self.gpuResource + " is the GPU resource (spec.quota.gpuResource), which quota.gpus caps; set quota.gpus instead"`,fieldPath=`.extendedResources`
type Quota struct {
	// GPUs is how many GPUs (of GPUResource) pods may request in total.
	// +kubebuilder:validation:XValidation:rule=`(size(string(self)) <= 64 && (string(self).lastIndexOf("e") < 0 || size(string(self)) - string(self).lastIndexOf("e") <= 4) && (string(self).lastIndexOf("E") < 0 || size(string(self)) - string(self).lastIndexOf("E") <= 4))`,message="must be a quantity such as 4, 500m or 64Gi, of at most 64 characters and with an exponent of at most three characters; write it with a suffix such as G or Ti"
	// +kubebuilder:validation:XValidation:rule=`!string(self).startsWith("-")`,message="must not be negative; use 0 to allow none"
	// +kubebuilder:validation:XValidation:rule=`!((size(string(self)) <= 64 && (string(self).lastIndexOf("e") < 0 || size(string(self)) - string(self).lastIndexOf("e") <= 4) && (string(self).lastIndexOf("E") < 0 || size(string(self)) - string(self).lastIndexOf("E") <= 4)) && isQuantity(string(self))) || quantity(string(self)).isInteger()`,message="must be a whole number; round it"
	// At most MaxGPUs: a larger cap is taken for a typo. For no GPU cap at
	// all, set UnlimitedGPUs instead.
	// +kubebuilder:validation:XValidation:rule=`!((size(string(self)) <= 64 && (string(self).lastIndexOf("e") < 0 || size(string(self)) - string(self).lastIndexOf("e") <= 4) && (string(self).lastIndexOf("E") < 0 || size(string(self)) - string(self).lastIndexOf("E") <= 4)) && isQuantity(string(self))) || quantity(string(self)).compareTo(quantity("10000")) <= 0`,message="must be at most 10000: no tenant of a real cluster gets more GPUs, so a larger cap is most likely a typo; lower it, or remove gpus and set unlimitedGPUs: true for no GPU cap"
	GPUs *resource.Quantity `json:"gpus,omitempty"`
	// UnlimitedGPUs lifts the GPU cap: the quota gets no line for the GPU
	// resource, so pods may request as many GPUs as the cluster has. It is
	// the explicit form of "no cap" (gpus defaults to 0, none), may not be
	// set together with gpus, and is overridden by a gpus set at a level
	// of higher precedence (a tenant's gpus beats its defaults' unlimitedGPUs).
	UnlimitedGPUs bool `json:"unlimitedGPUs,omitempty"`
	// GPUResource is the extended resource GPUs counts. Default nvidia.com/gpu.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=317
	// +kubebuilder:validation:XValidation:rule=`!format.qualifiedName().validate(self).hasValue()`,message="must be a qualified name (an optional DNS subdomain prefix and '/', then at most 63 alphanumeric characters, '-', '_' or '.'); name the extended resource the GPU device plugin advertises, such as nvidia.com/gpu or amd.com/gpu"
	// +kubebuilder:validation:XValidation:rule=`self.contains("/")`,message="must be an extended resource name with a domain prefix, such as nvidia.com/gpu; name the extended resource the GPU device plugin advertises, such as nvidia.com/gpu or amd.com/gpu"
	// +kubebuilder:validation:XValidation:rule=`!self.contains("kubernetes.io/")`,message="must be an extended resource name; names in the kubernetes.io domain are Kubernetes' own resources; name the extended resource the GPU device plugin advertises, such as nvidia.com/gpu or amd.com/gpu"
	// +kubebuilder:validation:XValidation:rule=`!self.startsWith("requests.")`,message="must be an extended resource name without the \"requests.\" prefix, which bulkhead adds itself; name the extended resource the GPU device plugin advertises, such as nvidia.com/gpu or amd.com/gpu"
	// +kubebuilder:validation:XValidation:rule=`!format.qualifiedName().validate("requests." + self).hasValue()`,message="is too long: the quota's requests.<name> would be no valid resource name; name the extended resource the GPU device plugin advertises, such as nvidia.com/gpu or amd.com/gpu"
	GPUResource corev1.ResourceName `json:"gpuResource,omitempty"`
	// ExtendedResources caps other extended resources, e.g. MIG profiles
	// (nvidia.com/mig-1g.10gb: 2). Keys are resource names; values whole
	// numbers of at most MaxExtendedResourceQuota (the controller checks
	// both: one more CEL rule over the values costs more than a CRD may).
	// A resource left out has no cap.
	// +kubebuilder:validation:MaxProperties=5
	// +kubebuilder:validation:XValidation:rule=`self.all(k, !format.qualifiedName().validate(k).hasValue())`,message="keys must be a qualified name (an optional DNS subdomain prefix and '/', then at most 63 alphanumeric characters, '-', '_' or '.'); cap cpu, memory, pods and storage with their own quota fields, extendedResources is for device plugin resources such as nvidia.com/mig-1g.10gb"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k.contains("/"))`,message="keys must be an extended resource name with a domain prefix, such as nvidia.com/gpu; cap cpu, memory, pods and storage with their own quota fields, extendedResources is for device plugin resources such as nvidia.com/mig-1g.10gb"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, !k.contains("kubernetes.io/"))`,message="keys must be an extended resource name; names in the kubernetes.io domain are Kubernetes' own resources; cap cpu, memory, pods and storage with their own quota fields, extendedResources is for device plugin resources such as nvidia.com/mig-1g.10gb"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, !k.startsWith("requests."))`,message="keys must be an extended resource name without the \"requests.\" prefix, which bulkhead adds itself; cap cpu, memory, pods and storage with their own quota fields, extendedResources is for device plugin resources such as nvidia.com/mig-1g.10gb"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, !format.qualifiedName().validate("requests." + k).hasValue())`,message="keys is too long: the quota's requests.<name> would be no valid resource name; cap cpu, memory, pods and storage with their own quota fields, extendedResources is for device plugin resources such as nvidia.com/mig-1g.10gb"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, size(string(self[k])) <= 64)`,message="values must be quantities of at most 64 characters, such as 4, 500m or 64Gi"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, !string(self[k]).startsWith("-") && (string(self[k]).lowerAscii() + "e").indexOf("e") >= size(string(self[k])) - 4)`,message="values must not be negative, and an exponent has at most three characters; use 0 to allow none, and write large values with a suffix such as G or Ti"
	ExtendedResources map[corev1.ResourceName]resource.Quantity `json:"extendedResources,omitempty"`
	// CPU caps requests.cpu.
	// +kubebuilder:validation:XValidation:rule=`(size(string(self)) <= 64 && (string(self).lastIndexOf("e") < 0 || size(string(self)) - string(self).lastIndexOf("e") <= 4) && (string(self).lastIndexOf("E") < 0 || size(string(self)) - string(self).lastIndexOf("E") <= 4))`,message="must be a quantity such as 4, 500m or 64Gi, of at most 64 characters and with an exponent of at most three characters; write it with a suffix such as G or Ti"
	// +kubebuilder:validation:XValidation:rule=`!string(self).startsWith("-")`,message="must not be negative; use 0 to allow none"
	CPU *resource.Quantity `json:"cpu,omitempty"`
	// Memory caps requests.memory.
	// +kubebuilder:validation:XValidation:rule=`(size(string(self)) <= 64 && (string(self).lastIndexOf("e") < 0 || size(string(self)) - string(self).lastIndexOf("e") <= 4) && (string(self).lastIndexOf("E") < 0 || size(string(self)) - string(self).lastIndexOf("E") <= 4))`,message="must be a quantity such as 4, 500m or 64Gi, of at most 64 characters and with an exponent of at most three characters; write it with a suffix such as G or Ti"
	// +kubebuilder:validation:XValidation:rule=`!string(self).startsWith("-")`,message="must not be negative; use 0 to allow none"
	Memory *resource.Quantity `json:"memory,omitempty"`
	// Pods caps the number of pods.
	// +kubebuilder:validation:XValidation:rule=`(size(string(self)) <= 64 && (string(self).lastIndexOf("e") < 0 || size(string(self)) - string(self).lastIndexOf("e") <= 4) && (string(self).lastIndexOf("E") < 0 || size(string(self)) - string(self).lastIndexOf("E") <= 4))`,message="must be a quantity such as 4, 500m or 64Gi, of at most 64 characters and with an exponent of at most three characters; write it with a suffix such as G or Ti"
	// +kubebuilder:validation:XValidation:rule=`!string(self).startsWith("-")`,message="must not be negative; use 0 to allow none"
	// +kubebuilder:validation:XValidation:rule=`!((size(string(self)) <= 64 && (string(self).lastIndexOf("e") < 0 || size(string(self)) - string(self).lastIndexOf("e") <= 4) && (string(self).lastIndexOf("E") < 0 || size(string(self)) - string(self).lastIndexOf("E") <= 4)) && isQuantity(string(self))) || quantity(string(self)).isInteger()`,message="must be a whole number; round it"
	Pods *resource.Quantity `json:"pods,omitempty"`
	// Storage caps requests.storage.
	// +kubebuilder:validation:XValidation:rule=`(size(string(self)) <= 64 && (string(self).lastIndexOf("e") < 0 || size(string(self)) - string(self).lastIndexOf("e") <= 4) && (string(self).lastIndexOf("E") < 0 || size(string(self)) - string(self).lastIndexOf("E") <= 4))`,message="must be a quantity such as 4, 500m or 64Gi, of at most 64 characters and with an exponent of at most three characters; write it with a suffix such as G or Ti"
	// +kubebuilder:validation:XValidation:rule=`!string(self).startsWith("-")`,message="must not be negative; use 0 to allow none"
	Storage *resource.Quantity `json:"storage,omitempty"`
	// PersistentVolumeClaims caps the number of claims.
	// +kubebuilder:validation:XValidation:rule=`(size(string(self)) <= 64 && (string(self).lastIndexOf("e") < 0 || size(string(self)) - string(self).lastIndexOf("e") <= 4) && (string(self).lastIndexOf("E") < 0 || size(string(self)) - string(self).lastIndexOf("E") <= 4))`,message="must be a quantity such as 4, 500m or 64Gi, of at most 64 characters and with an exponent of at most three characters; write it with a suffix such as G or Ti"
	// +kubebuilder:validation:XValidation:rule=`!string(self).startsWith("-")`,message="must not be negative; use 0 to allow none"
	// +kubebuilder:validation:XValidation:rule=`!((size(string(self)) <= 64 && (string(self).lastIndexOf("e") < 0 || size(string(self)) - string(self).lastIndexOf("e") <= 4) && (string(self).lastIndexOf("E") < 0 || size(string(self)) - string(self).lastIndexOf("E") <= 4)) && isQuantity(string(self))) || quantity(string(self)).isInteger()`,message="must be a whole number; round it"
	PersistentVolumeClaims *resource.Quantity `json:"persistentVolumeClaims,omitempty"`
}

// Limits becomes the namespace's LimitRange for containers. Per resource,
// defaultRequest <= default <= max, as the API server insists for a
// LimitRange; the controller compares them (with what they inherit): CEL
// rules comparing quantities in maps cost more than a CRD may.
type Limits struct {
	// DefaultRequest is what a container without requests asks for.
	// +kubebuilder:validation:Type=object
	// +kubebuilder:validation:MaxProperties=5
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k in ["cpu", "memory", "ephemeral-storage"] || ((!format.qualifiedName().validate(k).hasValue()) && (k.contains("/")) && (!k.contains("kubernetes.io/")) && (!k.startsWith("requests.")) && (!format.qualifiedName().validate("requests." + k).hasValue())))`,message="keys must be cpu, memory, ephemeral-storage or an extended resource name such as nvidia.com/gpu; use one of them"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, size(string(self[k])) <= 64)`,message="values must be quantities of at most 64 characters, such as 4, 500m or 64Gi"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, !string(self[k]).startsWith("-") && (string(self[k]).lowerAscii() + "e").indexOf("e") >= size(string(self[k])) - 4)`,message="values must not be negative, and an exponent has at most three characters; use 0 to allow none, and write large values with a suffix such as G or Ti"
	DefaultRequest corev1.ResourceList `json:"defaultRequest,omitempty"`
	// Default is the limit of a container without limits.
	// +kubebuilder:validation:Type=object
	// +kubebuilder:validation:MaxProperties=5
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k in ["cpu", "memory", "ephemeral-storage"] || ((!format.qualifiedName().validate(k).hasValue()) && (k.contains("/")) && (!k.contains("kubernetes.io/")) && (!k.startsWith("requests.")) && (!format.qualifiedName().validate("requests." + k).hasValue())))`,message="keys must be cpu, memory, ephemeral-storage or an extended resource name such as nvidia.com/gpu; use one of them"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, size(string(self[k])) <= 64)`,message="values must be quantities of at most 64 characters, such as 4, 500m or 64Gi"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, !string(self[k]).startsWith("-") && (string(self[k]).lowerAscii() + "e").indexOf("e") >= size(string(self[k])) - 4)`,message="values must not be negative, and an exponent has at most three characters; use 0 to allow none, and write large values with a suffix such as G or Ti"
	Default corev1.ResourceList `json:"default,omitempty"`
	// Max is the largest limit a container may set.
	// +kubebuilder:validation:Type=object
	// +kubebuilder:validation:MaxProperties=5
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k in ["cpu", "memory", "ephemeral-storage"] || ((!format.qualifiedName().validate(k).hasValue()) && (k.contains("/")) && (!k.contains("kubernetes.io/")) && (!k.startsWith("requests.")) && (!format.qualifiedName().validate("requests." + k).hasValue())))`,message="keys must be cpu, memory, ephemeral-storage or an extended resource name such as nvidia.com/gpu; use one of them"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, size(string(self[k])) <= 64)`,message="values must be quantities of at most 64 characters, such as 4, 500m or 64Gi"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, !string(self[k]).startsWith("-") && (string(self[k]).lowerAscii() + "e").indexOf("e") >= size(string(self[k])) - 4)`,message="values must not be negative, and an exponent has at most three characters; use 0 to allow none, and write large values with a suffix such as G or Ti"
	Max corev1.ResourceList `json:"max,omitempty"`
}

// PodSecurityLevel is a Pod Security Standards level.
// +kubebuilder:validation:Enum=baseline;restricted;privileged
type PodSecurityLevel string

const (
	PodSecurityBaseline   PodSecurityLevel = "baseline"
	PodSecurityRestricted PodSecurityLevel = "restricted"
	PodSecurityPrivileged PodSecurityLevel = "privileged"
)

// PodSecurityLevels lists the levels in the order messages show them.
var PodSecurityLevels = []PodSecurityLevel{PodSecurityBaseline, PodSecurityRestricted, PodSecurityPrivileged}

// NetworkMode says whether the namespace's pods are isolated.
// +kubebuilder:validation:Enum=isolated;open
type NetworkMode string

const (
	// NetworkIsolated admits ingress only from the same namespace and from AllowFrom.
	NetworkIsolated NetworkMode = "isolated"
	// NetworkOpen renders no NetworkPolicy (an explicit opt-out that audit reports).
	NetworkOpen NetworkMode = "open"
)

// NetworkModes lists the modes in the order messages show them.
var NetworkModes = []NetworkMode{NetworkIsolated, NetworkOpen}

// EgressMode says where the namespace's pods may connect.
// +kubebuilder:validation:Enum=open;restricted
type EgressMode string

const (
	// EgressOpen leaves egress alone (default).
	EgressOpen EgressMode = "open"
	// EgressRestricted allows egress only to the same namespace, cluster DNS and EgressCIDRs.
	EgressRestricted EgressMode = "restricted"
)

// EgressModes lists the modes in the order messages show them.
var EgressModes = []EgressMode{EgressOpen, EgressRestricted}

// Network becomes the namespace's NetworkPolicies. The rules below compare
// what one document sets; a mode or egress inherited from a TenantDefaults
// is the controller's to compare.
//
// +kubebuilder:validation:XValidation:rule=`!has(self.mode) || self.mode != "open" || !has(self.allowFrom) || size(self.allowFrom) == 0`,message="the network mode is open, which admits every peer already; remove allowFrom, or set mode: isolated",fieldPath=`.allowFrom`,reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule=`!has(self.mode) || self.mode != "open" || !has(self.egress) || self.egress != "restricted"`,message="egress cannot be restricted when the network mode is open, which renders no NetworkPolicy at all; set mode: isolated, or remove egress",fieldPath=`.egress`,reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule=`!has(self.egress) || self.egress == "restricted" || !has(self.egressCIDRs) || size(self.egressCIDRs) == 0`,messageExpression=`"egressCIDRs only apply to restricted egress, and egress is " + self.egress + "; set egress: restricted, or remove egressCIDRs"`,fieldPath=`.egressCIDRs`,reason=FieldValueForbidden
type Network struct {
	// Mode is isolated (default) or open.
	Mode NetworkMode `json:"mode,omitempty"`
	// AllowFrom admits ingress from other namespaces or pods, e.g. the
	// ingress controller or monitoring.
	// +kubebuilder:validation:MaxItems=32
	AllowFrom []NetworkPeer `json:"allowFrom,omitempty"`
	// Egress is open (default) or restricted.
	Egress EgressMode `json:"egress,omitempty"`
	// EgressCIDRs are extra destinations when Egress is restricted.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:XValidation:rule=`isCIDR(self)`,messageExpression=`"\"" + self + "\" must be a CIDR such as 10.20.0.0/16 or fd00::/8; fix the address or the prefix length"`
	// +kubebuilder:validation:items:XValidation:rule=`!isCIDR(self) || cidr(self) == cidr(self).masked()`,messageExpression=`"\"" + self + "\" has address bits set beyond the prefix length; clear them, e.g. 10.20.0.0/16 rather than 10.20.1.0/16"`
	EgressCIDRs []string `json:"egressCIDRs,omitempty"`
}

// NetworkPeer names where traffic may come from. Namespace is a shorthand
// for a NamespaceSelector on kubernetes.io/metadata.name.
//
// +kubebuilder:validation:XValidation:rule=`!(has(self.namespace) && self.namespace != "" && has(self.namespaceSelector))`,message="may not be set together with namespace; keep one of them, namespace: x is short for a namespaceSelector on kubernetes.io/metadata.name: x",fieldPath=`.namespaceSelector`,reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule=`(has(self.namespace) && self.namespace != "") || has(self.namespaceSelector)`,message="a peer needs namespace or namespaceSelector; set one of them, pods of the tenant's own namespace are always admitted",fieldPath=`.namespace`,reason=FieldValueRequired
type NetworkPeer struct {
	// Namespace admits the pods of one namespace, by name.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule=`self == "" || !format.dns1123Label().validate(self).hasValue()`,messageExpression=`"\"" + self + "\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc'), at most 63 characters; fix the namespace name"`
	Namespace string `json:"namespace,omitempty"`
	// NamespaceSelector admits the pods of the namespaces it selects.
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// PodSelector narrows the admitted pods to those it selects.
	// Selectors are the controller's to check: metav1.LabelSelector bounds
	// none of its lists, and CEL rules over them cost more than a CRD may.
	PodSelector *metav1.LabelSelector `json:"podSelector,omitempty"`
}
