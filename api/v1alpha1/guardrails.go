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
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=tnd,categories=bulkhead
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

// Quota becomes the namespace's ResourceQuota. Unset fields take the
// defaults document's value, then bulkhead's built-in default.
type Quota struct {
	// GPUs is how many GPUs (of GPUResource) pods may request in total.
	GPUs *resource.Quantity `json:"gpus,omitempty"`
	// GPUResource is the extended resource GPUs counts. Default nvidia.com/gpu.
	GPUResource corev1.ResourceName `json:"gpuResource,omitempty"`
	// ExtendedResources caps other extended resources, e.g. MIG profiles
	// (nvidia.com/mig-1g.10gb: 2). Keys are resource names.
	ExtendedResources map[corev1.ResourceName]resource.Quantity `json:"extendedResources,omitempty"`
	CPU               *resource.Quantity                        `json:"cpu,omitempty"`     // requests.cpu
	Memory            *resource.Quantity                        `json:"memory,omitempty"`  // requests.memory
	Pods              *resource.Quantity                        `json:"pods,omitempty"`    // pods
	Storage           *resource.Quantity                        `json:"storage,omitempty"` // requests.storage
	// PersistentVolumeClaims caps the number of claims.
	PersistentVolumeClaims *resource.Quantity `json:"persistentVolumeClaims,omitempty"`
}

// Limits becomes the namespace's LimitRange for containers.
type Limits struct {
	// DefaultRequest is what a container without requests asks for.
	DefaultRequest corev1.ResourceList `json:"defaultRequest,omitempty"`
	// Default is the limit of a container without limits.
	Default corev1.ResourceList `json:"default,omitempty"`
	// Max is the largest limit a container may set.
	Max corev1.ResourceList `json:"max,omitempty"`
}

// PodSecurityLevel is a Pod Security Standards level.
type PodSecurityLevel string

const (
	PodSecurityBaseline   PodSecurityLevel = "baseline"
	PodSecurityRestricted PodSecurityLevel = "restricted"
	PodSecurityPrivileged PodSecurityLevel = "privileged"
)

// PodSecurityLevels lists the levels in the order messages show them.
var PodSecurityLevels = []PodSecurityLevel{PodSecurityBaseline, PodSecurityRestricted, PodSecurityPrivileged}

// NetworkMode says whether the namespace's pods are isolated.
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
type EgressMode string

const (
	// EgressOpen leaves egress alone (default).
	EgressOpen EgressMode = "open"
	// EgressRestricted allows egress only to the same namespace, cluster DNS and EgressCIDRs.
	EgressRestricted EgressMode = "restricted"
)

// EgressModes lists the modes in the order messages show them.
var EgressModes = []EgressMode{EgressOpen, EgressRestricted}

// Network becomes the namespace's NetworkPolicies.
type Network struct {
	// Mode is isolated (default) or open.
	Mode NetworkMode `json:"mode,omitempty"`
	// AllowFrom admits ingress from other namespaces or pods, e.g. the
	// ingress controller or monitoring.
	AllowFrom []NetworkPeer `json:"allowFrom,omitempty"`
	// Egress is open (default) or restricted.
	Egress EgressMode `json:"egress,omitempty"`
	// EgressCIDRs are extra destinations when Egress is restricted.
	EgressCIDRs []string `json:"egressCIDRs,omitempty"`
}

// NetworkPeer names where traffic may come from. Namespace is a shorthand
// for a NamespaceSelector on kubernetes.io/metadata.name.
type NetworkPeer struct {
	Namespace         string                `json:"namespace,omitempty"`
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	PodSelector       *metav1.LabelSelector `json:"podSelector,omitempty"`
}
