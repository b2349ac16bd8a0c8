package audit

import (
	"cmp"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// membership is one (subject, tenant) pair of findMembers.
type membership struct {
	subject access.Subject
	tenant  int
}

func saSubject(namespace, name string) access.Subject {
	return access.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

// broadGroup reports whether a group spans tenants: every user, every
// ServiceAccount, or anonymous requests.
func broadGroup(name string) bool {
	switch name {
	case "system:authenticated", "system:unauthenticated", "system:serviceaccounts":
		return true
	}
	return false
}

// findMembers names each tenant's subjects: the ServiceAccounts of its
// namespace, the users and groups its RoleBindings name, and for bulkhead
// tenants the members its namespace annotations list.
func (a *auditor) findMembers() {
	a.findDeclared()
	a.members = make([][]access.Subject, len(a.tenants))
	guests := make([][]access.Subject, len(a.tenants))
	add := func(t int, s access.Subject) {
		if a.membership[membership{s, t}] {
			return
		}
		a.memberOf[s] = append(a.memberOf[s], t)
		a.membership[membership{s, t}] = true
		a.members[t] = append(a.members[t], s)
	}
	for _, sa := range a.snap.ServiceAccounts {
		if t, ok := a.tenantOf[sa.Namespace]; ok {
			add(t, saSubject(sa.Namespace, sa.Name))
		}
	}
	// A ServiceAccount belongs to the tenant of its namespace wherever it is
	// bound, even before it exists (whoever creates it gets the grant).
	addSA := func(ns, name string) {
		if t, ok := a.tenantOf[ns]; ok && name != "" {
			add(t, saSubject(ns, name))
		}
	}
	for _, crb := range a.snap.ClusterRoleBindings {
		for _, s := range crb.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind {
				addSA(s.Namespace, s.Name)
			}
		}
	}
	for _, rb := range a.snap.RoleBindings {
		for _, s := range rb.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind {
				addSA(cmp.Or(s.Namespace, rb.Namespace), s.Name)
			}
		}
		t, ok := a.tenantOf[rb.Namespace]
		if !ok || a.base.has("RoleBinding", rb.Namespace, rb.Name) {
			continue
		}
		for _, s := range rb.Subjects {
			switch s.Kind {
			case rbacv1.UserKind, rbacv1.GroupKind:
				if s.Name == "" || strings.HasPrefix(s.Name, "system:") {
					continue
				}
				if subj := (access.Subject{Kind: s.Kind, Name: s.Name}); a.memberBinding(t, rb.Labels) && a.listed(t, subj) {
					add(t, subj)
				} else {
					guests[t] = append(guests[t], subj)
				}
			}
		}
	}
	for _, ns := range a.snap.Namespaces {
		t, ok := a.tenantOf[ns.Name]
		if !ok {
			continue
		}
		for _, u := range splitLines(ns.Annotations[v1alpha1.UsersAnnotation]) {
			add(t, access.Subject{Kind: rbacv1.UserKind, Name: u})
		}
		for _, g := range splitLines(ns.Annotations[v1alpha1.GroupsAnnotation]) {
			add(t, access.Subject{Kind: rbacv1.GroupKind, Name: g})
		}
	}
	for t := range a.members {
		slices.SortFunc(a.members[t], compareSubjects)
	}
	// Guests are judged in the namespace they were let into, like members,
	// but are not the tenant's own: their rights elsewhere are not its.
	a.guests = make([][]access.Subject, len(a.tenants))
	for t, gs := range guests {
		for _, g := range gs {
			if !a.membership[membership{g, t}] && !slices.Contains(a.guests[t], g) {
				a.guests[t] = append(a.guests[t], g)
			}
		}
	}
}

