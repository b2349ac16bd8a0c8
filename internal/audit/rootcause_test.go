package audit

import (
	"strings"
	"testing"
)

// One cause, one finding: a consequence reached through the same binding is
// told inside the finding that removes it; another cause stays its own.
func TestRootCauseFolding(t *testing.T) {
	r := rtAudit(t, "root-cause", tenantNamed("team-a", "team-b", "team-c"))
	var inA, inC []Finding
	for _, f := range r.Findings {
		if f.Rule != "cross-tenant-access" || f.Subject != "ServiceAccount team-b/b-user" {
			continue
		}
		switch f.Namespace {
		case "team-a":
			inA = append(inA, f)
		case "team-c":
			inC = append(inC, f)
		}
	}
	if len(inA) != 1 {
		t.Fatalf("team-a: %d cross-tenant findings for b-user, want 1 (the intruder binding):\n%s", len(inA), listFindings(r))
	}
	f := inA[0]
	if !strings.Contains(f.Fix, "RoleBinding team-a/intruder") || strings.Contains(f.Fix, "a-user's access") {
		t.Errorf("team-a fix does not remove the cause: %s", f.Fix)
	}
	if !strings.Contains(f.Message, "Through it, it also creates pods in team-a that run as ServiceAccount team-a/a-user") {
		t.Errorf("team-a finding does not tell its consequence: %s", f.Message)
	}
	// team-c: pods-for-b (with acting as c-user folded under it) and peek.
	if len(inC) != 2 {
		t.Fatalf("team-c: %d cross-tenant findings for b-user, want 2 (two causes):\n%s", len(inC), listFindings(r))
	}
	for _, f := range inC {
		switch {
		case strings.Contains(f.Objects[0], "RoleBinding team-c/pods-for-b"):
			if !strings.Contains(f.Message, "run as ServiceAccount team-c/c-user") {
				t.Errorf("pods-for-b finding lacks its consequence: %s", f.Message)
			}
		case strings.Contains(f.Objects[0], "RoleBinding team-c/peek"):
			if strings.Contains(f.Message, "Through it") {
				t.Errorf("peek finding took another cause's consequence: %s", f.Message)
			}
		default:
			t.Errorf("unexpected team-c finding: %s", f.Message)
		}
	}
}
