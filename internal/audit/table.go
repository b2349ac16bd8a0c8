package audit

import (
	"fmt"
	"io"
	"strings"
)

// WriteTable prints the findings for a terminal: one block per finding,
// worst first, then a summary line.
func WriteTable(w io.Writer, r *Report) error {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%-8s %s", strings.ToUpper(f.Severity.String()), f.Rule)
		if f.Pattern > 0 {
			fmt.Fprintf(&b, " (pattern %d)", f.Pattern)
		}
		if f.Tenant != "" {
			fmt.Fprintf(&b, "  tenant %s", f.Tenant)
		}
		b.WriteByte('\n')
		for _, o := range f.Objects {
			fmt.Fprintf(&b, "  object: %s\n", o)
		}
		fmt.Fprintf(&b, "  %s\n  fix: %s\n\n", f.Message, f.Fix)
	}
	if len(r.Findings) == 0 {
		b.WriteString("No findings.\n")
	}
	writeBaselineTable(&b, r)
	s := r.Summary
	fmt.Fprintf(&b, "%d findings: %d critical, %d high, %d medium, %d low; %d tenants, %d namespaces, %d subjects, %d bindings; %d cross-tenant cells\n",
		len(r.Findings), s.Critical, s.High, s.Medium, s.Low, s.Tenants, s.Namespaces, s.Subjects, s.Bindings, s.CrossTenantCells)
	if r.Live != nil {
		fmt.Fprintf(&b, "live: %d of %d SubjectAccessReviews agree with the engine; %d allowed by the cluster beyond RBAC objects; %d disagreements\n",
			r.Live.Agreements, r.Live.Checks, r.Live.Wider, len(r.Live.Disagreements))
		for _, d := range r.Live.Disagreements {
			fmt.Fprintf(&b, "  disagreement: %s\n", d)
		}
		for _, w := range r.Live.WiderCases {
			fmt.Fprintf(&b, "  allowed beyond RBAC objects: %s\n", w)
		}
	} else {
		b.WriteString("not seen offline: system:masters certificates and non-RBAC authorizers; --live samples SubjectAccessReviews to check\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
