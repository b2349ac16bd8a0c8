package audit

import (
	"strings"
	"testing"
)

func runFiles(t *testing.T, paths ...string) *Report {
	t.Helper()
	snap, _, err := ReadFiles(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	return mustAudit(t, snap, TenantOptions{})
}

// mustAudit picks the tenants of snap and audits it, failing the test on
// any error.
func mustAudit(t *testing.T, snap *Snapshot, opts TenantOptions) *Report {
	t.Helper()
	tenants, err := Tenants(snap, opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(snap, tenants)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func findRule(r *Report, rule string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

// TestProcedureSlip is the acceptance: the hand procedure's
// copy-paste slip is named, with fixes.
func TestProcedureSlip(t *testing.T) {
	r := runFiles(t, "testdata/procedure")
	for _, f := range r.Findings {
		t.Logf("%-8s %-20s %-6s %s | %s", f.Severity, f.Rule, f.Tenant, f.Message, f.Fix)
	}
	dangling := findRule(r, "dangling-role-ref")
	if len(dangling) != 1 || dangling[0].Namespace != "alice" || dangling[0].Severity != High ||
		!strings.Contains(dangling[0].Objects[0], "RoleBinding alice/alice-user-full-access (testdata/procedure/alice.yaml:") ||
		!strings.Contains(dangling[0].Message, "exists in namespace bob") || !strings.Contains(dangling[0].Fix, "Move Role alice-user-full-access from namespace bob to alice") {
		t.Errorf("dangling-role-ref = %+v", dangling)
	}
	misplaced := findRule(r, "misplaced-role")
	if len(misplaced) != 1 || misplaced[0].Namespace != "bob" || !strings.Contains(misplaced[0].Objects[0], "Role bob/alice-user-full-access") ||
		!strings.Contains(misplaced[0].Fix, "create Role alice-user-full-access in alice") {
		t.Errorf("misplaced-role = %+v", misplaced)
	}
	quota := findRule(r, "guardrail-write")
	if len(quota) != 1 || quota[0].Subject != "ServiceAccount bob/bob-user" || quota[0].Namespace != "bob" ||
		!strings.Contains(quota[0].Fix, "Role bob/bob-user-full-access") {
		t.Errorf("guardrail-write = %+v", quota)
	}
	for _, rule := range []string{"no-pod-security", "legacy-token"} {
		if got := len(findRule(r, rule)); got != 2 {
			t.Errorf("%s: %d findings, want one per namespace", rule, got)
		}
	}
	if len(findRule(r, "cross-tenant-access")) != 0 {
		t.Errorf("cross-tenant-access reported, but neither can reach the other")
	}
}
