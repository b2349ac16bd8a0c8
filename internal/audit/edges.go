package audit

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// edge is "from can act as to": creating a pod that runs as to, exec'ing
// into its pods, minting its token, reading its token Secret, or
// impersonating it.
type edge struct {
	to      access.Subject
	pattern int
	secret  string // pattern 6: the token Secret read
	role    string // pattern 10: the role bound to itself
	via     []access.BindingRef
}

// how says what the edge's right does, for messages.
func (e edge) how() string {
	switch e.pattern {
	case 7:
		return "creates pods in " + e.to.Namespace + " that run as"
	case 11:
		return "execs into or rewrites pods in " + e.to.Namespace + " that run as"
	case 8:
		return "mints tokens for"
	case 9:
		return "impersonates"
	case 10:
		return "binds itself " + e.role + " in " + e.to.Namespace + " and creates pods that run as"
	case 20:
		return "creates the missing ServiceAccount named by a binding, then runs as"
	default:
		if e.secret == "" {
			return "creates a token Secret in " + e.to.Namespace + " and reads it back as"
		}
		return "reads the token Secret " + e.secret + " of"
	}
}

// podWriters are the requests that start code running as any
// ServiceAccount of the namespace (ISOLATION.md 7) or inside pods that
// already run as one (11).
var (
	// Changing a controller's pod template (serviceAccountName included)
	// starts pods as much as creating the controller does.
	podCreators = append(reqs([]string{"create"}, "", "pods"),
		append(reqs(changes, "", "replicationcontrollers"),
			append(reqs(changes, "apps", "deployments", "replicasets", "statefulsets", "daemonsets"),
				reqs(changes, "batch", "jobs", "cronjobs")...)...)...)
	podEnterers = append(reqs([]string{"create"}, "", "pods/exec", "pods/attach"),
		reqs([]string{"update", "patch"}, "", "pods", "pods/ephemeralcontainers")...)
	// Up to v1.34 a WebSocket exec or attach is authorized as get on the
	// subresource (see execByGet).
	podEnterersByGet = append(reqs([]string{"get"}, "", "pods/exec", "pods/attach"), podEnterers...)
	// A kubernetes.io/service-account-token Secret the subject creates is
	// filled by the token controller for whichever ServiceAccount its
	// annotation names; reading it back needs get, list or watch on it (any
	// name: the creator picks one its rules allow).
	secretCreate = req("create", "", "secrets", "")
	// ServiceAccount creation turns a binding to a missing ServiceAccount
	// into a grant once the creator can also run as it.
	saCreate = req("create", "", "serviceaccounts", "")
)

// enterers are podEnterers as the audited cluster's version authorizes them.
func (a *auditor) enterers() []access.Attributes {
	if execByGet(a.snap.KubernetesVersion) {
		return podEnterersByGet
	}
	return podEnterers
}

