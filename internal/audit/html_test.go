package audit_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

const xssName = `<script>alert(1)</script>`

// htmlReportBuilder builds small Reports for the HTML tests.
type htmlReportBuilder struct{ r audit.Report }

func newHTMLReport(source string) *htmlReportBuilder {
	return &htmlReportBuilder{r: audit.Report{APIVersion: "bulkhead.dev/v1alpha1", Kind: "AuditReport", Source: source}}
}

func (b *htmlReportBuilder) tenant(name, namespace string) *htmlReportBuilder {
	b.r.Tenants = append(b.r.Tenants, audit.TenantSummary{Name: name, Namespace: namespace, Managed: true})
	return b
}

func (b *htmlReportBuilder) cell(tenant, namespace string, level audit.Level, cross bool, via string) *htmlReportBuilder {
	b.r.Access = append(b.r.Access, audit.Cell{Tenant: tenant, Namespace: namespace, Level: level, Cross: cross, Via: via})
	return b
}

func (b *htmlReportBuilder) subject(name, tenant string, actsAs []string, grants ...audit.Access) *htmlReportBuilder {
	b.r.Subjects = append(b.r.Subjects, audit.SubjectAccess{Subject: name, Tenant: tenant, ActsAs: actsAs, Grants: grants})
	return b
}

func (b *htmlReportBuilder) finding(sev audit.Severity, rule string, pattern int, tenant, subject, namespace string) *htmlReportBuilder {
	binding := "ClusterRoleBinding " + rule
	if namespace != "" {
		binding = "RoleBinding " + namespace + "/" + rule
	}
	b.r.Findings = append(b.r.Findings, audit.Finding{
		Rule: rule, Pattern: pattern, Severity: sev, Tenant: tenant, Subject: subject, Namespace: namespace,
		Objects: []string{binding},
		Message: fmt.Sprintf("%s: %s holds %s", rule, subject, binding),
		Fix:     "delete " + binding,
	})
	return b
}

func (b *htmlReportBuilder) build() *audit.Report {
	r := b.r
	for _, f := range r.Findings {
		switch f.Severity {
		case audit.Critical:
			r.Summary.Critical++
		case audit.High:
			r.Summary.High++
		case audit.Medium:
			r.Summary.Medium++
		case audit.Low:
			r.Summary.Low++
		}
	}
	for _, c := range r.Access {
		if c.Cross {
			r.Summary.CrossTenantCells++
		}
	}
	r.Summary.Tenants, r.Summary.Namespaces, r.Summary.Subjects = len(r.Tenants), len(r.Tenants), len(r.Subjects)
	return &r
}

func grant(namespace string, level audit.Level, via string, rules ...string) audit.Access {
	return audit.Access{Namespace: namespace, Level: level, Via: via, Rules: rules}
}

// sampleReport has three tenants, five cells of which one crosses from alice
// into bob, one finding of each severity, and a subject named like an attack.
func sampleReport() *audit.Report {
	const alice, bob = "ServiceAccount alice/alice-user", "ServiceAccount bob/bob-user"
	r := newHTMLReport("kind-test").
		tenant("alice", "alice").tenant("bob", "bob").tenant("carol", "carol").
		cell("alice", "alice", audit.LevelAdmin, false, alice+" (RoleBinding alice/admin)").
		cell("alice", "bob", audit.LevelWrite, true, alice+" (RoleBinding bob/open-door)").
		cell("bob", "bob", audit.LevelWrite, false, bob+" (RoleBinding bob/edit)").
		cell("bob", "*", audit.LevelRead, false, bob+" (ClusterRoleBinding read-all)").
		cell("carol", "carol", audit.LevelRead, false, xssName+" (RoleBinding carol/view)").
		subject(alice, "alice", []string{"ServiceAccount alice/ci"},
			grant("alice", audit.LevelAdmin, "RoleBinding alice/admin", "* *"),
			grant("bob", audit.LevelWrite, "RoleBinding bob/open-door", "create,update deployments", "get pods")).
		subject(bob, "bob", nil,
			grant("bob", audit.LevelWrite, "RoleBinding bob/edit", "create pods"),
			grant("*", audit.LevelRead, "ClusterRoleBinding read-all", "get,list pods")).
		subject(xssName, "carol", nil, grant("carol", audit.LevelRead, "RoleBinding carol/view", "get pods")).
		finding(audit.Low, "legacy-token", 18, "carol", xssName, "carol").
		finding(audit.Critical, "cross-tenant-access", 3, "alice", alice, "bob").
		finding(audit.Medium, "aggregated-clusterrole", 5, "alice", alice, "alice").
		finding(audit.High, "cluster-wide-grant", 1, "bob", bob, "").
		build()
	r.BlindSpots = []string{"system:masters certificates", "webhook authorizers"}
	r.Live = &audit.LiveCheck{Checks: 10, Agreements: 9, Disagreements: []string{"bob get secrets in alice"}, Wider: 1}
	r.Warnings = []string{"RoleBinding x/y: subject without namespace"}
	return r
}

