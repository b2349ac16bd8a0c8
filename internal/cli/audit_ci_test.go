package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyProcedure copies the procedure's manifests to a directory the test
// may edit, and returns it.
func copyProcedure(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"alice.yaml", "bob.yaml"} {
		data, err := os.ReadFile(filepath.Join("../audit/testdata/procedure", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

type ciReport struct {
	Findings []struct {
		Rule    string   `json:"rule"`
		Tenant  string   `json:"tenant"`
		Objects []string `json:"objects"`
	} `json:"findings"`
	Baseline *struct {
		Unchanged []json.RawMessage `json:"unchanged"`
		Resolved  []struct {
			Rule    string   `json:"rule"`
			Objects []string `json:"objects"`
		} `json:"resolved"`
	} `json:"baseline"`
	Suppressed []struct {
		Finding struct {
			Rule    string   `json:"rule"`
			Objects []string `json:"objects"`
		} `json:"finding"`
		By struct {
			Reason string `json:"reason"`
		} `json:"by"`
	} `json:"suppressed"`
}

// TestAuditBaselineEndToEnd: one finding resolved (alice's token Secret
// deleted), one new (a token Secret for a new ServiceAccount), every other
// object moved down a few lines. Only the new one is reported and fails
// the run; the resolved one is listed.
func TestAuditBaselineEndToEnd(t *testing.T) {
	dir := copyProcedure(t)
	base := filepath.Join(t.TempDir(), "base.json")
	out, errOut, code := run(t, "", "audit", "-f", dir, "-o", "json")
	if code != ExitFailed {
		t.Fatalf("baseline run: exit %d: %s", code, errOut)
	}
	writeFile(t, base, out)

	alice, _ := os.ReadFile(filepath.Join(dir, "alice.yaml"))
	edited, _, found := strings.Cut(string(alice), "---\napiVersion: v1\nkind: Secret")
	if !found {
		t.Fatal("alice.yaml has no Secret to delete")
	}
	writeFile(t, filepath.Join(dir, "alice.yaml"), "# moved\n# down\n"+edited)
	writeFile(t, filepath.Join(dir, "ci.yaml"), `apiVersion: v1
kind: ServiceAccount
metadata:
  name: ci
  namespace: alice
---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: ci-token
  namespace: alice
  annotations:
    kubernetes.io/service-account.name: ci
`)

	// The new finding is medium: failing on high passes, although the
	// baseline's high findings are all still there.
	out, errOut, code = run(t, "", "audit", "-f", dir, "--baseline", base)
	if code != ExitOK {
		t.Errorf("--baseline --fail-on high: exit %d, want 0 (no new high finding); stderr:\n%s", code, errOut)
	}
	for _, want := range []string{"MEDIUM   legacy-token (pattern 18)  tenant alice\n  object: Secret alice/ci-token", "Resolved since baseline:\n  MEDIUM   legacy-token  tenant alice  Secret alice/alice-user-token\n", "1 new, 14 unchanged (not shown), 1 resolved"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "dangling-role-ref") {
		t.Errorf("an unchanged finding is reported:\n%s", out)
	}
	_, errOut, code = run(t, "", "audit", "-f", dir, "--baseline", base, "--fail-on", "medium")
	if code != ExitFailed || !strings.Contains(errOut, "1 finding new since the baseline at medium severity or above") {
		t.Errorf("--fail-on medium: exit %d, stderr:\n%s", code, errOut)
	}

	out, _, _ = run(t, "", "audit", "-f", dir, "--baseline", base, "-o", "json")
	var r ciReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 1 || r.Findings[0].Rule != "legacy-token" || r.Baseline == nil || len(r.Baseline.Unchanged) != 14 ||
		len(r.Baseline.Resolved) != 1 || !strings.HasPrefix(r.Baseline.Resolved[0].Objects[0], "Secret alice/alice-user-token") {
		t.Errorf("json with --baseline: %s", out)
	}

	out, _, _ = run(t, "", "audit", "-f", dir, "--baseline", base, "-o", "sarif")
	states := map[string]int{}
	var log struct {
		Runs []struct {
			Results []struct {
				BaselineState string `json:"baselineState"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	for _, res := range log.Runs[0].Results {
		states[res.BaselineState]++
	}
	if states["new"] != 1 || states["unchanged"] != 14 || states["absent"] != 1 || len(states) != 3 {
		t.Errorf("sarif baselineStates = %v", states)
	}

	writeFile(t, base, `{"apiVersion": "v1", "kind": "List"}`)
	if _, errOut, code := run(t, "", "audit", "-f", dir, "--baseline", base); code != ExitInvalid || !strings.Contains(errOut, "is not a bulkhead audit -o json report") {
		t.Errorf("a wrong baseline: exit %d, stderr:\n%s", code, errOut)
	}
}

// TestAuditIgnoreFileEndToEnd: one entry suppresses bob's token finding,
// an expired one no longer suppresses alice's and is reported itself.
func TestAuditIgnoreFileEndToEnd(t *testing.T) {
	dir := copyProcedure(t)
	ignore := filepath.Join(t.TempDir(), "ignore.yaml")
	writeFile(t, ignore, `suppressions:
- rule: legacy-token
  object: Secret bob/bob-user-token
  reason: rotated by hand every week (SEC-7)
  expires: 2999-12-31
- rule: legacy-token
  object: Secret alice/alice-user-token
  reason: until the migration
  expires: 2020-01-01
`)
	// The procedure's one critical finding (node-escape: bob's namespace
	// admits privileged pods) is not suppressed, so failing on critical fails.
	out, errOut, code := run(t, "", "audit", "-f", dir, "--ignore-file", ignore, "--fail-on", "critical")
	if code != ExitFailed || !strings.Contains(out, "CRITICAL node-escape") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, want := range []string{
		"MEDIUM   expired-suppression",
		"object: Suppression legacy-token Secret alice/alice-user-token (" + ignore + ":6)",
		"object: Secret alice/alice-user-token",
		"Suppressed by the ignore file: 1\n  legacy-token on Secret bob/bob-user-token until 2999-12-31 (" + ignore + ":2): rotated by hand every week (SEC-7)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "object: Secret bob/bob-user-token") {
		t.Errorf("the suppressed finding is reported:\n%s", out)
	}
	if _, errOut, code := run(t, "", "audit", "-f", dir, "--ignore-file", ignore, "--fail-on", "medium"); code != ExitFailed ||
		!strings.Contains(errOut, "15 findings at medium severity or above") {
		t.Errorf("--fail-on medium: exit %d, stderr:\n%s", code, errOut)
	}

	out, _, _ = run(t, "", "audit", "-f", dir, "--ignore-file", ignore, "-o", "json")
	var r ciReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Suppressed) != 1 || r.Suppressed[0].Finding.Rule != "legacy-token" || r.Suppressed[0].By.Reason != "rotated by hand every week (SEC-7)" {
		t.Errorf("suppressed: %+v", r.Suppressed)
	}
	out, _, _ = run(t, "", "audit", "-f", dir, "--ignore-file", ignore, "-o", "sarif")
	if !strings.Contains(out, `"justification": "rotated by hand every week (SEC-7) (expires 2999-12-31)"`) || !strings.Contains(out, `"ruleId": "expired-suppression"`) {
		t.Errorf("sarif lacks the suppression or the expired entry:\n%s", out)
	}

	// A malformed file is exit 2, with file, line and field, before any audit.
	writeFile(t, ignore, "suppressions:\n- rule: acts-as\n  object: RoleBinding a/b\n  reason: r\n  expires: next week\n")
	if _, errOut, code := run(t, "", "audit", "--ignore-file", ignore); code != ExitInvalid ||
		!strings.Contains(errOut, ignore+`:5: suppressions[0].expires: Invalid value: "next week": want a date as YYYY-MM-DD`) {
		t.Errorf("malformed ignore file: exit %d, stderr:\n%s", code, errOut)
	}
	writeFile(t, ignore, "suppressions:\n- rule: acts-as\n  object: RoleBinding a/b\n  reasons: r\n  expires: 2027-01-01\n")
	if _, errOut, code := run(t, "", "audit", "-f", dir, "--ignore-file", ignore); code != ExitInvalid ||
		!strings.Contains(errOut, ignore+`:4: suppressions[0].reasons: unknown field "reasons"`) || !strings.Contains(errOut, ignore+":2: suppressions[0].reason: Required value") {
		t.Errorf("unknown field: exit %d, stderr:\n%s", code, errOut)
	}
}

func TestAuditSARIFExitCodes(t *testing.T) {
	dir := copyProcedure(t)
	out, _, code := run(t, "", "audit", "-f", dir, "-o", "sarif")
	if code != ExitFailed || !strings.Contains(out, `"version": "2.1.0"`) || !strings.Contains(out, `"uri": "file://`+filepath.ToSlash(dir)+`/bob.yaml"`) {
		t.Errorf("-o sarif: exit %d\n%s", code, out)
	}
	// Its one critical finding suppressed, failing on critical passes.
	ignore := filepath.Join(t.TempDir(), "ignore.yaml")
	writeFile(t, ignore, "suppressions:\n- rule: node-escape\n  object: RoleBinding bob/bob-user-full-access\n  reason: test\n  expires: 2999-12-31\n")
	if _, errOut, code := run(t, "", "audit", "-f", dir, "-o", "sarif", "--fail-on", "critical", "--ignore-file", ignore); code != ExitOK {
		t.Errorf("-o sarif --fail-on critical, the critical finding suppressed: exit %d, want 0: %s", code, errOut)
	}
	if _, _, code := run(t, "", "audit", "-f", dir, "-o", "sarif", "--fail-on", "critical"); code != ExitFailed {
		t.Errorf("-o sarif --fail-on critical: exit %d, want 1 (node-escape)", code)
	}
}

// TestAuditCIDocExample runs the example of docs/audit-ci.md: its ignore
// file and its before/after manifests give the output the page shows.
func TestAuditCIDocExample(t *testing.T) {
	const td = "../audit/testdata"
	base := filepath.Join(t.TempDir(), "audit-baseline.json")
	out, _, _ := run(t, "", "audit", "-f", td+"/procedure", "-f", td+"/sarif/before", "-o", "json")
	writeFile(t, base, out)
	out, errOut, code := run(t, "", "audit", "-f", td+"/procedure", "-f", td+"/sarif/after", "--baseline", base, "--ignore-file", td+"/sarif/ignore.yaml")
	if code != ExitOK {
		t.Errorf("exit %d: %s", code, errOut)
	}
	doc, err := os.ReadFile("../../docs/audit-ci.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"2 new, 14 unchanged (not shown), 1 resolved.\n",
		"Resolved since baseline:\n  MEDIUM   legacy-token  tenant bob  Secret bob/deploy-token\n",
		"MEDIUM   expired-suppression\n  object: Suppression no-quota Namespace alice (../audit/testdata/sarif/ignore.yaml:9)",
		"Suppressed by the ignore file: 1\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
		if !strings.Contains(string(doc), strings.ReplaceAll(want, "../audit/testdata", "internal/audit/testdata")) {
			t.Errorf("docs/audit-ci.md lacks %q", want)
		}
	}
}