// edgesOf lists whom s can act as, in the namespaces where RoleBindings
// grant it something. Cluster-wide pod creation is reported by bindingRules
// as pattern 1 and not expanded to every ServiceAccount of the cluster.
func (a *auditor) edgesOf(s access.Subject) []edge {
	if e, ok := a.edges[s]; ok {
		return e
	}
	var out []edge
	grants := a.subjectGrants(s)
	seen := newNamespaceSet(len(grants))
	for _, g := range grants {
		ns := g.Namespace
		if ns == "" || !seen.add(ns) {
			continue
		}
		grants := a.grantsIn(s, ns)
		all := a.saNames[ns]
		if via := a.anyOf(grants, checkPodCreate, podCreators, ns); len(via) > 0 {
			for _, sa := range all {
				out = append(out, edge{to: saSubject(ns, sa), pattern: 7, via: via})
			}
		}
		if via := a.anyOf(grants, checkPodEnter, a.enterers(), ns); len(via) > 0 {
			for _, sa := range all {
				out = append(out, edge{to: saSubject(ns, sa), pattern: 11, via: via})
			}
		}
		mint := access.Attributes{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: ns}
		become := access.Attributes{Verb: "impersonate", Resource: "serviceaccounts", Namespace: ns}
		mayMint, mayBecome := a.mayAllow(grants, checkMayMint, mint), a.mayAllow(grants, checkMayImpersonate, become)
		for _, sa := range all {
			if !mayMint && !mayBecome {
				break
			}
			mint.Name, become.Name = sa, sa
			if via := a.allows(grants, noMemo, mint); mayMint && len(via) > 0 {
				out = append(out, edge{to: saSubject(ns, sa), pattern: 8, via: via})
			}
			if via := a.allows(grants, noMemo, become); mayBecome && len(via) > 0 {
				out = append(out, edge{to: saSubject(ns, sa), pattern: 9, via: via})
			}
		}
		out = append(out, a.createdIdentityEdges(grants, ns)...)
		out = append(out, a.bindEdges(s, grants, ns)...)
		// get, list and watch all return a Secret's token; a list or watch
		// with fieldSelector metadata.name is authorized by that name, so a
		// named request answers for resourceNames rules and unrestricted ones.
		if len(a.tokenSecrets(ns)) == 0 || !a.mayAllowAny(grants, checkMayReadSecrets, secretReads, ns) {
			continue
		}
		for _, sec := range a.tokenSecrets(ns) {
			owner := sec.Annotations[corev1.ServiceAccountNameKey]
			if owner == "" {
				continue
			}
			var via []access.BindingRef
			for _, r := range secretReads {
				r.Name, r.Namespace = sec.Name, ns
				via = appendUnique(via, a.allows(grants, noMemo, r)...)
			}
			if len(via) > 0 {
				out = append(out, edge{to: saSubject(ns, owner), pattern: 6, secret: sec.Name, via: via})
			}
		}
	}
	out = append(out, a.impersonationEdges(s)...)
	a.edges[s] = out
	return out
}

// impersonationEdges follows impersonation restricted to named users and
// groups (unrestricted impersonation is the critical catalogue check).
// Only ClusterRoleBindings grant it: users and groups are cluster-scoped.
func (a *auditor) impersonationEdges(s access.Subject) []edge {
	var out []edge
	someone := -1 // whether s may impersonate a user or ServiceAccount: asked once, when a group is named
	for _, g := range a.grantsIn(s, "") {
		if g.Namespace != "" {
			continue
		}
		for _, r := range g.Rules {
			if len(r.ResourceNames) == 0 || !(slices.Contains(r.Verbs, "impersonate") || slices.Contains(r.Verbs, "*")) {
				continue
			}
			for _, kind := range []struct{ resource, kind string }{{"users", rbacv1.UserKind}, {"groups", rbacv1.GroupKind}} {
				for _, name := range r.ResourceNames {
					attrs := access.Attributes{Verb: "impersonate", Resource: kind.resource, Name: name}
					if kind.kind == rbacv1.GroupKind && someone < 0 {
						someone = 0
						if a.impersonatesSomeone(s) {
							someone = 1
						}
					}
					if kind.kind == rbacv1.GroupKind && someone == 0 {
						continue // refused "without impersonating a user"
					}
					if a.eng.RuleSetAllows(g.RuleSet, attrs) {
						out = append(out, edge{to: access.Subject{Kind: kind.kind, Name: name}, pattern: 9, via: []access.BindingRef{g.Binding}})
					}
				}
			}
		}
	}
	return out
}

// superuser is the group RBAC never limits: impersonating it is cluster-admin.
const superuser = "system:masters"

// secretReads are the requests that return a Secret's data.
var secretReads = reqs([]string{"get", "list", "watch"}, "", "secrets")

// namespaceSet is a set of namespaces: a slice for the usual one or two, a
// map for a subject bound everywhere.
type namespaceSet struct {
	list []string
	m    map[string]bool
}

func newNamespaceSet(size int) namespaceSet {
	if size > 8 {
		return namespaceSet{m: make(map[string]bool, size)}
	}
	return namespaceSet{}
}

// add reports whether ns was new.
func (s *namespaceSet) add(ns string) bool {
	if s.m != nil {
		if s.m[ns] {
			return false
		}
		s.m[ns] = true
		return true
	}
	if slices.Contains(s.list, ns) {
		return false
	}
	s.list = append(s.list, ns)
	return true
}

func (a *auditor) tokenSecrets(ns string) []corev1.Secret {
	return a.secretsByNS[ns]
}
