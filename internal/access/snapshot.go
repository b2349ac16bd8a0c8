package access

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// Snapshot is the input: the RBAC objects of one cluster (read with LIST, or
// loaded from files) plus the namespaces and ServiceAccounts an auditor
// needs to name the tenants. Slices hold values so that a List's Items can
// be assigned directly. New does not modify a Snapshot.
type Snapshot struct {
	Namespaces          []corev1.Namespace // name and labels are what the engine reads
	ServiceAccounts     []corev1.ServiceAccount
	Roles               []rbacv1.Role
	ClusterRoles        []rbacv1.ClusterRole
	RoleBindings        []rbacv1.RoleBinding
	ClusterRoleBindings []rbacv1.ClusterRoleBinding

	// Resources is what "*" expands to in Engine.Expand. Nil means
	// StandardResources (Kubernetes 1.34 built-ins); set it from
	// ResourcesFromDiscovery to include a live cluster's CRDs.
	Resources []APIResource
}

// Subject is one entry of a binding's subjects, with a RoleBinding's
// ServiceAccount namespace defaulted to the binding's namespace as the
// authorizer does. Kinds other than User, Group and ServiceAccount are kept
// as written (they never match a request). Subject is comparable.
type Subject struct {
	Kind      string // rbacv1.UserKind, rbacv1.GroupKind or rbacv1.ServiceAccountKind
	Name      string
	Namespace string // ServiceAccounts only
}

// String is "User alice", "Group team-a" or "ServiceAccount ns/name".
func (s Subject) String() string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return s.Kind + " " + s.Namespace + "/" + s.Name
	}
	return s.Kind + " " + s.Name
}

// Identity is the smallest request identity this subject describes: the
// user name for a User or ServiceAccount (without the groups a real token
// would carry), or only the group for a Group. A SubjectAccessReview with
// exactly this identity is allowed by the subject's own bindings and by
// nothing else, which makes it the right probe for checking WhoCan.
func (s Subject) Identity() UserInfo {
	switch s.Kind {
	case rbacv1.GroupKind:
		return UserInfo{Groups: []string{s.Name}}
	case rbacv1.ServiceAccountKind:
		return UserInfo{Name: ServiceAccountUserName(s.Namespace, s.Name)}
	default:
		return UserInfo{Name: s.Name}
	}
}

// RequestUser is the identity a real request of s carries: a ServiceAccount
// token's user and groups, an authenticated user's, or a group member's
// (with no user name, as a SubjectAccessReview may ask). Compare Identity,
// the smallest identity, without the groups every request has.
func (s Subject) RequestUser() UserInfo {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		return ServiceAccountUser(s.Namespace, s.Name)
	case rbacv1.GroupKind:
		return UserInfo{Groups: []string{s.Name, allAuthenticated}}
	default:
		return User(s.Name)
	}
}

// BindingRef names a RoleBinding or ClusterRoleBinding and what it binds.
type BindingRef struct {
	Kind      string // "RoleBinding" or "ClusterRoleBinding"
	Namespace string // "" for ClusterRoleBindings
	Name      string
	RoleRef   rbacv1.RoleRef
}

// Binding kinds, as used in BindingRef.Kind.
const (
	KindRoleBinding        = "RoleBinding"
	KindClusterRoleBinding = "ClusterRoleBinding"
)

// String is "RoleBinding ns/name -> ClusterRole edit".
func (b BindingRef) String() string {
	name := b.Name
	if b.Namespace != "" {
		name = b.Namespace + "/" + b.Name
	}
	return b.Kind + " " + name + " -> " + b.RoleRef.Kind + " " + b.RoleRef.Name
}

// Grant is one way a subject holds rights: a binding naming it, the role
// behind the binding, and where the rights apply.
type Grant struct {
	Subject Subject
	Binding BindingRef
	// Namespace is where the rules apply: the RoleBinding's namespace, or
	// "" for a ClusterRoleBinding (every namespace and the cluster scope).
	Namespace string
	// Rules are the role's rules, aggregation resolved. Shared with the
	// engine: do not modify.
	Rules []rbacv1.PolicyRule
	// RoleMissing marks a dangling roleRef: whoever creates a role with
	// that name later inherits this binding (docs/isolation.md item 20).
	RoleMissing bool
	// Inert marks a subject the authorizer never matches: an unknown kind,
	// or a ServiceAccount without namespace in a ClusterRoleBinding.
	Inert bool
	// RuleSet identifies the distinct rule list (-1 when RoleMissing): roles
	// made from one template share it, so per-rule-list answers can be
	// computed once (see Engine.RuleSetAllows).
	RuleSet int32
}

// Holder is a subject WhoCan found, with every binding through which it
// holds the asked right.
type Holder struct {
	Subject Subject
	Via     []BindingRef
}
