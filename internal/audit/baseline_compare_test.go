package audit

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

func finding(rule string, sev Severity, tenant string, objects ...string) Finding {
	return Finding{Rule: rule, Severity: sev, Tenant: tenant, Namespace: tenant, Objects: objects, Message: rule + " message", Fix: rule + " fix"}
}

func TestIdentityIgnoresManifestLines(t *testing.T) {
	a := finding("wildcard", Medium, "bob", "RoleBinding bob/x -> Role y (bob.yaml:23)", "Role bob/y (bob.yaml:3)")
	b := finding("wildcard", Medium, "bob", "Role bob/y (bob.yaml:9)", "RoleBinding bob/x -> Role y (other/bob.yaml:40)")
	if Identity(a) != Identity(b) || Fingerprint(a) != Fingerprint(b) {
		t.Errorf("moving objects in the files changed the identity:\n%s\n%s", Identity(a), Identity(b))
	}
	for _, c := range []Finding{
		finding("acts-as", Medium, "bob", "RoleBinding bob/x -> Role y (bob.yaml:23)", "Role bob/y"),
		finding("wildcard", Medium, "alice", "RoleBinding bob/x -> Role y", "Role bob/y"),
		finding("wildcard", Medium, "bob", "RoleBinding bob/x -> Role z", "Role bob/y"),
	} {
		if Identity(c) == Identity(a) || Fingerprint(c) == Fingerprint(a) {
			t.Errorf("%s and %s share an identity", Identity(c), Identity(a))
		}
	}
}

func TestCompareBaselineNewUnchangedResolved(t *testing.T) {
	kept := finding("no-quota", Medium, "alice", "Namespace alice (alice.yaml:3)")
	gone := finding("legacy-token", Medium, "alice", "Secret alice/t (alice.yaml:38)")
	added := finding("cluster-binding", Critical, "bob", "ClusterRoleBinding x (bob.yaml:50)")
	base := &Report{APIVersion: APIVersion, Kind: ReportKind, Findings: []Finding{kept, gone}}
	moved := kept
	moved.Objects = []string{"Namespace alice (alice.yaml:7)"} // lines added above it
	r := &Report{Findings: []Finding{added, moved}, Tenants: []TenantSummary{{Name: "alice"}, {Name: "bob"}}}
	r.Summary.Critical, r.Summary.Medium = 1, 1
	CompareBaseline(r, base, "base.json")
	if len(r.Findings) != 1 || r.Findings[0].Rule != "cluster-binding" {
		t.Errorf("findings = %v, want only the new cluster-binding", r.Findings)
	}
	if c := r.Baseline; c == nil || len(c.Unchanged) != 1 || c.Unchanged[0].Rule != "no-quota" || len(c.Resolved) != 1 || c.Resolved[0].Rule != "legacy-token" || c.Source != "base.json" {
		t.Errorf("baseline = %+v", r.Baseline)
	}
	if r.Count(Low) != 1 || r.Summary.Critical != 1 || r.Summary.Medium != 0 {
		t.Errorf("summary = %+v, want the new finding only", r.Summary)
	}
	if r.Tenants[0].Findings != 0 || r.Tenants[0].Worst != nil || r.Tenants[1].Findings != 1 || *r.Tenants[1].Worst != Critical {
		t.Errorf("tenants = %+v", r.Tenants)
	}

	// This report is the next run's baseline: its unchanged findings count.
	next := &Report{Findings: []Finding{added, kept}}
	CompareBaseline(next, r, "r.json")
	if len(next.Findings) != 0 || len(next.Baseline.Unchanged) != 2 || len(next.Baseline.Resolved) != 0 {
		t.Errorf("chained baseline: findings %v, baseline %+v", next.Findings, next.Baseline)
	}
}

// A finding an earlier report listed on its own, now folded under its
// cause, is not resolved, and the cause that carries it is not new.
func TestCompareBaselineFoldedConsequence(t *testing.T) {
	reached := finding("csr-approve", Critical, "alice", "RoleBinding alice/dev (a.yaml:3)", "ClusterRoleBinding ci-csr (c.yaml:9)")
	reached.Subject = "User dev"
	other := finding("legacy-token", Medium, "alice", "Secret alice/t (alice.yaml:38)")
	base := &Report{APIVersion: APIVersion, Kind: ReportKind, Findings: []Finding{reached, other}}
	cause := finding("acts-as", Critical, "alice", "RoleBinding alice/dev (a.yaml:3)")
	cause.Subject = "User dev"
	cause.Consequences = []Consequence{{Rule: "csr-approve", Severity: Critical, Namespace: reached.Namespace,
		Objects: []string{"RoleBinding alice/dev (a.yaml:4)", "ClusterRoleBinding ci-csr (c.yaml:9)"}}}
	r := &Report{Findings: []Finding{cause}, Tenants: []TenantSummary{{Name: "alice"}}}
	CompareBaseline(r, base, "base.json")
	if len(r.Findings) != 0 || len(r.Baseline.Unchanged) != 1 {
		t.Errorf("the cause of a finding the baseline had is new: findings %v, unchanged %v", r.Findings, r.Baseline.Unchanged)
	}
	if len(r.Baseline.Resolved) != 1 || r.Baseline.Resolved[0].Rule != "legacy-token" {
		t.Errorf("resolved = %v, want only legacy-token (csr-approve is folded, not gone)", r.Baseline.Resolved)
	}
}

