package audit

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// newHTMLData is the JSON the page's script reads: every string once, in a
// table, and everything else as arrays of indices into it, so that 5,000
// tenants fit in a few megabytes. json.Marshal escapes <, > and &, so the
// result is safe inside a <script> element. The layout (report.js reads it):
//
//	strings:   ["", "cross-tenant-access", ...]
//	findings:  [[rule, severity, pattern, tenant, subject, namespace, [objects], message, fix, [pasteable]], ...]
//	           and, for a finding that causes others, a last element [consequence, ...]
//	consequence: [rule, severity, pattern, namespace, message]
//	subjects:  [[subject, tenant, [actsAs], [grant, ...], findings, worst], ...], worst first
//	grant:     [namespace, level, via, ruleList] or [..., ruleList, [rules]] when the report carries the rules
//	ruleLists: [[rule, ...], ...], Report.RuleLists
//
// Severities are numbers (1 low … 4 critical, 0 none); strings are indices.
// A finding's objects, message, fix and consequences' messages are
// templates: its subject, namespace and tenant stand there as \x01, \x02
// and \x03 (see templated), so 5,000 tenants' "no quota" is one string.
func newHTMLData(r *Report, findings []Finding) string {
	d := htmlData{index: map[string]int{}}
	var b bytes.Buffer

	b.WriteString(`"findings":[`)
	count := map[string]int{}
	worst := map[string]Severity{}
	for i, f := range findings {
		count[f.Subject]++
		worst[f.Subject] = max(worst[f.Subject], f.Severity)
		d.sep(&b, i)
		b.WriteByte('[')
		d.str(&b, f.Rule)
		d.ints(&b, int(f.Severity), f.Pattern)
		b.WriteByte(',')
		d.str(&b, f.Tenant)
		b.WriteByte(',')
		d.str(&b, f.Subject)
		b.WriteByte(',')
		d.str(&b, f.Namespace)
		b.WriteByte(',')
		d.texts(&b, f, f.Objects)
		b.WriteByte(',')
		d.text(&b, f, f.Message)
		b.WriteByte(',')
		d.text(&b, f, f.Fix)
		b.WriteByte(',')
		d.strs(&b, PasteableSubjects(f.Subject))
		if len(f.Consequences) > 0 {
			b.WriteString(",[")
			for j, c := range f.Consequences {
				d.sep(&b, j)
				b.WriteByte('[')
				d.str(&b, c.Rule)
				d.ints(&b, int(c.Severity), c.Pattern)
				b.WriteByte(',')
				d.str(&b, c.Namespace)
				b.WriteByte(',')
				d.text(&b, f, c.Message)
				b.WriteByte(']')
			}
			b.WriteByte(']')
		}
		b.WriteByte(']')
	}

	// Subjects with the worst findings first; the report's order otherwise.
	order := make([]int, len(r.Subjects))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(worst[r.Subjects[b].Subject], worst[r.Subjects[a].Subject])
	})
	b.WriteString(`],"subjects":[`)
	for i, n := range order {
		s := r.Subjects[n]
		d.sep(&b, i)
		b.WriteByte('[')
		d.str(&b, s.Subject)
		b.WriteByte(',')
		d.str(&b, s.Tenant)
		b.WriteByte(',')
		d.strs(&b, s.ActsAs)
		b.WriteString(",[")
		for j, g := range s.Grants {
			d.sep(&b, j)
			b.WriteByte('[')
			d.str(&b, g.Namespace)
			b.WriteByte(',')
			d.str(&b, string(g.Level))
			b.WriteByte(',')
			d.str(&b, g.Via)
			d.ints(&b, g.RuleList)
			if g.Rules != nil {
				b.WriteByte(',')
				d.strs(&b, g.Rules)
			}
			b.WriteByte(']')
		}
		b.WriteByte(']')
		d.ints(&b, count[s.Subject], int(worst[s.Subject]))
		b.WriteByte(']')
	}
	b.WriteString(`],"ruleLists":[`)
	for i, l := range r.RuleLists {
		d.sep(&b, i)
		d.strs(&b, l)
	}
	b.WriteString(`]}`)

	table, _ := json.Marshal(d.table) // []string: cannot fail
	return `{"strings":` + string(table) + "," + b.String()
}

type htmlData struct {
	table []string
	index map[string]int
}

func (d *htmlData) sep(b *bytes.Buffer, i int) {
	if i > 0 {
		b.WriteByte(',')
	}
}

// str writes the index of s in the string table, adding it if new.
func (d *htmlData) str(b *bytes.Buffer, s string) {
	i, ok := d.index[s]
	if !ok {
		i = len(d.table)
		d.table = append(d.table, s)
		d.index[s] = i
	}
	b.WriteString(strconv.Itoa(i))
}

// Placeholders of a finding's own names in its texts (control characters
// never appear in the texts bulkhead writes; a text holding one is kept
// as it is).
const (
	placeSubject   = "\x01"
	placeNamespace = "\x02"
	placeTenant    = "\x03"
)

// templated replaces f's subject, namespace and tenant in s with their
// placeholders, in that order; report.js expands them in the reverse
// order, which gives s back exactly.
func templated(f Finding, s string) string {
	if strings.ContainsAny(s, placeSubject+placeNamespace+placeTenant) {
		return s
	}
	for _, r := range [...]struct{ name, place string }{{f.Subject, placeSubject}, {f.Namespace, placeNamespace}, {f.Tenant, placeTenant}} {
		if r.name != "" {
			s = strings.ReplaceAll(s, r.name, r.place)
		}
	}
	return s
}

// text writes the index of s as a template of finding f.
func (d *htmlData) text(b *bytes.Buffer, f Finding, s string) { d.str(b, templated(f, s)) }

func (d *htmlData) texts(b *bytes.Buffer, f Finding, ss []string) {
	b.WriteByte('[')
	for i, s := range ss {
		d.sep(b, i)
		d.text(b, f, s)
	}
	b.WriteByte(']')
}

func (d *htmlData) strs(b *bytes.Buffer, ss []string) {
	b.WriteByte('[')
	for i, s := range ss {
		d.sep(b, i)
		d.str(b, s)
	}
	b.WriteByte(']')
}

// ints writes ",n" for each n.
func (d *htmlData) ints(b *bytes.Buffer, ns ...int) {
	for _, n := range ns {
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(n))
	}
}
