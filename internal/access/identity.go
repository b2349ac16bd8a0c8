package access

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Well-known names the API server's authenticators use.
const (
	saUserPrefix         = "system:serviceaccount:"
	allAuthenticated     = "system:authenticated"
	allUnauthenticated   = "system:unauthenticated"
	anonymousUser        = "system:anonymous"
	allServiceAccounts   = "system:serviceaccounts"
	serviceAccountsGroup = "system:serviceaccounts:"
)

// UserInfo is the identity a request is authorized as: a user name and the
// groups the authenticator reported. RBAC sees nothing else, and it never
// adds groups by itself: a SubjectAccessReview for {Name: "alice"} is not in
// system:authenticated unless the review says so. Build it with User,
// ServiceAccountUser or Anonymous to get what a real request carries, or as
// a literal to ask exactly what a SubjectAccessReview with the same fields asks.
type UserInfo struct {
	Name   string
	Groups []string
}

// User is an authenticated user as the API server sees it: the given groups
// (for a client certificate, its O= fields) plus system:authenticated, which
// the API server adds to every authenticated request.
func User(name string, groups ...string) UserInfo {
	out := make([]string, 0, len(groups)+1)
	out = append(out, groups...)
	if !contains(groups, allAuthenticated) {
		out = append(out, allAuthenticated)
	}
	return UserInfo{Name: name, Groups: out}
}

// ServiceAccountUser is a ServiceAccount token's identity: the user name
// system:serviceaccount:<ns>:<name> in groups system:serviceaccounts,
// system:serviceaccounts:<ns> and system:authenticated.
func ServiceAccountUser(namespace, name string) UserInfo {
	return UserInfo{
		Name:   ServiceAccountUserName(namespace, name),
		Groups: []string{allServiceAccounts, serviceAccountsGroup + namespace, allAuthenticated},
	}
}

// ServiceAccountUserName is the user name a ServiceAccount authenticates as.
func ServiceAccountUserName(namespace, name string) string {
	return saUserPrefix + namespace + ":" + name
}

// Anonymous is an unauthenticated request (when anonymous auth is enabled).
func Anonymous() UserInfo {
	return UserInfo{Name: anonymousUser, Groups: []string{allUnauthenticated}}
}

// Attributes describe one request, like a SubjectAccessReview's spec. A
// request with a NonResourceURL is a non-resource request (/healthz, /api);
// for those only Verb counts and, as in the API server, Namespace is ignored.
// An empty Namespace on a resource request asks about the cluster scope
// (cluster-scoped objects, or "all namespaces" lists), which only
// ClusterRoleBindings grant.
type Attributes struct {
	Verb        string
	Group       string // API group; "" is the core group
	Resource    string // plural resource, e.g. "pods"
	Subresource string // e.g. "exec", "status", "scale"
	Name        string // object name; "" for list, watch, create, deletecollection
	Namespace   string

	NonResourceURL string
}

// IsResourceRequest reports whether a is about an API resource rather than
// a non-resource URL.
func (a Attributes) IsResourceRequest() bool { return a.NonResourceURL == "" }

// String renders a the way kubectl auth can-i would take it, for messages.
func (a Attributes) String() string {
	if !a.IsResourceRequest() {
		return a.Verb + " " + a.NonResourceURL
	}
	var b strings.Builder
	b.WriteString(a.Verb)
	b.WriteByte(' ')
	b.WriteString(a.Resource)
	if a.Group != "" {
		b.WriteByte('.')
		b.WriteString(a.Group)
	}
	if a.Subresource != "" {
		b.WriteByte('/')
		b.WriteString(a.Subresource)
	}
	if a.Name != "" {
		b.WriteString(" named ")
		b.WriteString(a.Name)
	}
	if a.Namespace != "" {
		b.WriteString(" in ")
		b.WriteString(a.Namespace)
	} else {
		b.WriteString(" cluster-wide")
	}
	return b.String()
}

// request is Attributes prepared once for matching against many rules.
type request struct {
	resource bool
	verb     string
	group    string
	combined string // "pods/exec": what a rule's resources are compared with
	sub      string
	name     string
	path     string
	ns       string
	anyName  bool // match rules whatever their resourceNames (RuleSetMayAllow)
}

func newRequest(a Attributes) request {
	if !a.IsResourceRequest() {
		return request{verb: a.Verb, path: a.NonResourceURL}
	}
	combined := a.Resource
	if a.Subresource != "" {
		combined = a.Resource + "/" + a.Subresource
	}
	return request{
		resource: true,
		verb:     a.Verb,
		group:    a.Group,
		combined: combined,
		sub:      a.Subresource,
		name:     a.Name,
		ns:       a.Namespace,
	}
}

// isRBACSubjectKind reports whether RBAC's appliesTo knows kind at all.
func isRBACSubjectKind(kind string) bool {
	return kind == rbacv1.UserKind || kind == rbacv1.GroupKind || kind == rbacv1.ServiceAccountKind
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