func TestReadReport(t *testing.T) {
	dir := t.TempDir()
	r, _ := procedureReport(t)
	good := filepath.Join(dir, "good.json")
	data, _ := json.Marshal(r)
	os.WriteFile(good, data, 0o644)
	back, err := ReadReport(good)
	if err != nil || len(back.Findings) != len(r.Findings) || Identity(back.Findings[0]) != Identity(r.Findings[0]) {
		t.Fatalf("round trip: %v", err)
	}
	other := filepath.Join(dir, "sarif.json")
	os.WriteFile(other, []byte(`{"version": "2.1.0", "runs": []}`), 0o644)
	if _, err := ReadReport(other); err == nil || !strings.Contains(err.Error(), "not a bulkhead audit -o json report") {
		t.Errorf("a SARIF file as baseline: %v", err)
	}
	if _, err := ReadReport(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing baseline is not an error")
	}
}

const ignoreFile = `apiVersion: bulkhead.dev/v1alpha1
kind: AuditSuppressions
suppressions:
- rule: legacy-token
  object: Secret bob/bob-user-token (bob.yaml:37)
  reason: rotated by hand (SEC-1)
  expires: 2027-01-31
- rule: wildcard
  object: RoleBinding bob/bob-user-full-access
  subject: ServiceAccount bob/bob-user
  namespace: bob
  reason: migrating
  expires: 2026-11-30
- rule: acts-as
  object: RoleBinding nobody/x
  reason: typo
  expires: 2027-01-01
`

func TestSuppress(t *testing.T) {
	list, err := ParseSuppressions("ignore.yaml", []byte(ignoreFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Object != "Secret bob/bob-user-token" || list[1].At != "ignore.yaml:8" {
		t.Fatalf("parsed %+v", list)
	}
	r, _ := procedureReport(t)
	before := len(r.Findings)
	// 2026-12-02: the first and third entries hold, the second expired.
	unused := Suppress(r, list, time.Date(2026, 12, 2, 23, 0, 0, 0, time.UTC))
	if len(r.Suppressed) != 1 || r.Suppressed[0].Finding.Rule != "legacy-token" || r.Suppressed[0].Finding.Tenant != "bob" || r.Suppressed[0].By.Reason != "rotated by hand (SEC-1)" {
		t.Errorf("suppressed = %+v", r.Suppressed)
	}
	var expired, wildcard int
	for _, f := range r.Findings {
		switch {
		case f.Rule == ExpiredSuppression:
			expired++
			if f.Severity != Medium || !strings.Contains(f.Message, "ignore.yaml:8") || !strings.Contains(f.Objects[0], "(ignore.yaml:8)") {
				t.Errorf("expired finding %+v", f)
			}
		case f.Rule == "legacy-token" && f.Tenant == "bob":
			t.Error("the suppressed finding is still reported")
		case f.Rule == "wildcard":
			wildcard++
		}
	}
	if expired != 1 || wildcard != 1 {
		t.Errorf("%d expired-suppression and %d wildcard findings, want 1 and 1 (an expired entry suppresses nothing)", expired, wildcard)
	}
	if len(r.Findings) != before {
		t.Errorf("%d findings, want %d (one suppressed, one expired entry added)", len(r.Findings), before)
	}
	if len(unused) != 1 || unused[0].Object != "RoleBinding nobody/x" {
		t.Errorf("unused = %+v", unused)
	}
	// The last valid day still suppresses.
	r2, _ := procedureReport(t)
	Suppress(r2, list[1:2], time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC))
	if len(r2.Suppressed) != 1 || r2.Suppressed[0].Finding.Rule != "wildcard" {
		t.Errorf("on its expiry day the entry should still suppress: %+v", r2.Suppressed)
	}
}

func TestParseSuppressionsErrors(t *testing.T) {
	for _, c := range []struct{ name, file, want string }{
		{"unknown field", "suppressions:\n- rule: acts-as\n  objct: Role a/b\n  reason: r\n  expires: 2027-01-01\n",
			`x.yaml:3: suppressions[0].objct: unknown field "objct"`},
		{"missing object", "suppressions:\n- rule: acts-as\n  reason: r\n  expires: 2027-01-01\n",
			"x.yaml:2: suppressions[0].object: Required value"},
		{"missing expiry", "suppressions:\n- rule: acts-as\n  object: Role a/b\n  reason: r\n",
			"x.yaml:2: suppressions[0].expires: Required value"},
		{"bad date", "suppressions:\n- rule: acts-as\n  object: Role a/b\n  reason: r\n  expires: 31/12/2027\n",
			`x.yaml:5: suppressions[0].expires: Invalid value: "31/12/2027"`},
		{"wrong kind", "kind: AuditReport\nsuppressions: []\n", `x.yaml:1: kind: Unsupported value: "AuditReport"`},
		{"top-level typo", "supressions: []\n", `x.yaml:1: supressions: unknown field`},
		{"not yaml", "suppressions: [\n", "x.yaml: not valid YAML"},
		{"not a list", "suppressions: acts-as\n", "x.yaml:1: suppressions: Invalid value: want a list"},
	} {
		_, err := ParseSuppressions("x.yaml", []byte(c.file))
		var se *spec.Errors
		if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want *spec.Errors containing %q", c.name, err, c.want)
		}
	}
	if list, err := ParseSuppressions("x.yaml", []byte("suppressions: []\n")); err != nil || len(list) != 0 {
		t.Errorf("an empty list: %v %v", list, err)
	}
}
