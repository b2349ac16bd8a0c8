package audit

import (
	"cmp"
	"runtime"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/access"
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

// GCPercent is the garbage collector setting bulkhead audit runs with
// (unless GOGC is set): an audit is a short batch whose heap is mostly
// live, so collecting at 3× the live heap instead of 2× saves a tenth of
// the time for ~250 MiB more at 5,000 tenants (make bench-audit).
const GCPercent = 300

// MemoryLimit caps the heap bulkhead audit lets GCPercent grow to (unless
// GOMEMLIMIT is set): near it the collector runs more often instead, so a
// 5,000-tenant cluster stays under 512 MiB of RSS. It is soft: an audit
// whose live heap is larger still finishes.
const MemoryLimit = 448 << 20

// Run audits snap for the given tenants. What the API server would ignore
// (a missing role) is a finding or a warning, not an error; Run fails only
// when the embedded bootstrap policy cannot be read.
func Run(snap *Snapshot, tenants []Tenant) (*Report, error) {
	return RunWith(snap, tenants, RunOptions{})
}

// RunOptions tune what Run computes beyond the findings.
type RunOptions struct {
	// FindingsOnly skips the access matrix and the per-subject drill-down
	// (Report.Access, Subjects, RuleLists and Summary.CrossTenantCells stay
	// empty), which only the HTML and JSON reports show. The findings are
	// the same.
	FindingsOnly bool
}

// RunWith is Run with options.
func RunWith(snap *Snapshot, tenants []Tenant, opts RunOptions) (*Report, error) {
	base, err := loadBaseline()
	if err != nil {
		return nil, err
	}
	a := newAuditor(snap, tenants, base)
	a.findingsOnly = opts.FindingsOnly
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
	r := a.report()
	r.KubernetesVersion = cmp.Or(snap.KubernetesVersion, DefaultKubernetesVersion)
	return r, nil
}

// auditor holds one run's indexes.
type auditor struct {
	snap         *Snapshot
	eng          *access.Engine
	base         *baseline
	tenants      []Tenant
	findingsOnly bool // RunOptions.FindingsOnly: no cells, no drill-down

	tenantOf     map[string]int // namespace -> index in tenants
	saNames      map[string][]string
	saKnown      map[access.Subject]bool
	members      [][]access.Subject           // per tenant
	guests       [][]access.Subject           // per tenant: outsiders a hand-made or left-over binding lets into a managed namespace
	scopes       map[string]bool              // "group/resource" -> namespaced, for the resources the engine knows
	nsLabels     map[string]map[string]string // the Namespace objects' labels; absent: no object
	policyGuards []policyGuard
	memberOf     map[access.Subject][]int // tenants a subject is a member of
	membership   map[membership]bool
	grants       map[access.Subject][]access.Grant
	memo         map[memoKey]bool
	findings     []Finding
	edges        map[access.Subject][]edge
	subjectTo    map[access.Subject]*SubjectAccess
	cells        map[cellKey]*Cell
	questions    int             // (subject, request) pairs asked, for the SubjectAccessReview comparison
	seen         map[string]bool // findings already added
	coverMemo    map[string]bool
	gainMemo     map[string][]gained // uncovered's answers
	expanded     map[int32][]access.Coverage
	levels       map[int32]Level
	grantIndex   map[access.Subject]map[string][]access.Grant
	texts        map[int32][]string
	ruleLists    [][]string // for the report, numbered by matrix
	secretsByNS  map[string][]corev1.Secret
	missingSAs   map[string][]string        // namespace -> ServiceAccounts bindings name that do not exist
	powers       map[access.Subject][]power // the cluster catalogue checks an identity passes (reach.go)
	// declared is, per tenant, the members and roles its namespace's
	// members annotation lists; nil without one.
	declared []map[access.Subject]v1alpha1.RoleName
}

type cellKey struct{ tenant, namespace string }

func newAuditor(snap *Snapshot, tenants []Tenant, base *baseline) *auditor {
	a := &auditor{
		snap:         snap,
		base:         base,
		tenants:      tenants,
		tenantOf:     make(map[string]int, len(tenants)),
		saNames:      map[string][]string{},
		saKnown:      map[access.Subject]bool{},
		memberOf:     make(map[access.Subject][]int, len(snap.ServiceAccounts)+len(snap.RoleBindings)),
		membership:   make(map[membership]bool, len(snap.ServiceAccounts)+len(snap.RoleBindings)),
		secretsByNS:  map[string][]corev1.Secret{},
		scopes:       map[string]bool{},
		nsLabels:     make(map[string]map[string]string, len(snap.Namespaces)),
		policyGuards: policyGuards(snap),
	}
	for _, ns := range snap.Namespaces {
		a.nsLabels[ns.Name] = ns.Labels
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
	a.missingSAs = missingServiceAccounts(snap, a.eng, a.saKnown)
	for _, r := range a.eng.Resources() {
		a.scopes[r.Group+"/"+r.Resource] = r.Namespaced
	}
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
		if have == nil || c.Level.rank() > have.Level.rank() || (c.Level == have.Level && c.Cross && !have.Cross) ||
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
		snap: a.snap, eng: a.eng, base: a.base, tenants: a.tenants, findingsOnly: a.findingsOnly,
		tenantOf: a.tenantOf, saNames: a.saNames, saKnown: a.saKnown, members: a.members, guests: a.guests, declared: a.declared,
		memberOf: a.memberOf, membership: a.membership, secretsByNS: a.secretsByNS, scopes: a.scopes,
		nsLabels: a.nsLabels, policyGuards: a.policyGuards, missingSAs: a.missingSAs,
		grants:     map[access.Subject][]access.Grant{},
		memo:       map[memoKey]bool{},
		edges:      map[access.Subject][]edge{},
		subjectTo:  map[access.Subject]*SubjectAccess{},
		cells:      map[cellKey]*Cell{},
		seen:       map[string]bool{},
		coverMemo:  map[string]bool{},
		gainMemo:   map[string][]gained{},
		expanded:   map[int32][]access.Coverage{},
		levels:     map[int32]Level{},
		grantIndex: map[access.Subject]map[string][]access.Grant{},
		powers:     map[access.Subject][]power{},
		texts:      map[int32][]string{},
	}
}

// locate returns objects with each one's file:line, when it came from a manifest:
// "RoleBinding bob/x -> Role y" becomes "RoleBinding bob/x -> Role y (bob.yaml:12)".
func (a *auditor) locate(objects []string) []string {
	out := make([]string, len(objects))
	for i, o := range objects {
		out[i] = o
		key, _, _ := strings.Cut(o, " -> ")
		if origin, ok := a.snap.Origins[key]; ok {
			out[i] = o + " (" + origin + ")"
		}
	}
	return out
}

func (a *auditor) add(f Finding) {
	if f.Objects == nil {
		f.Objects = []string{}
	}
	if f.key == "" {
		f.key = f.Rule + "|" + f.Subject + "|" + f.Namespace + "|" + strings.Join(f.Objects, ",")
	}
	if a.seen[f.key] {
		return // the same thing reached another way
	}
	a.seen[f.key] = true
	a.findings = append(a.findings, f)
}

// sortFindings puts findings in a total order, worst first (the key
// last), so that the output does not depend on which worker found what
// first. Pointers are sorted: a Finding is too big to move around.
func sortFindings(findings []Finding) []Finding {
	order := make([]*Finding, len(findings))
	for i := range findings {
		order[i] = &findings[i]
	}
	slices.SortFunc(order, func(x, y *Finding) int {
		return cmp.Or(cmp.Compare(y.Severity, x.Severity), cmp.Compare(x.Tenant, y.Tenant), cmp.Compare(x.Rule, y.Rule),
			cmp.Compare(x.Subject, y.Subject), cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Message, y.Message),
			cmp.Compare(x.key, y.key))
	})
	sorted := make([]Finding, len(order))
	for i, f := range order {
		sorted[i] = *f
	}
	return sorted
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
		Tenants:    []TenantSummary{},
		BlindSpots: BlindSpots,
		Warnings:   a.eng.Warnings(),
	}
	r.Findings = sortFindings(r.Findings)
	r.Findings = slices.CompactFunc(r.Findings, func(x, y Finding) bool {
		return x.Rule == y.Rule && x.Subject == y.Subject && x.Namespace == y.Namespace && x.Message == y.Message
	})
	if folded := a.foldConsequences(r.Findings); len(folded) != len(r.Findings) {
		r.Findings = sortFindings(folded) // a cause takes its consequences' severity
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		f.Pasteable = PasteableSubjects(f.Subject)
		if len(a.snap.Origins) > 0 {
			f.Objects = a.locate(f.Objects)
			for j := range f.Consequences {
				f.Consequences[j].Objects = a.locate(f.Consequences[j].Objects)
			}
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
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	r.Access, r.Subjects = []Cell{}, []SubjectAccess{}
	if !a.findingsOnly {
		r.Access, r.Subjects = a.matrix()
	}
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
