package access

import (
	"fmt"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Engine answers access questions about one Snapshot. It is immutable after
// New and safe for concurrent use.
type Engine struct {
	ruleSets []ruleSet
	bindings []binding

	cluster    subjectIndex             // ClusterRoleBindings
	namespaced map[string]*subjectIndex // RoleBindings, by namespace

	clusterRoles map[string]int32 // name -> rule set, aggregation resolved
	roles        map[nsName]int32 // namespace/name -> rule set

	subjects    map[Subject][]grantRef
	subjectList []Subject // sorted, see sortedSubjects
	subjectOnce sync.Once

	resources []APIResource
	warnings  []string
}

// subjectIndex finds the bindings of one scope (the cluster, or one
// namespace) that can apply to a user: by user name (User subjects, and
// ServiceAccount subjects under the user name their tokens carry) and by
// group name. Lists hold binding ids in snapshot order, each id once.
type subjectIndex struct {
	all    []int32
	users  map[string][]int32
	groups map[string][]int32
}

// binding is a RoleBinding or ClusterRoleBinding, subjects normalized.
type binding struct {
	ref      BindingRef
	subjects []Subject
	ruleSet  int32 // -1 when the role does not resolve
	inert    bool  // a RoleBinding without namespace: the authorizer never lists it
}

type grantRef struct{ binding, subject int32 }

type nsName struct{ namespace, name string }

// New compiles snap into an Engine. Problems the API server's authorizer
// would also meet (a missing role, a bad aggregation selector) do not stop
// it: like the authorizer it treats them as granting nothing, and reports
// them in Warnings.
func New(snap *Snapshot) *Engine {
	e := &Engine{
		namespaced:   map[string]*subjectIndex{},
		clusterRoles: make(map[string]int32, len(snap.ClusterRoles)),
		roles:        make(map[nsName]int32, len(snap.Roles)),
		subjects:     make(map[Subject][]grantRef, len(snap.RoleBindings)+len(snap.ClusterRoleBindings)),
		resources:    snap.Resources,
	}
	if e.resources == nil {
		e.resources = StandardResources()
	}
	in := interner{e: e, ids: map[string]int32{}}

	clusterRoles, errs := AggregateClusterRoles(snap.ClusterRoles)
	for _, err := range errs {
		e.warnf("%v", err)
	}
	for i := range clusterRoles {
		name := clusterRoles[i].Name
		if _, dup := e.clusterRoles[name]; dup {
			e.warnf("clusterrole %s: defined twice, the first one counts", name)
			continue
		}
		e.clusterRoles[name] = in.intern(clusterRoles[i].Rules)
	}
	for i := range snap.Roles {
		k := nsName{snap.Roles[i].Namespace, snap.Roles[i].Name}
		if _, dup := e.roles[k]; dup {
			e.warnf("role %s/%s: defined twice, the first one counts", k.namespace, k.name)
			continue
		}
		e.roles[k] = in.intern(snap.Roles[i].Rules)
	}

	e.bindings = make([]binding, 0, len(snap.ClusterRoleBindings)+len(snap.RoleBindings))
	for i := range snap.ClusterRoleBindings {
		crb := &snap.ClusterRoleBindings[i]
		e.addBinding(BindingRef{Kind: KindClusterRoleBinding, Name: crb.Name, RoleRef: crb.RoleRef}, crb.Subjects)
	}
	for i := range snap.RoleBindings {
		rb := &snap.RoleBindings[i]
		e.addBinding(BindingRef{Kind: KindRoleBinding, Namespace: rb.Namespace, Name: rb.Name, RoleRef: rb.RoleRef}, rb.Subjects)
	}
	e.indexSubjects()
	return e
}

// interner gives each distinct rule list one compiled rule set.
type interner struct {
	e   *Engine
	ids map[string]int32
}

func (in interner) intern(rules []rbacv1.PolicyRule) int32 {
	key := ruleListKey(rules)
	if id, ok := in.ids[key]; ok {
		return id
	}
	rs := ruleSet{rules: rules, compiled: make([]compiledRule, len(rules))}
	for i, r := range rules {
		rs.compiled[i] = compileRule(r)
	}
	id := int32(len(in.e.ruleSets))
	in.e.ruleSets = append(in.e.ruleSets, rs)
	in.ids[key] = id
	return id
}

func (e *Engine) addBinding(ref BindingRef, subjects []rbacv1.Subject) {
	id := int32(len(e.bindings))
	b := binding{ref: ref, ruleSet: e.resolveRoleRef(ref), subjects: make([]Subject, len(subjects))}
	if ref.Kind == KindRoleBinding && ref.Namespace == "" {
		b.inert = true
		e.warnf("%s: has no namespace, so it grants nothing", ref)
	}
	for i, s := range subjects {
		b.subjects[i] = Subject{Kind: s.Kind, Name: s.Name, Namespace: s.Namespace}
		if s.Kind == rbacv1.ServiceAccountKind && s.Namespace == "" {
			// appliesTo defaults it to the namespace being authorized, which
			// for a RoleBinding is always the binding's own.
			b.subjects[i].Namespace = ref.Namespace
		}
	}
	e.bindings = append(e.bindings, b)
	if b.inert {
		return
	}

	ix := &e.cluster
	if ref.Kind == KindRoleBinding {
		ix = e.namespaced[ref.Namespace]
		if ix == nil {
			ix = &subjectIndex{}
			e.namespaced[ref.Namespace] = ix
		}
	}
	ix.all = append(ix.all, id)
	for _, s := range b.subjects {
		switch {
		case !active(s):
		case s.Kind == rbacv1.GroupKind:
			ix.groups = addID(ix.groups, s.Name, id)
		case s.Kind == rbacv1.ServiceAccountKind:
			ix.users = addID(ix.users, ServiceAccountUserName(s.Namespace, s.Name), id)
		default:
			ix.users = addID(ix.users, s.Name, id)
		}
	}
}

// active reports whether the authorizer can ever match s (after defaulting).
func active(s Subject) bool {
	return isRBACSubjectKind(s.Kind) && (s.Kind != rbacv1.ServiceAccountKind || s.Namespace != "")
}

func addID(m map[string][]int32, key string, id int32) map[string][]int32 {
	if m == nil {
		m = map[string][]int32{}
	}
	ids := m[key]
	if n := len(ids); n > 0 && ids[n-1] == id {
		return m // the same binding names this subject twice
	}
	m[key] = append(ids, id)
	return m
}

// resolveRoleRef is GetRoleReferenceRules: the role is looked up in the
// binding's namespace, a ClusterRole by name; anything else grants nothing.
func (e *Engine) resolveRoleRef(ref BindingRef) int32 {
	var id int32
	var ok bool
	switch ref.RoleRef.Kind {
	case "Role":
		if ref.Namespace != "" {
			id, ok = e.roles[nsName{ref.Namespace, ref.RoleRef.Name}]
		}
	case "ClusterRole":
		id, ok = e.clusterRoles[ref.RoleRef.Name]
	default:
		e.warnf("%s: unsupported roleRef kind %q, it grants nothing", ref, ref.RoleRef.Kind)
		return -1
	}
	if !ok {
		e.warnf("%s: %s %q does not exist, so it grants nothing until someone creates it", ref, ref.RoleRef.Kind, ref.RoleRef.Name)
		return -1
	}
	return id
}

func (e *Engine) warnf(format string, args ...any) {
	e.warnings = append(e.warnings, fmt.Sprintf(format, args...))
}
