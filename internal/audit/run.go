package audit

import (
	"cmp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/bulkhead-dev/bulkhead/internal/access"
	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// Report kinds.
const (
	APIVersion = "bulkhead.dev/v1alpha1"
	ReportKind = "AuditReport"
)

// BlindSpots is ISOLATION.md item 17, stated in every report.
var BlindSpots = []string{
	"Only RBAC objects are analysed. Client certificates in the system:masters group bypass RBAC entirely, and other " +
		"authorizers (Node, webhook, ABAC) grant access no RBAC object shows; run with --live to sample SubjectAccessReviews " +
		"on the cluster, which do see them.",
	"Group membership comes from the authenticator (certificate O= fields, OIDC claims): a User subject's other groups " +
		"are unknown, so a user is judged by the bindings that name it and by the groups every user has.",
	"NetworkPolicies are not evaluated as reachability, and which ServiceAccount each running pod uses is not read: " +
		"\"can create pods in N\" is taken to mean \"acts as every ServiceAccount in N\".",
}

// Run audits snap for the given tenants. It never fails: what the API
// server would ignore (a missing role) is a finding or a warning instead.
func Run(snap *Snapshot, tenants []Tenant) (*Report, error) {
	base, err := loadBaseline()
	if err != nil {
		return nil, err
	}
	a := newAuditor(snap, tenants, base)
	// The rules only read the engine and the indexes, so the work splits
	// across the cores: each worker has its own memo and findings, merged
	// afterwards (duplicates from subjects two workers both met drop out).
	n := max(1, min(runtime.GOMAXPROCS(0), 8))
	workers := make([]*auditor, n+1)
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = a.fork()
		wg.Add(1)
		go func(w *auditor) {
			defer wg.Done()
			if i == n { // the per-object rules, beside the per-subject halves
				w.bindingRules()
				w.objectRules()
				return
			}
			w.subjectRules(i, n)
			w.closure(i, n)
		}(workers[i])
	}
	wg.Wait()
	for _, w := range workers {
		a.merge(w)
	}
	a.sharedMembers()
	return a.report(), nil
}

// auditor holds one run's indexes.
type auditor struct {
	snap    *Snapshot
	eng     *access.Engine
	base    *baseline
	tenants []Tenant

	tenantOf    map[string]int // namespace -> index in tenants
	saNames     map[string][]string
	saKnown     map[access.Subject]bool
	members     [][]access.Subject       // per tenant
	memberOf    map[access.Subject][]int // tenants a subject is a member of
	membership  map[membership]bool
	grants      map[access.Subject][]access.Grant
	memo        map[memoKey]bool
	findings    []Finding
	edges       map[access.Subject][]edge
	subjectTo   map[access.Subject]*SubjectAccess
	cells       map[cellKey]*Cell
	questions   int             // (subject, request) pairs asked, for the SubjectAccessReview comparison
	seen        map[string]bool // findings already added
	coverMemo   map[string]bool
	expanded    map[int32][]access.Coverage
	levels      map[int32]Level
	grantIndex  map[access.Subject]map[string][]access.Grant
	texts       map[int32][]string
	ruleLists   [][]string // for the report, numbered by matrix
	secretsByNS map[string][]corev1.Secret
}

// memoKey is one question asked of one rule list. Checks are small
// numbers (see the check* constants) so that the memo hashes cheaply.
type memoKey struct {
	ruleSet int32
	check   int32
}

// Question numbers for the memo. A few questions take a range (one
// number per request, up to 8); catalogue checks use checkCatalog +
// 64×check + request.
const (
	noMemo int32 = iota * 8
	checkPodCreate
	checkPodEnter
	checkMayMint
	checkMayImpersonate
	checkMayReadSecrets // get, list, watch
	checkNamespaced
	checkCatalog = 1 << 10
)

type cellKey struct{ tenant, namespace string }

type membership struct {
	subject access.Subject
	tenant  int
}