func renderHTML(t *testing.T, r *audit.Report) (string, *html.Node) {
	t.Helper()
	var buf bytes.Buffer
	if err := audit.WriteHTML(&buf, r); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	doc, err := html.Parse(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatalf("parse the page: %v", err)
	}
	return buf.String(), doc
}

func TestHTMLIsSelfContained(t *testing.T) {
	out, doc := renderHTML(t, sampleReport())

	for _, scheme := range []string{"http://", "https://", "//fonts", "@import", "url("} {
		if strings.Contains(out, scheme) {
			t.Errorf("the page contains %q: it must fetch nothing", scheme)
		}
	}
	for _, n := range elements(doc, func(*html.Node) bool { return true }) {
		switch n.Data {
		case "img", "iframe", "object", "embed", "video", "audio", "source", "base", "form":
			t.Errorf("the page has a <%s> element", n.Data)
		case "link":
			if attr(n, "rel") != "icon" {
				t.Errorf("the page has <link rel=%q>", attr(n, "rel"))
			}
		}
		for _, a := range n.Attr {
			switch a.Key {
			case "src", "href", "srcset", "action", "formaction", "poster", "data":
				if !strings.HasPrefix(a.Val, "#") && !strings.HasPrefix(a.Val, "data:") {
					t.Errorf("<%s %s=%q> fetches", n.Data, a.Key, a.Val)
				}
			}
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s> has the inline handler %s", n.Data, a.Key)
			}
		}
	}
	csp := elements(doc, func(n *html.Node) bool { return n.Data == "meta" && attr(n, "http-equiv") == "Content-Security-Policy" })
	if len(csp) != 1 || !strings.Contains(attr(csp[0], "content"), "default-src 'none'") {
		t.Errorf("want one Content-Security-Policy meta with default-src 'none', got %d", len(csp))
	}
}

// pageData is the page's embedded data with the string indices resolved.
type pageData struct {
	Findings []audit.Finding
	Subjects []audit.SubjectAccess
	Worst    []int // per subject
}

