package audit_test

import (
	"bytes"
	"encoding/json"
	"fmt"
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

func TestHTMLListsEveryFindingBySeverity(t *testing.T) {
	r := sampleReport()
	_, doc := renderHTML(t, r)

	articles := elements(doc, byClass("article", "finding"))
	if len(articles) != len(r.Findings) {
		t.Fatalf("got %d findings on the page, want %d", len(articles), len(r.Findings))
	}
	var order []string
	for _, a := range articles {
		order = append(order, attr(a, "data-severity"))
	}
	if want := []string{"critical", "high", "medium", "low"}; !slices.Equal(order, want) {
		t.Errorf("findings in the order %v, want %v", order, want)
	}
	page := text(doc)
	for _, f := range r.Findings {
		for _, want := range []string{f.Rule, f.Message, f.Fix, f.Objects[0], fmt.Sprintf("ISOLATION.md #%d", f.Pattern)} {
			if !strings.Contains(page, want) {
				t.Errorf("the page lacks %q of finding %s", want, f.Rule)
			}
		}
	}
	if len(elements(doc, byID("no-findings"))) != 0 {
		t.Error(`the page says "No findings" although there are some`)
	}
	for _, want := range []string{"system:masters certificates", "bob get secrets in alice", "subject without namespace"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
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
	buttons := elements(doc, byClass("button", "subject"))
	shown := slices.ContainsFunc(buttons, func(n *html.Node) bool { return attr(n, "data-subject") == xssName })
	if !shown {
		t.Errorf("no subject button carries the name %q as text", xssName)
	}

	var data struct{ Subjects []audit.SubjectAccess }
	if err := json.Unmarshal([]byte(text(scripts[0])), &data); err != nil {
		t.Fatalf("the embedded JSON does not parse: %v", err)
	}
	if !slices.ContainsFunc(data.Subjects, func(s audit.SubjectAccess) bool { return s.Subject == xssName }) {
		t.Errorf("the embedded JSON lost the subject %q", xssName)
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
