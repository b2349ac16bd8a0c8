package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// BaselineComparison is what --baseline adds to a report: how its findings
// compare with an earlier -o json report of the same input.
type BaselineComparison struct {
	// Source is the earlier report's file.
	Source string `json:"source"`
	// Unchanged are the findings the earlier report already had; they are
	// not in Report.Findings, which holds only the new ones.
	Unchanged []Finding `json:"unchanged"`
	// Resolved are the earlier report's findings that are gone.
	Resolved []Finding `json:"resolved"`
}

// location is the " (file:line)" a manifest object carries in a finding.
var location = regexp.MustCompile(`^(.*) \(([^()]*):([0-9]+)\)$`)

// splitLocation returns an object without its manifest location, and the
// location's file and line when it has one.
func splitLocation(object string) (plain, file string, line int) {
	m := location.FindStringSubmatch(object)
	if m == nil {
		return object, "", 0
	}
	line, _ = strconv.Atoi(m[3])
	return m[1], m[2], line
}

// Identity is what makes a finding the same one in two reports: its rule,
// subject, namespace and objects, without the file:line of manifests (an
// edit above an object moves it without changing the finding). Reports
// written by any version of -o json carry what it needs.
func Identity(f Finding) string {
	objects := make([]string, len(f.Objects))
	for i, o := range f.Objects {
		objects[i], _, _ = splitLocation(o)
	}
	slices.Sort(objects)
	return f.Rule + "|" + f.Subject + "|" + f.Namespace + "|" + strings.Join(objects, ",")
}

// identities are the Identity of f and of each of its consequences (as
// findings of f's subject).
func identities(f Finding) []string {
	ids := []string{Identity(f)}
	for _, c := range f.Consequences {
		ids = append(ids, Identity(Finding{Rule: c.Rule, Subject: f.Subject, Namespace: c.Namespace, Objects: c.Objects}))
	}
	return ids
}

// Fingerprint is a short stable hash of Identity, for SARIF's
// partialFingerprints.
func Fingerprint(f Finding) string {
	sum := sha256.Sum256([]byte(Identity(f)))
	return hex.EncodeToString(sum[:16])
}

// ReadReport reads an earlier bulkhead audit -o json report.
func ReadReport(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the baseline report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("baseline %s is not a bulkhead audit -o json report: %w", path, err)
	}
	if r.APIVersion != APIVersion || r.Kind != ReportKind {
		return nil, fmt.Errorf("baseline %s is not a bulkhead audit -o json report (apiVersion %q, kind %q; want %s, %s): write one with bulkhead audit -o json > %s",
			path, r.APIVersion, r.Kind, APIVersion, ReportKind, path)
	}
	return &r, nil
}

// CompareBaseline keeps in r only the findings base does not have, moves
// the others to r.Baseline.Unchanged and lists base's findings r no longer
// has as resolved. A base that was itself compared with a baseline counts
// its unchanged findings too, so each run's report is the next run's
// baseline. Summary and tenant counts then count the new findings.
func CompareBaseline(r, base *Report, source string) {
	before := map[string]bool{}
	old := slices.Concat(base.Findings, baselineUnchanged(base))
	for _, f := range old {
		before[Identity(f)] = true
	}
	now := map[string]bool{}
	cmp := &BaselineComparison{Source: source, Unchanged: []Finding{}, Resolved: []Finding{}}
	fresh := []Finding{}
	for _, f := range r.Findings {
		// A finding an earlier report listed on its own and this one
		// folds under its cause is neither new nor resolved: the cause
		// is unchanged if it, or any consequence, was there before.
		seen := false
		for _, id := range identities(f) {
			now[id] = true
			seen = seen || before[id]
		}
		if seen {
			cmp.Unchanged = append(cmp.Unchanged, f)
		} else {
			fresh = append(fresh, f)
		}
	}
	for i := range r.Suppressed { // hidden now, but not gone
		s := &r.Suppressed[i]
		id := Identity(s.Finding)
		now[id] = true
		s.BaselineState = "new"
		if before[id] {
			s.BaselineState = "unchanged"
		}
	}
	for _, f := range old {
		if id := Identity(f); !now[id] {
			now[id] = true // once, if base listed it twice
			cmp.Resolved = append(cmp.Resolved, f)
		}
	}
	r.Findings, r.Baseline = fresh, cmp
	recount(r)
}

func baselineUnchanged(r *Report) []Finding {
	if r.Baseline == nil {
		return nil
	}
	return r.Baseline.Unchanged
}

// recount sets the summary's and the tenants' finding counts from
// r.Findings, after a baseline or suppressions took some out.
func recount(r *Report) {
	r.Summary.Critical, r.Summary.High, r.Summary.Medium, r.Summary.Low = 0, 0, 0, 0
	count := map[string]int{}
	worst := map[string]Severity{}
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
	for i := range r.Tenants {
		t := &r.Tenants[i]
		t.Findings, t.Worst = count[t.Name], nil
		if w, ok := worst[t.Name]; ok {
			t.Worst = &w
		}
	}
}

// writeBaselineTable adds to the table what --baseline and --ignore-file
// took out of it: the resolved findings, and counts of the rest.
func writeBaselineTable(b *strings.Builder, r *Report) {
	if c := r.Baseline; c != nil {
		fmt.Fprintf(b, "Compared with baseline %s: %d new, %d unchanged (not shown), %d resolved.\n", c.Source, len(r.Findings), len(c.Unchanged), len(c.Resolved))
		if len(c.Resolved) > 0 {
			b.WriteString("\nResolved since baseline:\n")
			for _, f := range c.Resolved {
				fmt.Fprintf(b, "  %-8s %s", strings.ToUpper(f.Severity.String()), f.Rule)
				if f.Tenant != "" {
					fmt.Fprintf(b, "  tenant %s", f.Tenant)
				}
				if len(f.Objects) > 0 {
					plain, _, _ := splitLocation(f.Objects[0])
					fmt.Fprintf(b, "  %s", plain)
				}
				b.WriteByte('\n')
			}
		}
		b.WriteByte('\n')
	}
	if len(r.Suppressed) > 0 {
		fmt.Fprintf(b, "Suppressed by the ignore file: %d\n", len(r.Suppressed))
		for _, s := range r.Suppressed {
			fmt.Fprintf(b, "  %s on %s until %s (%s): %s\n", s.Finding.Rule, s.By.Object, s.By.Expires, s.By.At, s.By.Reason)
		}
		b.WriteByte('\n')
	}
}
