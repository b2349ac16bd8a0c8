package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// matrixNamespaces is how many tenants still get a column each; beyond it the
// other tenants' namespaces share one column.
const matrixNamespaces = 6

// JSON writes the report as indented JSON.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Table writes the member × target matrix, then one line per failed check.
// With color, failing cells are red and passing ones green.
func (r *Report) Table(w io.Writer, color bool) error {
	type row struct{ tenant, member, role string }
	var rows []row
	cells := map[row]map[string][]Check{}
	var nsCols []string
	seenNS := map[string]bool{}
	for _, c := range r.Checks {
		if (c.Scope == Own || c.Scope == Other) && !seenNS[c.Namespace] {
			seenNS[c.Namespace] = true
			nsCols = append(nsCols, c.Namespace)
		}
	}
	perNS := len(nsCols) <= matrixNamespaces
	for _, c := range r.Checks {
		k := row{c.Tenant, c.Member, c.Role}
		if cells[k] == nil {
			cells[k] = map[string][]Check{}
			rows = append(rows, k)
		}
		col := string(c.Scope)
		if perNS && (c.Scope == Own || c.Scope == Other) {
			col = "ns:" + c.Namespace
		}
		cells[k][col] = append(cells[k][col], c)
	}
	cols := []string{"own", "other"}
	header := []string{"TENANT", "MEMBER", "ROLE"}
	if perNS {
		cols = nil
		for _, ns := range nsCols {
			cols = append(cols, "ns:"+ns)
			header = append(header, "NS "+ns)
		}
	} else {
		header = append(header, "OWN NAMESPACE", "OTHER TENANTS")
	}
	cols = append(cols, "cluster", "guardrail")
	header = append(header, "CLUSTER", "GUARDRAILS")

	table := [][]string{header}
	ok := [][]bool{nil}
	for _, k := range rows {
		line := []string{k.tenant, k.member, k.role}
		pass := []bool{true, true, true}
		for _, col := range cols {
			text, good := cell(cells[k][col])
			line = append(line, text)
			pass = append(pass, good)
		}
		table = append(table, line)
		ok = append(ok, pass)
	}
	if err := writeTable(w, table, ok, color); err != nil {
		return err
	}
	fails := r.Failures()
	if len(fails) == 0 {
		_, err := fmt.Fprintf(w, "\nall %d checks passed\n", len(r.Checks))
		return err
	}
	fmt.Fprintf(w, "\n%d of %d checks failed:\n", len(fails), len(r.Checks))
	for _, c := range fails {
		where := string(c.Scope)
		if c.Namespace != "" {
			where = "namespace " + c.Namespace
		}
		line := fmt.Sprintf("  %s %s: %s in %s: expected %s, got %s", c.Tenant, c.Member, c.Action, where, c.Expect, c.Got)
		if c.Detail != "" {
			line += " (" + c.Detail + ")"
		}
		fmt.Fprintln(w, paint(line, color, red))
	}
	return nil
}

// cell summarises a group of checks: "forbidden 3/3" when all hold.
func cell(cs []Check) (string, bool) {
	if len(cs) == 0 {
		return "-", true
	}
	passed := 0
	expect := cs[0].Expect
	same := true
	for _, c := range cs {
		if c.OK {
			passed++
		}
		same = same && c.Expect == expect
	}
	if passed < len(cs) {
		return fmt.Sprintf("FAIL %d/%d", len(cs)-passed, len(cs)), false
	}
	if !same {
		return fmt.Sprintf("ok %d/%d", passed, len(cs)), true
	}
	return fmt.Sprintf("%s %d/%d", expect, passed, len(cs)), true
}

const (
	red   = "\x1b[31m"
	green = "\x1b[32m"
	reset = "\x1b[0m"
)

func paint(s string, color bool, code string) string {
	if !color {
		return s
	}
	return code + s + reset
}

// writeTable pads columns on the plain text, then paints, so escape codes
// never skew the alignment.
func writeTable(w io.Writer, rows [][]string, ok [][]bool, color bool) error {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, s := range r {
			widths[i] = max(widths[i], len(s))
		}
	}
	for ri, r := range rows {
		var b strings.Builder
		for i, s := range r {
			pad := s
			if i < len(r)-1 {
				pad += strings.Repeat(" ", widths[i]-len(s)+3)
			}
			switch {
			case ri == 0 || i < 3:
				b.WriteString(pad)
			case ok[ri][i]:
				b.WriteString(paint(pad, color, green))
			default:
				b.WriteString(paint(pad, color, red))
			}
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(b.String(), " ")); err != nil {
			return err
		}
	}
	return nil
}
