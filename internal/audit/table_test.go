package audit

import (
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// TestTableCounts: one of a thing is singular, in every count of the
// summary line.
func TestTableCounts(t *testing.T) {
	r := &Report{
		Findings: []Finding{{Rule: "wildcard", Severity: Medium, Subject: "User alice", Objects: []string{"RoleBinding a/b"}}},
		Summary:  Summary{Medium: 1, Tenants: 1, Namespaces: 1, Subjects: 1, Bindings: 1, CrossTenantCells: 1},
		Live:     &LiveCheck{Checks: 1, Agreements: 1, Disagreements: []string{"x"}},
	}
	var b strings.Builder
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"1 finding:", "1 tenant,", "1 namespace,", "1 subject,", "1 binding;", "1 cross-tenant cell\n",
		"1 of 1 SubjectAccessReview agree", "1 disagreement\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"1 findings", "1 tenants", "1 namespaces", "1 subjects", "1 bindings", "1 cross-tenant cells", "1 disagreements"} {
		if strings.Contains(out, bad) {
			t.Errorf("table says %q:\n%s", bad, out)
		}
	}
	r.Findings, r.Summary = nil, Summary{Tenants: 2}
	b.Reset()
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "0 findings: ") || !strings.Contains(b.String(), "2 tenants,") {
		t.Errorf("plural counts lost:\n%s", b.String())
	}
}

// TestPasteableSubjects: every subject a finding names prints in a form
// can and who-can parse back to the same subject.
func TestPasteableSubjects(t *testing.T) {
	in := []access.Subject{
		{Kind: "ServiceAccount", Namespace: "team-a", Name: "builder"},
		{Kind: "User", Name: "alice@example.com"},
		{Kind: "Group", Name: "system:serviceaccounts:team-b"},
	}
	var names []string
	for _, s := range in {
		names = append(names, s.String())
	}
	got := PasteableSubjects(Abbreviate(names, 2))
	if len(got) != 2 {
		t.Fatalf("PasteableSubjects(%q) = %q, want 2 subjects", Abbreviate(names, 2), got)
	}
	for i, s := range in {
		p := PasteableSubjects(s.String())
		if len(p) != 1 {
			t.Fatalf("PasteableSubjects(%q) = %q", s, p)
		}
		back, _, err := access.ParseSubject(p[0])
		if err != nil || back != s {
			t.Errorf("subject %d: %q parses as %v, %v; want %v", i, p[0], back, err, s)
		}
	}
	if got := PasteableSubjects(""); len(got) != 0 {
		t.Errorf("no subject: got %q", got)
	}
	// The table prints them.
	var b strings.Builder
	if err := WriteTable(&b, &Report{Findings: []Finding{{Rule: "r", Severity: Low, Subject: in[0].String()}}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "  subject: system:serviceaccount:team-a:builder\n") {
		t.Errorf("table lacks the pasteable subject:\n%s", b.String())
	}
}

// TestIgnoredKinds: skipped kinds that grant nothing are not mentioned;
// those that could matter are.
func TestIgnoredKinds(t *testing.T) {
	_, ignored, err := ReadFiles([]string{rulesDir + "/read-ignored"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ignored.String(), "1 Deployment, 1 MutatingWebhookConfiguration"; got != want {
		t.Errorf("ignored = %q, want %q", got, want)
	}
}
