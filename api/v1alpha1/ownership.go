package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// The ownership contract: how bulkhead marks what it manages on a cluster,
// how it names those objects, and which identities no tenant may be given.
// Render writes these, apply and the controller select by them, verify and
// audit read them. They are defined here, beside the types, and nowhere else.

// FieldManager is the one server-side apply field manager of every bulkhead
// write, whichever package or process makes it.
const FieldManager = "bulkhead"

// Labels on every object bulkhead manages. A tenant's objects are exactly
// those carrying ManagedByLabel=ManagedByValue and TenantLabel=<tenant>.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "bulkhead"
	TenantLabel    = "bulkhead.dev/tenant"
	// TenantSetLabel, on a tenant's Namespace, names the tenant set (the
	// input) that applied it; `apply --prune --tenant-set NAME` offboards
	// only tenants of that set.
	TenantSetLabel = "bulkhead.dev/tenant-set"
	// StateLabel=StateCordoned marks the namespace of a removed tenant: its
	// data stays, new pods are refused.
	StateLabel    = "bulkhead.dev/state"
	StateCordoned = "cordoned"
)

// Annotations on a tenant's Namespace. Tenants cannot change them (their
// Roles grant no namespace writes), so admission and audit can trust them.
const (
	// UsersAnnotation and GroupsAnnotation list the users and groups a
	// tenant admin may bind, one per line (names cannot hold newlines).
	UsersAnnotation  = "bulkhead.dev/users"
	GroupsAnnotation = "bulkhead.dev/groups"
	// MembersAnnotation lists every member with its role, one
	// "Kind/role/name" per line, so audit and verify know on a cluster
	// who should have which access.
	MembersAnnotation = "bulkhead.dev/members"
	// MaxTokenTTLAnnotation holds the longest token lifetime `bulkhead
	// kubeconfig` issues for the tenant's ServiceAccounts.
	MaxTokenTTLAnnotation = "bulkhead.dev/max-token-ttl"
	// CordonedAnnotation says when and why a namespace was cordoned.
	CordonedAnnotation = "bulkhead.dev/cordoned"
	// AppliedAnnotation, on every object bulkhead applies, is a digest of
	// what it applied. While bulkhead's field manager is the object's only
	// writer, an equal digest proves the object unchanged without decoding
	// its managed fields.
	AppliedAnnotation = "bulkhead.dev/applied"
	// GPUResourceAnnotation on the ResourceQuota says which of its
	// resources counts GPUs, so verify can test the cap without the spec.
	GPUResourceAnnotation = "bulkhead.dev/gpu-resource"
)

// Object names.
const (
	// GuardrailName names a tenant's ResourceQuota and LimitRange.
	GuardrailName = "bulkhead"
	// RoleBindingPolicyName names the ValidatingAdmissionPolicy (and its
	// binding) that limits what tenant admins may bind. It is shared by
	// every tenant and carries no TenantLabel.
	RoleBindingPolicyName = "bulkhead-tenant-rolebindings"
	// objectPrefix starts the name of every Role and RoleBinding bulkhead
	// makes in a tenant's namespace.
	objectPrefix = "bulkhead-"
)

// OwnershipLabels returns the labels of a tenant's objects.
func OwnershipLabels(tenant string) map[string]string {
	return map[string]string{ManagedByLabel: ManagedByValue, TenantLabel: tenant}
}

// ManagedSelector selects every object bulkhead manages.
const ManagedSelector = ManagedByLabel + "=" + ManagedByValue

// TenantSelector selects the objects of one tenant.
func TenantSelector(tenant string) string {
	return ManagedSelector + "," + TenantLabel + "=" + tenant
}

// RoleObjectName is the name of the namespaced Role of one access level.
func RoleObjectName(level RoleName) string { return objectPrefix + string(level) }

// RoleOfObject is the access level a Role name stands for, "" if the name is
// not one of bulkhead's.
func RoleOfObject(name string) RoleName {
	level := RoleName(strings.TrimPrefix(name, objectPrefix))
	if !strings.HasPrefix(name, objectPrefix) || !slices.Contains(RoleNames, level) {
		return ""
	}
	return level
}

// BindingName names a member's RoleBinding. The role is part of the name
// because a RoleBinding's roleRef cannot change: a new role is a new binding.
// User and group names may hold characters object names cannot (e-mail
// addresses, OIDC prefixes such as "oidc:"); those are replaced and a short
// hash of the original keeps two such names apart.
func BindingName(m Member) string {
	prefix := BindingPrefix(m.Role)
	switch m.Kind {
	case ServiceAccountMember:
		return prefix + "sa-" + m.Name
	case GroupMember:
		return prefix + "group-" + sanitize(m.Name)
	default:
		return prefix + "user-" + sanitize(m.Name)
	}
}

// BindingPrefix starts the names of the RoleBindings of one access level.
func BindingPrefix(level RoleName) string { return objectPrefix + string(level) + "-" }

// maxSanitized keeps binding names far below the 253-character limit.
const maxSanitized = 200

func sanitize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-.")
	if s == name && len(s) <= maxSanitized {
		return s
	}
	if len(s) > maxSanitized {
		s = s[:maxSanitized]
	}
	sum := sha256.Sum256([]byte(name))
	return strings.Trim(s, "-.") + "-" + hex.EncodeToString(sum[:])[:8]
}

// Identities the API server gives to every user, to every ServiceAccount or
// to the cluster's own components. No tenant member may be one of them:
// binding one opens a namespace to all tenants at once.
var SharedIdentities = []string{
	"system:authenticated", "system:unauthenticated", "system:anonymous", "system:serviceaccounts", "system:masters",
}

// SharedIdentityPrefixes start the names of identities shared the same way:
// every ServiceAccount of a namespace, or one ServiceAccount named as a user.
var SharedIdentityPrefixes = []string{"system:serviceaccounts:", "system:serviceaccount:"}

// IsSharedIdentity reports whether name is, or starts like, a shared identity.
func IsSharedIdentity(name string) bool {
	if slices.Contains(SharedIdentities, name) {
		return true
	}
	for _, p := range SharedIdentityPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// MemberLine is one line of MembersAnnotation: "Kind/role/name". Kind and
// role hold no slash, so the name may.
func MemberLine(m Member) string { return string(m.Kind) + "/" + string(m.Role) + "/" + m.Name }

// ParseMembers reads MembersAnnotation back; lines that do not parse are skipped.
func ParseMembers(annotation string) []Member {
	var out []Member
	for _, line := range strings.Split(annotation, "\n") {
		kind, rest, ok := strings.Cut(line, "/")
		role, name, ok2 := strings.Cut(rest, "/")
		if !ok || !ok2 || name == "" {
			continue
		}
		out = append(out, Member{Kind: MemberKind(kind), Role: RoleName(role), Name: name})
	}
	return out
}
