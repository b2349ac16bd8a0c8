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
		for _, subj := range PasteableSubjects(f.Subject) {
			fmt.Fprintf(&b, "  subject: %s\n", subj)
		}
		fmt.Fprintf(&b, "  %s\n", f.Message)
		for _, c := range f.Consequences {
			fmt.Fprintf(&b, "  consequence: %s %s", strings.ToUpper(c.Severity.String()), c.Rule)
			if c.Pattern > 0 {
				fmt.Fprintf(&b, " (pattern %d)", c.Pattern)
			}
			fmt.Fprintf(&b, ": %s\n", c.Message)
		}
		fmt.Fprintf(&b, "  fix: %s\n\n", f.Fix)
	}
	if len(r.Findings) == 0 {
		b.WriteString("No findings.\n")
	}
	writeBaselineTable(&b, r)
	s := r.Summary
	fmt.Fprintf(&b, "%s: %d critical, %d high, %d medium, %d low; %s, %s, %s, %s; %s\n",
		plural(len(r.Findings), "finding"), s.Critical, s.High, s.Medium, s.Low, plural(s.Tenants, "tenant"), plural(s.Namespaces, "namespace"),
		plural(s.Subjects, "subject"), plural(s.Bindings, "binding"), plural(s.CrossTenantCells, "cross-tenant cell"))
	if r.Live != nil {
		fmt.Fprintf(&b, "live: %d of %s agree with the engine; %d allowed by the cluster beyond RBAC objects; %s\n",
			r.Live.Agreements, plural(r.Live.Checks, "SubjectAccessReview"), r.Live.Wider, plural(len(r.Live.Disagreements), "disagreement"))
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

// PasteableSubjects writes a finding's subjects ("ServiceAccount ns/name,
// User alice and 2 more") the way bulkhead can and who-can read them
// (system:serviceaccount:ns:name, user:alice, group:x), so that one can be
// pasted from a finding into the other commands. Parts that are no subject
// (the "and N more" of a long list) are left out.
func PasteableSubjects(subject string) []string {
	var out []string
	for _, part := range strings.Split(subject, ", ") {
		part, _, _ = strings.Cut(part, " and ")
		kind, name, ok := strings.Cut(strings.TrimSpace(part), " ")
		if !ok || name == "" {
			continue
		}
		switch kind {
		case "ServiceAccount":
			if ns, sa, ok := strings.Cut(name, "/"); ok {
				out = append(out, "system:serviceaccount:"+ns+":"+sa)
			}
		case "User":
			out = append(out, "user:"+name)
		case "Group":
			out = append(out, "group:"+name)
		}
	}
	return out
}
