// Package v1alpha1 holds the Tenant types. The same Go types are the spec file
// format read by `bulkhead apply -f` and the CRDs the controller watches
// (generated from them by controller-gen: `make generate`).
//
// +kubebuilder:object:generate=true
// +groupName=bulkhead.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	// GroupName is the API group of every bulkhead kind.
	GroupName = "bulkhead.dev"
	// Version is the only version so far.
	Version = "v1alpha1"
	// TenantKind is the kind of a Tenant document.
	TenantKind = "Tenant"
)

// SchemeGroupVersion is group and version of the types in this package.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: Version}

// Tenant is one isolated workspace: a namespace and the subjects that work in it.
// It is cluster-scoped; metadata.name names the tenant.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=tn,categories=bulkhead
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.status.namespace`
// +kubebuilder:printcolumn:name="Members",type=integer,JSONPath=`.status.memberCount`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Verified",type=string,JSONPath=`.status.conditions[?(@.type=="Verified")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Tenant struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec TenantSpec `json:"spec,omitempty"`
	// Status is written by the controller; spec files leave it out.
	Status TenantStatus `json:"status,omitempty"`
}

// TenantList is a list of Tenants.
//
// +kubebuilder:object:root=true
type TenantList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Tenant `json:"items"`
}

// DeletionPolicy says what happens to a tenant's namespace when the tenant
// is removed.
type DeletionPolicy string

const (
	// DeletionRetain cordons the namespace: credentials revoked, bindings
	// removed, new pods refused, data kept (default).
	DeletionRetain DeletionPolicy = "Retain"
	// DeletionDelete deletes the namespace with everything in it.
	DeletionDelete DeletionPolicy = "Delete"
)

// DeletionPolicies lists the policies in the order messages show them.
var DeletionPolicies = []DeletionPolicy{DeletionRetain, DeletionDelete}

// TenantSpec is what the platform team declares for a tenant.
type TenantSpec struct {
	// Namespace the tenant owns. Defaults to metadata.name.
	Namespace string `json:"namespace,omitempty"`
	// Members who work in the namespace. Defaults to one ServiceAccount
	// "<name>-user" with role edit.
	Members []Member `json:"members,omitempty"`

	// Defaults names the TenantDefaults this tenant inherits guardrails
	// from. Unset: bulkhead's built-in defaults only.
	Defaults string `json:"defaults,omitempty"`

	// Guardrails override the named TenantDefaults and bulkhead's
	// built-in defaults, field by field.
	Guardrails `json:",inline"`

	// DeletionPolicy is what deleting the Tenant object does to its
	// namespace: Retain (default) cordons it and keeps its data, Delete
	// deletes it. The CLI's removals (`apply --prune`) use --delete-data.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// MemberKind says who a member is.
type MemberKind string

const (
	// ServiceAccountMember is a ServiceAccount bulkhead creates in the tenant's namespace.
	ServiceAccountMember MemberKind = "ServiceAccount"
	// UserMember is a user authenticated elsewhere (OIDC, client certificates).
	UserMember MemberKind = "User"
	// GroupMember is a group authenticated elsewhere.
	GroupMember MemberKind = "Group"
)

// MemberKinds lists the supported kinds in the order error messages show them.
var MemberKinds = []MemberKind{ServiceAccountMember, UserMember, GroupMember}

// RoleName is an access level inside the tenant's namespace.
type RoleName string

const (
	// AdminRole is edit plus managing RoleBindings in the namespace, limited
	// by a ValidatingAdmissionPolicy to the tenant's own Roles and subjects.
	AdminRole RoleName = "admin"
	// EditRole runs and manages workloads; it cannot touch RBAC or guardrails.
	EditRole RoleName = "edit"
	// ViewRole reads workloads; it cannot read secrets.
	ViewRole RoleName = "view"
)

// RoleNames lists the supported roles in the order error messages show them.
var RoleNames = []RoleName{AdminRole, EditRole, ViewRole}

// Member is one subject of a tenant.
type Member struct {
	// Name of the ServiceAccount, user or group.
	Name string `json:"name"`
	// Kind is ServiceAccount (default), User or Group.
	Kind MemberKind `json:"kind,omitempty"`
	// Role is admin, edit (default) or view.
	Role RoleName `json:"role,omitempty"`
}

// DefaultMemberName is the ServiceAccount a tenant without members gets.
func DefaultMemberName(tenant string) string { return tenant + "-user" }