func decodePageData(t *testing.T, doc *html.Node) pageData {
	t.Helper()
	nodes := elements(doc, byID("report-data"))
	if len(nodes) != 1 {
		t.Fatalf("want one #report-data, got %d", len(nodes))
	}
	var raw struct {
		Strings   []string
		Findings  [][]json.RawMessage
		Subjects  [][]json.RawMessage
		RuleLists [][]int
	}
	if err := json.Unmarshal([]byte(text(nodes[0])), &raw); err != nil {
		t.Fatalf("the embedded JSON does not parse: %v", err)
	}
	num := func(m json.RawMessage) int {
		var n int
		if err := json.Unmarshal(m, &n); err != nil {
			t.Fatalf("embedded data: %s is not a number: %v", m, err)
		}
		return n
	}
	str := func(m json.RawMessage) string { return raw.Strings[num(m)] }
	strs := func(m json.RawMessage) []string {
		var ns []int
		if err := json.Unmarshal(m, &ns); err != nil {
			t.Fatalf("embedded data: %s is not a list of indices: %v", m, err)
		}
		var out []string
		for _, n := range ns {
			out = append(out, raw.Strings[n])
		}
		return out
	}
	var d pageData
	for _, f := range raw.Findings {
		// Texts are templates of the finding's own names, expanded as
		// report.js does: tenant, then namespace, then subject.
		expand := func(s string) string {
			s = strings.ReplaceAll(s, "\x03", str(f[3]))
			s = strings.ReplaceAll(s, "\x02", str(f[5]))
			return strings.ReplaceAll(s, "\x01", str(f[4]))
		}
		text := func(m json.RawMessage) string { return expand(str(m)) }
		var objects []string
		for _, o := range strs(f[6]) {
			objects = append(objects, expand(o))
		}
		finding := audit.Finding{
			Rule: str(f[0]), Severity: audit.Severity(num(f[1])), Pattern: num(f[2]), Tenant: str(f[3]),
			Subject: str(f[4]), Namespace: str(f[5]), Objects: objects, Message: text(f[7]), Fix: text(f[8]),
			Pasteable: strs(f[9]),
		}
		if len(f) > 10 {
			var cs [][]json.RawMessage
			if err := json.Unmarshal(f[10], &cs); err != nil {
				t.Fatalf("embedded consequences: %v", err)
			}
			for _, c := range cs {
				finding.Consequences = append(finding.Consequences, audit.Consequence{Rule: str(c[0]),
					Severity: audit.Severity(num(c[1])), Pattern: num(c[2]), Namespace: str(c[3]), Message: text(c[4])})
			}
		}
		d.Findings = append(d.Findings, finding)
	}
	for _, s := range raw.Subjects {
		sa := audit.SubjectAccess{Subject: str(s[0]), Tenant: str(s[1]), ActsAs: strs(s[2])}
		var grants [][]json.RawMessage
		if err := json.Unmarshal(s[3], &grants); err != nil {
			t.Fatal(err)
		}
		for _, g := range grants {
			a := audit.Access{Namespace: str(g[0]), Level: audit.Level(str(g[1])), Via: str(g[2]), RuleList: num(g[3])}
			if len(g) > 4 {
				a.Rules = strs(g[4])
			}
			sa.Grants = append(sa.Grants, a)
		}
		d.Subjects = append(d.Subjects, sa)
		d.Worst = append(d.Worst, num(s[5]))
	}
	return d
}

