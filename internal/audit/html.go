package audit

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
)

// The page is one file that a reviewer can open from disk or attach to a
// ticket, so the CSS and the script are inlined, and the Content Security
// Policy allows exactly these two blocks and no fetch at all. Names come from
// the cluster and are untrusted: the template escapes them, and the script
// only ever sets textContent.
var (
	//go:embed html/report.html.tmpl
	htmlTemplateText string
	//go:embed html/report.css
	htmlCSS string
	//go:embed html/report.js
	htmlJS string

	htmlTemplate = template.Must(template.New("report").Parse(htmlTemplateText))
	htmlCSP      = "default-src 'none'; img-src data:; base-uri 'none'; form-action 'none'; " +
		"style-src " + cspHash(htmlCSS) + "; script-src " + cspHash(htmlJS)
)

// HeatmapLimit caps the rows and the columns of the HTML heatmap: a browser
// table of thousands of tenants is unreadable, and the JSON report has the
// full matrix.
const HeatmapLimit = 60

// WriteHTML writes r as one self-contained HTML page: a summary, the tenant ×
// namespace heatmap, the findings by severity and a per-subject drill-down.
func WriteHTML(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("write html report: the report is nil")
	}
	var buf bytes.Buffer
	if err := htmlTemplate.Execute(&buf, newHTMLPage(r)); err != nil {
		return fmt.Errorf("render html report: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// htmlPage is what the template reads; every decision is made here, so the
// template only prints.
type htmlPage struct {
	*Report
	CSP     string
	CSS     template.CSS
	JS      template.JS
	Heatmap heatmap
	// Groups are the findings by rule; the script renders a group's
	// findings from Data when it is expanded.
	Groups []ruleGroup
	// Data is the compact JSON the script reads (see htmlData).
	Data template.JS
}

// ruleGroup is the findings of one rule: Count of them from Start in the
// embedded findings.
type ruleGroup struct {
	Rule    string
	Pattern int
	Worst   string
	Count   int
	Start   int
	Counts  string // "3 critical, 2 high" when the group mixes severities
	Open    bool
}

func newHTMLPage(r *Report) *htmlPage {
	groups, findings := groupFindings(r.Findings)
	return &htmlPage{
		Report:  r,
		CSP:     htmlCSP,
		CSS:     template.CSS(htmlCSS),
		JS:      template.JS(htmlJS),
		Heatmap: newHeatmap(r, HeatmapLimit),
		Groups:  groups,
		Data:    template.JS(newHTMLData(r, findings)),
	}
}

// groupFindings groups the findings by rule, the rule with the worst and
// then the most findings first, and returns them in group order.
func groupFindings(fs []Finding) ([]ruleGroup, []Finding) {
	byRule := map[string][]Finding{}
	var rules []string
	for _, f := range fs {
		if _, ok := byRule[f.Rule]; !ok {
			rules = append(rules, f.Rule)
		}
		byRule[f.Rule] = append(byRule[f.Rule], f)
	}
	worst := func(rule string) Severity {
		w := Severity(0)
		for _, f := range byRule[rule] {
			w = max(w, f.Severity)
		}
		return w
	}
	slices.SortFunc(rules, func(a, b string) int {
		return cmp.Or(cmp.Compare(worst(b), worst(a)), cmp.Compare(len(byRule[b]), len(byRule[a])), cmp.Compare(a, b))
	})
	groups := make([]ruleGroup, 0, len(rules))
	ordered := make([]Finding, 0, len(fs))
	for _, rule := range rules {
		in := byRule[rule]
		slices.SortStableFunc(in, func(a, b Finding) int { return cmp.Compare(b.Severity, a.Severity) })
		var counts []string
		for sev := Critical; sev >= Low; sev-- {
			if n := countSeverity(in, sev); n > 0 {
				counts = append(counts, fmt.Sprintf("%d %s", n, sev))
			}
		}
		g := ruleGroup{Rule: rule, Pattern: in[0].Pattern, Worst: severityClass(worst(rule)), Count: len(in), Start: len(ordered)}
		if len(counts) > 1 {
			g.Counts = strings.Join(counts, ", ")
		}
		// Groups of serious findings start expanded, so that they are in
		// view; the script renders the first page of each.
		g.Open = worst(rule) >= Critical
		groups = append(groups, g)
		ordered = append(ordered, in...)
	}
	return groups, ordered
}

func countSeverity(fs []Finding, s Severity) int {
	n := 0
	for _, f := range fs {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// severityClass is the severity as a CSS class and data attribute value:
// "none" when there is none, "unknown" when it is out of range.
func severityClass(s Severity) string {
	switch {
	case s == 0:
		return "none"
	case s < Low || s > Critical:
		return "unknown"
	}
	return s.String()
}

// levelClass keeps CSS classes to a known set whatever the input says.
func levelClass(l Level) string {
	if l.rank() == 0 {
		return "unknown"
	}
	return string(l)
}

// heatmap is the part of the tenant × namespace matrix that fits on a page.
type heatmap struct {
	Columns []heatColumn
	Rows    []heatRow
	// The size of the whole matrix, to say what was left out.
	Tenants, Namespaces, Cells int
	ShownCells                 int
}

type heatColumn struct {
	Namespace, Label string
}

type heatRow struct {
	Tenant, Namespace string // Namespace is the tenant's own, the diagonal
	Worst             string
	Cross             int
	Cells             []heatCell
}

type heatCell struct {
	Empty       bool
	Own         bool // the tenant's own namespace
	Cross       bool
	Namespace   string
	Level, Mark string
	Title       string
}

// Truncated reports whether some tenants, namespaces or cells are not shown.
func (h heatmap) Truncated() bool {
	return len(h.Rows) < h.Tenants || len(h.Columns) < h.Namespaces || h.ShownCells < h.Cells
}

// HiddenTenants, HiddenNamespaces and HiddenCells say what the page left out.
func (h heatmap) HiddenTenants() int    { return h.Tenants - len(h.Rows) }
func (h heatmap) HiddenNamespaces() int { return h.Namespaces - len(h.Columns) }
func (h heatmap) HiddenCells() int      { return h.Cells - h.ShownCells }

type heatTenant struct {
	name, own  string
	cross      int
	worst      Severity
	namespaces map[string]Cell
}

// newHeatmap keeps at most limit tenants, those with cross-tenant access and
// the worst findings first, and at most limit of their namespaces: "*", then
// those other tenants reach, then their own. Own namespaces are placed in row
// order so that they form the diagonal.
func newHeatmap(r *Report, limit int) heatmap {
	tenants := map[string]*heatTenant{}
	allNamespaces := map[string]bool{}
	for _, c := range r.Access {
		t := tenants[c.Tenant]
		if t == nil {
			t = &heatTenant{name: c.Tenant, namespaces: map[string]Cell{}}
			tenants[c.Tenant] = t
		}
		allNamespaces[c.Namespace] = true
		if prev, ok := t.namespaces[c.Namespace]; ok {
			c = mergeCells(prev, c)
		}
		t.namespaces[c.Namespace] = c
	}
	for _, ts := range r.Tenants {
		if t := tenants[ts.Name]; t != nil {
			t.own = ts.Namespace
			if ts.Worst != nil {
				t.worst = max(t.worst, *ts.Worst)
			}
		}
	}
	for _, f := range r.Findings {
		if t := tenants[f.Tenant]; t != nil {
			t.worst = max(t.worst, f.Severity)
		}
	}

	h := heatmap{Tenants: len(tenants), Namespaces: len(allNamespaces)}
	ranked := make([]*heatTenant, 0, len(tenants))
	for _, t := range tenants {
		fallback := ""
		for ns, c := range t.namespaces {
			if c.Cross {
				t.cross++
			} else if ns != "*" && (fallback == "" || ns < fallback) {
				fallback = ns
			}
		}
		if t.own == "" {
			t.own = fallback // not in r.Tenants: a namespace of its own
		}
		h.Cells += len(t.namespaces)
		ranked = append(ranked, t)
	}
	slices.SortFunc(ranked, func(a, b *heatTenant) int {
		return cmp.Or(
			cmp.Compare(min(b.cross, 1), min(a.cross, 1)),
			cmp.Compare(b.worst, a.worst),
			cmp.Compare(b.cross, a.cross),
			cmp.Compare(a.name, b.name),
		)
	})
	shown := ranked[:min(limit, len(ranked))]

	for _, ns := range pickColumns(shown, limit) {
		label := ns
		if ns == "*" {
			label = "* (all namespaces)"
		}
		h.Columns = append(h.Columns, heatColumn{Namespace: ns, Label: label})
	}
	for _, t := range shown {
		row := heatRow{Tenant: t.name, Namespace: t.own, Worst: severityClass(t.worst), Cross: t.cross}
		for _, col := range h.Columns {
			c, ok := t.namespaces[col.Namespace]
			cell := heatCell{Empty: !ok, Own: col.Namespace == t.own, Namespace: col.Namespace}
			if ok {
				h.ShownCells++
				cell.Cross = c.Cross
				cell.Level = levelClass(c.Level)
				cell.Mark = map[string]string{"read": "R", "write": "W", "admin": "A"}[cell.Level]
				cell.Title = cellTitle(c, col.Label)
			}
			row.Cells = append(row.Cells, cell)
		}
		h.Rows = append(h.Rows, row)
	}
	return h
}

func pickColumns(shown []*heatTenant, limit int) []string {
	var candidates []string
	reached := map[string]int{} // cross-tenant cells into a namespace
	own := map[string]bool{}
	for _, t := range shown {
		own[t.own] = true
		for ns, c := range t.namespaces {
			n, seen := reached[ns]
			if !seen {
				candidates = append(candidates, ns)
			}
			if c.Cross {
				n++
			}
			reached[ns] = n
		}
	}
	slices.SortFunc(candidates, func(a, b string) int {
		return cmp.Or(
			cmp.Compare(oneIf(b == "*"), oneIf(a == "*")),
			cmp.Compare(reached[b], reached[a]),
			cmp.Compare(oneIf(own[b]), oneIf(own[a])),
			cmp.Compare(a, b),
		)
	})
	kept := map[string]bool{}
	for _, ns := range candidates[:min(limit, len(candidates))] {
		kept[ns] = true
	}

	var columns []string
	add := func(ns string) {
		if kept[ns] {
			columns = append(columns, ns)
			delete(kept, ns)
		}
	}
	add("*")
	for _, t := range shown {
		add(t.own)
	}
	rest := make([]string, 0, len(kept))
	for ns := range kept {
		rest = append(rest, ns)
	}
	slices.Sort(rest)
	return append(columns, rest...)
}

func oneIf(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mergeCells keeps the stronger level when a report repeats a cell.
func mergeCells(a, b Cell) Cell {
	if b.Level.rank() > a.Level.rank() {
		a.Level, a.Via = b.Level, b.Via
	}
	a.Cross = a.Cross || b.Cross
	return a
}

func cellTitle(c Cell, namespace string) string {
	kind := ""
	if c.Cross {
		kind = ", cross-tenant"
	}
	return fmt.Sprintf("%s → %s: %s%s\nvia %s", c.Tenant, namespace, c.Level, kind, c.Via)
}