func newAuditor(snap *Snapshot, tenants []Tenant, base *baseline) *auditor {
	a := &auditor{
		snap:        snap,
		base:        base,
		tenants:     tenants,
		tenantOf:    make(map[string]int, len(tenants)),
		saNames:     map[string][]string{},
		saKnown:     map[access.Subject]bool{},
		memberOf:    make(map[access.Subject][]int, len(snap.ServiceAccounts)+len(snap.RoleBindings)),
		membership:  make(map[membership]bool, len(snap.ServiceAccounts)+len(snap.RoleBindings)),
		secretsByNS: map[string][]corev1.Secret{},
	}
	a.initCaches()
	for _, s := range snap.Secrets {
		a.secretsByNS[s.Namespace] = append(a.secretsByNS[s.Namespace], s)
	}
	for i, t := range tenants {
		a.tenantOf[t.Namespace] = i
	}
	// Building the engine and finding the tenants' members are
	// independent: do them at once.
	engine := make(chan *access.Engine, 1)
	go func() { engine <- access.New(&snap.Snapshot) }()
	for _, sa := range snap.ServiceAccounts {
		a.saNames[sa.Namespace] = append(a.saNames[sa.Namespace], sa.Name)
		a.saKnown[saSubject(sa.Namespace, sa.Name)] = true
	}
	a.findMembers()
	a.eng = <-engine
	return a
}

// fork returns a worker: the same read-only indexes, its own caches and
// results.
func (a *auditor) fork() *auditor {
	w := *a
	w.initCaches()
	w.findings, w.questions = nil, 0
	return &w
}

// merge adds a worker's results to a.
func (a *auditor) merge(w *auditor) {
	for _, f := range w.findings {
		a.add(f)
	}
	for k, c := range w.cells {
		have := a.cells[k]
		if have == nil || levelOrder[c.Level] > levelOrder[have.Level] || (c.Level == have.Level && c.Cross && !have.Cross) ||
			(c.Level == have.Level && c.Cross == have.Cross && c.Via < have.Via) {
			a.cells[k] = c
		}
	}
	for s, d := range w.subjectTo {
		if _, ok := a.subjectTo[s]; !ok || len(d.ActsAs) > 0 {
			a.subjectTo[s] = d
		}
	}
	a.questions += w.questions
	for id, t := range w.texts {
		a.texts[id] = t
	}
}

// initCaches gives a its own memo and result maps.
func (a *auditor) initCaches() {
	*a = auditor{
		snap: a.snap, eng: a.eng, base: a.base, tenants: a.tenants,
		tenantOf: a.tenantOf, saNames: a.saNames, saKnown: a.saKnown, members: a.members,
		memberOf: a.memberOf, membership: a.membership, secretsByNS: a.secretsByNS,
		grants:     map[access.Subject][]access.Grant{},
		memo:       map[memoKey]bool{},
		edges:      map[access.Subject][]edge{},
		subjectTo:  map[access.Subject]*SubjectAccess{},
		cells:      map[cellKey]*Cell{},
		seen:       map[string]bool{},
		coverMemo:  map[string]bool{},
		expanded:   map[int32][]access.Coverage{},
		levels:     map[int32]Level{},
		grantIndex: map[access.Subject]map[string][]access.Grant{},
		texts:      map[int32][]string{},
	}
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
	a.members = make([][]access.Subject, len(a.tenants))
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
				if !strings.HasPrefix(s.Name, "system:") {
					add(t, access.Subject{Kind: s.Kind, Name: s.Name})
				}
			}
		}
	}
	for _, ns := range a.snap.Namespaces {
		t, ok := a.tenantOf[ns.Name]
		if !ok {
			continue
		}
		for _, u := range splitLines(ns.Annotations[render.UsersAnnotation]) {
			add(t, access.Subject{Kind: rbacv1.UserKind, Name: u})
		}
		for _, g := range splitLines(ns.Annotations[render.GroupsAnnotation]) {
			add(t, access.Subject{Kind: rbacv1.GroupKind, Name: g})
		}
	}
	for t := range a.members {
		slices.SortFunc(a.members[t], compareSubjects)
	}
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

