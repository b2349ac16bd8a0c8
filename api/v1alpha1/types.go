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
// The schema refuses what one Tenant can get wrong on its own (see
// docs/crd-validation.md); what needs other objects is the controller's to
// report (Ready=False, reason Invalid). The rules that read metadata.name
// sit here because a CRD cannot constrain metadata itself.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=tn,categories=bulkhead
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule=`!has(self.metadata.name) || (size(self.metadata.name) <= 63 && self.metadata.name.matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))`,messageExpression=`"metadata.name \"" + self.metadata.name + "\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc'), at most 63 characters; rename the tenant (its name becomes label values and object names)"`
// +kubebuilder:validation:XValidation:rule=`!has(self.metadata.name) || (has(self.spec) && has(self.spec.namespace) && self.spec.namespace != "") || (self.metadata.name != "default" && !self.metadata.name.startsWith("kube-"))`,messageExpression=`"metadata.name: the namespace defaults to the tenant name, and namespace \"" + self.metadata.name + "\" is reserved: " + (self.metadata.name == "default" ? "it is where objects without a namespace end up and is shared by every user of the cluster" : "kube-* namespaces belong to Kubernetes itself (kube-system, kube-public, kube-node-lease, ...)") + "; rename the tenant or set spec.namespace"`,reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule=`!has(self.spec) || (has(self.spec.defaults) && self.spec.defaults != "") || !has(self.spec.network) || has(self.spec.network.egress) || !has(self.spec.network.egressCIDRs) || size(self.spec.network.egressCIDRs) == 0`,message="egressCIDRs only apply to restricted egress, and egress is open (bulkhead's built-in default); set egress: restricted, or remove egressCIDRs",fieldPath=`.spec.network.egressCIDRs`,reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule=`!has(self.spec) || (has(self.spec.defaults) && self.spec.defaults != "") || !has(self.spec.quota) || has(self.spec.quota.gpuResource) || !has(self.spec.quota.extendedResources) || !("nvidia.com/gpu" in self.spec.quota.extendedResources)`,message="Duplicate value: nvidia.com/gpu is the GPU resource (bulkhead's built-in default), which quota.gpus caps; set quota.gpus instead",fieldPath=`.spec.quota.extendedResources`
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
// +kubebuilder:validation:Enum=Retain;Delete
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
	// Namespace the tenant owns. Defaults to metadata.name. It must not be
	// default or a kube-* namespace.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule=`self == "" || !format.dns1123Label().validate(self).hasValue()`,messageExpression=`"\"" + self + "\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc'), at most 63 characters; choose a valid namespace name"`
	// +kubebuilder:validation:XValidation:rule=`self != "default" && !self.startsWith("kube-")`,messageExpression=`"namespace \"" + self + "\" is reserved: " + (self == "default" ? "it is where objects without a namespace end up and is shared by every user of the cluster" : "kube-* namespaces belong to Kubernetes itself (kube-system, kube-public, kube-node-lease, ...)") + "; choose another namespace"`,reason=FieldValueForbidden
	Namespace string `json:"namespace,omitempty"`
	// Members who work in the namespace. Defaults to one ServiceAccount
	// "<name>-user" with role edit. A subject (kind and name) is listed
	// once, whatever its role.
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:XValidation:rule=`self.all(m, self.filter(o, o.name == m.name && (has(o.kind) ? o.kind : "ServiceAccount") == (has(m.kind) ? m.kind : "ServiceAccount")).size() == 1)`,message="Duplicate value: a member is listed more than once (kind and name identify a member, whatever its role); remove one of them"
	Members []Member `json:"members,omitempty"`

	// Defaults names the TenantDefaults this tenant inherits guardrails
	// from. Unset: bulkhead's built-in defaults only.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule=`self == "" || !format.dns1123Subdomain().validate(self).hasValue()`,messageExpression=`"\"" + self + "\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com'), at most 253 characters; name a TenantDefaults by its metadata.name"`
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
// +kubebuilder:validation:Enum=ServiceAccount;User;Group
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
// +kubebuilder:validation:Enum=admin;edit;view
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

// Member is one subject of a tenant. A ServiceAccount's name is an object
// name; a user's or group's is whatever the authenticator reports, but it
// must not hold control characters, invisible formatting characters
// (U+200B ZERO WIDTH SPACE, ...) or surrounding blanks (they would match
// nobody) nor be an identity shared between tenants (SharedIdentities,
// SharedIdentityPrefixes; keep the rule below in step with them).
//
// +kubebuilder:validation:XValidation:rule=`(has(self.kind) && self.kind != "ServiceAccount") || !format.dns1123Subdomain().validate(self.name).hasValue()`,messageExpression=`"\"" + self.name + "\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com'), at most 253 characters; rename the ServiceAccount"`,fieldPath=`.name`
// +kubebuilder:validation:XValidation:rule=`(has(self.kind) && self.kind != "ServiceAccount") || size(self.name) <= ((has(self.role) && self.role == "admin") ? 235 : 236)`,messageExpression=`(has(self.role) && self.role == "admin") ? "the role binding named bulkhead-admin-sa-<name> would be invalid: must be no more than 253 characters; shorten the name to 235 characters or less" : "the role binding named bulkhead-" + ((has(self.role) && self.role == "view") ? "view" : "edit") + "-sa-<name> would be invalid: must be no more than 253 characters; shorten the name to 236 characters or less"`,fieldPath=`.name`
// +kubebuilder:validation:XValidation:rule=`!has(self.kind) || self.kind == "ServiceAccount" || (!self.name.matches(r"[\p{Cc}\p{Cf}]") && self.name.trim() == self.name)`,messageExpression=`(self.name.matches(r"\p{Cc}") ? "must not contain control characters" : self.name.matches(r"\p{Cf}") ? "must not contain invisible formatting characters (such as U+200B ZERO WIDTH SPACE), which match no name an authenticator reports" : "must not start or end with blanks") + "; fix the " + self.kind.lowerAscii() + " name"`,fieldPath=`.name`
// +kubebuilder:validation:XValidation:rule=`!has(self.kind) || self.kind == "ServiceAccount" || !(self.name in ["system:authenticated", "system:unauthenticated", "system:anonymous", "system:serviceaccounts", "system:masters"] || self.name.startsWith("system:serviceaccounts:") || self.name.startsWith("system:serviceaccount:"))`,messageExpression=`self.kind + " \"" + self.name + "\" is an identity Kubernetes shares between tenants or with the cluster's own components; binding it would open this namespace to all of them; name the people or the team's own group instead"`,fieldPath=`.name`,reason=FieldValueForbidden
type Member struct {
	// Name of the ServiceAccount, user or group.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Name string `json:"name"`
	// Kind is ServiceAccount (default), User or Group.
	Kind MemberKind `json:"kind,omitempty"`
	// Role is admin, edit (default) or view.
	Role RoleName `json:"role,omitempty"`
}

// DefaultMemberName is the ServiceAccount a tenant without members gets.
func DefaultMemberName(tenant string) string { return tenant + "-user" }