func TestHTMLGroupsFindingsByRule(t *testing.T) {
	r := sampleReport()
	r.Findings = append(r.Findings, audit.Finding{Rule: "cross-tenant-access", Pattern: 3, Severity: audit.High,
		Tenant: "bob", Subject: "ServiceAccount bob/bob-user", Namespace: "carol", Objects: []string{"RoleBinding carol/x"},
		Message: "bob reaches carol", Fix: "delete RoleBinding carol/x",
		Consequences: []audit.Consequence{{Rule: "node-escape", Pattern: 13, Severity: audit.High, Namespace: "carol",
			Objects: []string{"RoleBinding carol/x"}, Message: "bob, acting as carol's builder, escapes to the node"}}})
	_, doc := renderHTML(t, r)

	groups := elements(doc, byClass("details", "rule-group"))
	var got []string
	for _, g := range groups {
		got = append(got, attr(g, "data-rule")+" "+attr(g, "data-severity")+" "+attr(g, "data-count")+" "+attr(g, "data-start"))
	}
	want := []string{"cross-tenant-access critical 2 0", "cluster-wide-grant high 1 2", "aggregated-clusterrole medium 1 3", "legacy-token low 1 4"}
	if !slices.Equal(got, want) {
		t.Errorf("groups %q, want %q", got, want)
	}
	if len(groups) > 0 {
		if _, open := attrOK(groups[0], "open"); !open {
			t.Error("the critical group starts collapsed")
		}
		if _, open := attrOK(groups[len(groups)-1], "open"); open {
			t.Error("the low group starts expanded")
		}
		if s := text(groups[0]); !strings.Contains(s, "2 findings") || !strings.Contains(s, "1 critical, 1 high") || !strings.Contains(s, "ISOLATION.md #3") {
			t.Errorf("the summary of the critical group says %q", s)
		}
	}
	if n := len(elements(doc, byClass("article", "finding"))); n != 0 {
		t.Errorf("the page carries %d rendered findings: the script renders them on demand", n)
	}

	// The embedded data has every finding, in group order, each whole.
	d := decodePageData(t, doc)
	if len(d.Findings) != len(r.Findings) {
		t.Fatalf("embedded %d findings, want %d", len(d.Findings), len(r.Findings))
	}
	for _, f := range r.Findings {
		if !slices.ContainsFunc(d.Findings, func(g audit.Finding) bool { return reflectEqualFinding(f, g) }) {
			t.Errorf("the embedded data lacks the finding %+v", f)
		}
	}
	var order []string
	for _, f := range d.Findings {
		order = append(order, f.Rule+" "+f.Severity.String())
	}
	if want := []string{"cross-tenant-access critical", "cross-tenant-access high", "cluster-wide-grant high", "aggregated-clusterrole medium", "legacy-token low"}; !slices.Equal(order, want) {
		t.Errorf("embedded findings in the order %q, want %q", order, want)
	}
	if len(d.Subjects) != len(r.Subjects) || d.Subjects[0].Subject != "ServiceAccount alice/alice-user" || d.Worst[0] != int(audit.Critical) {
		t.Errorf("embedded subjects %+v, want alice's (critical) first", d.Subjects)
	}
	for _, s := range r.Subjects {
		if !slices.ContainsFunc(d.Subjects, func(g audit.SubjectAccess) bool { return reflect.DeepEqual(s, g) }) {
			t.Errorf("the embedded data lacks or changes the subject %+v", s)
		}
	}

	page := text(doc)
	if len(elements(doc, byID("no-findings"))) != 0 {
		t.Error(`the page says "No findings" although there are some`)
	}
	for _, want := range []string{"system:masters certificates", "bob get secrets in alice", "subject without namespace"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func reflectEqualFinding(a, b audit.Finding) bool {
	return a.Rule == b.Rule && a.Severity == b.Severity && a.Pattern == b.Pattern && a.Tenant == b.Tenant &&
		a.Subject == b.Subject && a.Namespace == b.Namespace && slices.Equal(a.Objects, b.Objects) &&
		a.Message == b.Message && a.Fix == b.Fix && slices.Equal(audit.PasteableSubjects(a.Subject), b.Pasteable) &&
		slices.EqualFunc(a.Consequences, b.Consequences, func(x, y audit.Consequence) bool {
			return x.Rule == y.Rule && x.Severity == y.Severity && x.Pattern == y.Pattern && x.Namespace == y.Namespace && x.Message == y.Message
		})
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// TestHTMLAtScale renders the page of the 5,000-tenant synthetic cluster: it
// must stay small enough for a browser to open (the browser test opens it).
func TestHTMLAtScale(t *testing.T) {
	r := syntheticAuditAtScale(t)
	out, doc := renderHTML(t, r)
	if len(out) > maxPageBytes {
		t.Errorf("the page of %d tenants is %.1f MB, want at most %.0f MB", len(r.Tenants), float64(len(out))/1e6, float64(maxPageBytes)/1e6)
	}
	d := decodePageData(t, doc)
	if len(d.Findings) != len(r.Findings) || len(d.Subjects) != len(r.Subjects) {
		t.Errorf("embedded %d findings and %d subjects, want %d and %d", len(d.Findings), len(d.Subjects), len(r.Findings), len(r.Subjects))
	}
	t.Logf("%d tenants, %d findings, %d subjects: %.1f MB", len(r.Tenants), len(r.Findings), len(r.Subjects), float64(len(out))/1e6)
}

const maxPageBytes = 10_000_000

func syntheticAuditAtScale(t *testing.T) *audit.Report {
	t.Helper()
	snap := audit.SyntheticCluster(5000, 0.02, 1)
	tenants, err := audit.Tenants(snap, audit.TenantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.Run(snap, tenants)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Tenants) < 5000 || len(r.Findings) == 0 {
		t.Fatalf("the synthetic audit has %d tenants and %d findings", len(r.Tenants), len(r.Findings))
	}
	return r
}

func TestHTMLEscapesUntrustedNames(t *testing.T) {
	attack := `"><img src=x onerror=alert(2)>`
	r := sampleReport()
	r.Tenants = append(r.Tenants, audit.TenantSummary{Name: attack, Namespace: attack})
	r.Access = append(r.Access, audit.Cell{Tenant: attack, Namespace: attack, Level: audit.Level(attack), Via: "</script>" + attack})
	r.Warnings = append(r.Warnings, "</script><script>alert(3)</script>")
	out, doc := renderHTML(t, r)

	if strings.Contains(out, xssName) || strings.Contains(out, "<img") || strings.Contains(out, "alert(3)</script>") {
		t.Error("an untrusted name reaches the page unescaped")
	}
	scripts := elements(doc, func(n *html.Node) bool { return n.Data == "script" })
	if len(scripts) != 2 || attr(scripts[0], "type") != "application/json" || attr(scripts[1], "type") != "" {
		t.Fatalf("want the JSON data and the drill-down script only, got %d <script> elements", len(scripts))
	}
	d := decodePageData(t, doc)
	if !slices.ContainsFunc(d.Subjects, func(s audit.SubjectAccess) bool { return s.Subject == xssName }) {
		t.Errorf("the embedded JSON lost the subject %q", xssName)
	}
	if !slices.ContainsFunc(d.Findings, func(f audit.Finding) bool { return f.Subject == xssName }) {
		t.Errorf("the embedded JSON lost the finding of %q", xssName)
	}
	for _, c := range elements(doc, byClass("td", "cell")) {
		if attr(c, "data-namespace") == attack && !strings.Contains(attr(c, "class"), "level-unknown") {
			t.Errorf("an unknown level made the classes %q", attr(c, "class"))
		}
	}
}

func TestHTMLHeatmap(t *testing.T) {
	r := sampleReport()
	_, doc := renderHTML(t, r)

	if len(elements(doc, byID("heatmap-truncated"))) != 0 {
		t.Error("a small heatmap says it was truncated")
	}
	cells := elements(doc, byClass("td", "cell"))
	if len(cells) != len(r.Access) {
		t.Errorf("got %d heatmap cells, want %d", len(cells), len(r.Access))
	}
	var cross []string
	for _, c := range cells {
		if attr(c, "data-cross") == "true" {
			cross = append(cross, attr(c.Parent, "data-tenant")+"→"+attr(c, "data-namespace"))
		}
		if !strings.Contains(attr(c, "title"), "via ") {
			t.Errorf("cell %s has no via in its tooltip: %q", attr(c, "data-namespace"), attr(c, "title"))
		}
	}
	if want := []string{"alice→bob"}; !slices.Equal(cross, want) {
		t.Errorf("cross-tenant cells %v, want %v", cross, want)
	}
	for _, row := range elements(doc, byClass("tr", "row")) {
		own := elements(row, func(n *html.Node) bool { return n.Data == "td" && hasClass(n, "own") })
		if len(own) != 1 || attr(own[0], "data-namespace") != attr(row, "data-tenant") {
			t.Errorf("row %s: want one own cell on the diagonal, got %d", attr(row, "data-tenant"), len(own))
		}
	}
}

func TestHTMLHeatmapKeepsTheWorstTenants(t *testing.T) {
	const tenants = 150
	b := newHTMLReport("many")
	for i := range tenants {
		name := fmt.Sprintf("tenant-%03d", i)
		b.tenant(name, name).cell(name, name, audit.LevelWrite, false, "ServiceAccount "+name+"/user")
	}
	b.cell("tenant-149", "tenant-000", audit.LevelRead, true, "ServiceAccount tenant-149/user")
	b.finding(audit.Critical, "escalate", 10, "tenant-077", "ServiceAccount tenant-077/user", "tenant-077")
	_, doc := renderHTML(t, b.build())

	notice := elements(doc, byID("heatmap-truncated"))
	if len(notice) != 1 {
		t.Fatal("no truncation notice for 150 tenants")
	}
	if want := "Showing 60 of 150 tenants and 60 of 150 namespaces: 90 tenants, 90 namespaces"; !strings.Contains(text(notice[0]), want) {
		t.Errorf("notice %q, want it to say %q", text(notice[0]), want)
	}
	rows := elements(doc, byClass("tr", "row"))
	if len(rows) != audit.HeatmapLimit {
		t.Fatalf("got %d rows, want %d", len(rows), audit.HeatmapLimit)
	}
	columns := elements(doc, byClass("th", "col"))
	if len(columns) != audit.HeatmapLimit {
		t.Errorf("got %d columns, want %d", len(columns), audit.HeatmapLimit)
	}
	var first []string
	for _, row := range rows[:3] {
		first = append(first, attr(row, "data-tenant"))
	}
	if want := []string{"tenant-149", "tenant-077", "tenant-000"}; !slices.Equal(first, want) {
		t.Errorf("first rows %v, want the cross-tenant one, then the worst finding, then by name: %v", first, want)
	}
	if attr(columns[1], "data-namespace") != "tenant-077" {
		t.Errorf("the second column is %q: own namespaces should follow the rows", attr(columns[1], "data-namespace"))
	}
	if len(elements(doc, byClass("td", "cross"))) != 1 {
		t.Error("the one cross-tenant cell is not shown")
	}
}

func TestHTMLWithoutFindings(t *testing.T) {
	out, doc := renderHTML(t, newHTMLReport("empty").build())

	if len(elements(doc, byID("no-findings"))) != 1 || !strings.Contains(out, "No findings") {
		t.Error(`an empty report does not say "No findings"`)
	}
	if len(elements(doc, byID("heatmap-empty"))) != 1 {
		t.Error("an empty report does not say that no tenant holds access")
	}
}

func TestHTMLIsDeterministic(t *testing.T) {
	b := newHTMLReport("twice")
	for i := range 80 {
		name := fmt.Sprintf("t%02d", i)
		b.cell(name, name, audit.LevelRead, false, "x").cell(name, fmt.Sprintf("t%02d", (i+1)%80), audit.LevelWrite, true, "y")
	}
	r := b.build()
	first, _ := renderHTML(t, r)
	for range 5 {
		if again, _ := renderHTML(t, r); again != first {
			t.Fatal("two renders of one report differ")
		}
	}
}

func TestHTMLNilReport(t *testing.T) {
	if err := audit.WriteHTML(&bytes.Buffer{}, nil); err == nil {
		t.Error("WriteHTML(nil) returned no error")
	}
}

// The helpers below read the parsed page, so that the tests check elements
// and not the formatting of the template.

func elements(root *html.Node, match func(*html.Node) bool) []*html.Node {
	var found []*html.Node
	for n := range root.Descendants() {
		if n.Type == html.ElementNode && match(n) {
			found = append(found, n)
		}
	}
	return found
}

func byID(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { return attr(n, "id") == id }
}

func byClass(tag, class string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag && hasClass(n, class) }
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return slices.Contains(strings.Fields(attr(n, "class")), class)
}

func text(root *html.Node) string {
	var b strings.Builder
	for n := range root.Descendants() {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
	}
	return b.String()
}