// findDeclared reads the members annotation of each bulkhead namespace
// that carries one: who the spec says belongs, with which role.
func (a *auditor) findDeclared() {
	a.declared = make([]map[access.Subject]v1alpha1.RoleName, len(a.tenants))
	for _, ns := range a.snap.Namespaces {
		t, ok := a.tenantOf[ns.Name]
		if !ok || !a.tenants[t].Managed {
			continue
		}
		lines, ok := ns.Annotations[v1alpha1.MembersAnnotation]
		if !ok {
			continue // applied by a bulkhead that did not record its members
		}
		declared := map[access.Subject]v1alpha1.RoleName{}
		for _, m := range v1alpha1.ParseMembers(lines) {
			declared[memberSubject(m, ns.Name)] = m.Role
		}
		a.declared[t] = declared
	}
}

// memberSubject is the subject a member's RoleBinding in namespace ns names.
func memberSubject(m v1alpha1.Member, ns string) access.Subject {
	if m.Kind == v1alpha1.ServiceAccountMember {
		return saSubject(ns, m.Name)
	}
	return access.Subject{Kind: string(m.Kind), Name: m.Name}
}

// listed reports whether tenant t's spec lists s as a member, as far as the
// cluster tells. A user or group that one of bulkhead's own bindings names
// but the spec does not (stale-binding) is a guest, like a hand-made
// binding's; without a members annotation every subject of bulkhead's own
// bindings counts.
func (a *auditor) listed(t int, s access.Subject) bool {
	if a.declared[t] == nil {
		return true
	}
	_, ok := a.declared[t][s]
	return ok
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func compareSubjects(x, y access.Subject) int {
	return cmp.Or(cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Name, y.Name))
}

// memberBinding reports whether the users and groups a RoleBinding in
// tenant t's namespace names are t's members. In a namespace bulkhead
// manages only its own bindings say who belongs (with the members its
// namespace annotations list); a binding added by hand names outsiders,
// judged as such. Elsewhere every binding in the namespace counts.
func (a *auditor) memberBinding(t int, labels map[string]string) bool {
	return !a.tenants[t].Managed || labels[v1alpha1.ManagedByLabel] == v1alpha1.ManagedByValue
}

// subjectGrants lists what applies to s through bindings that name it, or
// for a ServiceAccount its namespace's group: the grants a subject holds
// beyond what every user holds (broad groups are judged once, by
// bindingRules). Missing roles and inert subjects are left out.
func (a *auditor) subjectGrants(s access.Subject) []access.Grant {
	if g, ok := a.grants[s]; ok {
		return g
	}
	var out []access.Grant
	keep := func(gs []access.Grant) {
		for _, g := range gs {
			if !g.RoleMissing && !g.Inert {
				out = append(out, g)
			}
		}
	}
	keep(a.eng.Grants(s))
	if s.Kind == rbacv1.ServiceAccountKind {
		keep(a.eng.Grants(access.Subject{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts:" + s.Namespace}))
	}
	a.grants[s] = out
	return out
}

// grantsIn is subjectGrants that apply in ns: the ClusterRoleBindings' and
// ns's RoleBindings'. A subject bound in every namespace (a platform group)
// would otherwise make each question scan thousands of grants.
func (a *auditor) grantsIn(s access.Subject, ns string) []access.Grant {
	ix, ok := a.grantIndex[s]
	if !ok {
		all := a.subjectGrants(s)
		if spansOneNamespace(all) {
			return all
		}
		ix = map[string][]access.Grant{}
		for _, g := range all {
			if g.Namespace == "" {
				ix[""] = append(ix[""], g)
			}
		}
		for _, g := range all {
			if g.Namespace != "" {
				if _, started := ix[g.Namespace]; !started {
					ix[g.Namespace] = append([]access.Grant(nil), ix[""]...)
				}
				ix[g.Namespace] = append(ix[g.Namespace], g)
			}
		}
		a.grantIndex[s] = ix
	}
	if g, ok := ix[ns]; ok {
		return g
	}
	return ix[""]
}

// spansOneNamespace reports whether grants apply in at most one namespace
// besides the cluster scope: then filtering by namespace costs nothing.
func spansOneNamespace(grants []access.Grant) bool {
	ns := ""
	for _, g := range grants {
		switch {
		case g.Namespace == "" || g.Namespace == ns:
		case ns == "":
			ns = g.Namespace
		default:
			return false
		}
	}
	return true
}