// locate appends each object's file:line, when it came from a manifest:
// "RoleBinding bob/x -> Role y" becomes "RoleBinding bob/x -> Role y (bob.yaml:12)".
func (a *auditor) locate(objects []string) {
	for i, o := range objects {
		if strings.HasSuffix(o, ")") {
			continue // located already
		}
		key, _, _ := strings.Cut(o, " -> ")
		if origin, ok := a.snap.Origins[key]; ok {
			objects[i] = o + " (" + origin + ")"
		}
	}
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

// allows reports whether any of grants allows attrs where they apply, and
// which: the memo makes each distinct rule list answer each question once.
func (a *auditor) allows(grants []access.Grant, check int32, attrs access.Attributes) []access.BindingRef {
	a.questions++
	var via []access.BindingRef
	for _, g := range grants {
		if g.Namespace != "" && g.Namespace != attrs.Namespace {
			continue
		}
		key := memoKey{g.RuleSet, check}
		ok, seen := a.memo[key]
		if !seen || check == noMemo {
			ok = a.eng.RuleSetAllows(g.RuleSet, attrs)
			if check != noMemo {
				a.memo[key] = ok
			}
		}
		if ok {
			via = append(via, g.Binding)
		}
	}
	return via
}

func (a *auditor) add(f Finding) {
	if f.Objects == nil {
		f.Objects = []string{}
	}
	key := f.Rule + "|" + f.Subject + "|" + f.Namespace + "|" + strings.Join(f.Objects, ",")
	if a.seen[key] {
		return // the same thing reached another way
	}
	a.seen[key] = true
	a.findings = append(a.findings, f)
}

func (a *auditor) tenantName(ns string) string {
	if t, ok := a.tenantOf[ns]; ok {
		return a.tenants[t].Name
	}
	return ""
}

func (a *auditor) report() *Report {
	r := &Report{
		APIVersion: APIVersion,
		Kind:       ReportKind,
		Source:     a.snap.Source,
		Findings:   a.findings,
		BlindSpots: BlindSpots,
		Warnings:   a.eng.Warnings(),
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		x, y := r.Findings[i], r.Findings[j]
		return cmp.Or(cmp.Compare(y.Severity, x.Severity), cmp.Compare(x.Tenant, y.Tenant), cmp.Compare(x.Rule, y.Rule),
			cmp.Compare(x.Subject, y.Subject), cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Message, y.Message)) < 0
	})
	r.Findings = slices.CompactFunc(r.Findings, func(x, y Finding) bool {
		return x.Rule == y.Rule && x.Subject == y.Subject && x.Namespace == y.Namespace && x.Message == y.Message
	})
	if len(a.snap.Origins) > 0 {
		for i := range r.Findings {
			a.locate(r.Findings[i].Objects)
		}
	}
	worst := map[string]Severity{}
	count := map[string]int{}
	for _, f := range r.Findings {
		switch f.Severity {
		case Critical:
			r.Summary.Critical++
		case High:
			r.Summary.High++
		case Medium:
			r.Summary.Medium++
		case Low:
			r.Summary.Low++
		}
		if f.Tenant != "" {
			count[f.Tenant]++
			worst[f.Tenant] = max(worst[f.Tenant], f.Severity)
		}
	}
	for i, t := range a.tenants {
		ts := TenantSummary{Name: t.Name, Namespace: t.Namespace, Managed: t.Managed, Subjects: len(a.members[i]), Findings: count[t.Name]}
		if w, ok := worst[t.Name]; ok {
			ts.Worst = &w
		}
		r.Tenants = append(r.Tenants, ts)
	}
	r.Access, r.Subjects = a.matrix()
	r.RuleLists = a.ruleLists
	if r.RuleLists == nil {
		r.RuleLists = [][]string{}
	}
	for _, c := range r.Access {
		if c.Cross {
			r.Summary.CrossTenantCells++
		}
	}
	st := a.eng.Stats()
	r.Summary.Tenants = len(a.tenants)
	r.Summary.Namespaces = len(namespaceNames(a.snap))
	r.Summary.Subjects = st.Subjects
	r.Summary.Bindings = st.Bindings
	r.Summary.Roles = len(a.snap.Roles) + len(a.snap.ClusterRoles)
	r.Summary.Questions = a.questions
	return r
}
