package audit

import (
	"bytes"
	"encoding/json"
	"slices"
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
	if !hasConsequence(f, "cross-tenant-access", "creates pods in team-a that run as ServiceAccount team-a/a-user") {
		t.Errorf("team-a finding does not carry its consequence: %+v", f.Consequences)
	}
	// team-c: pods-for-b (with acting as c-user folded under it) and peek.
	if len(inC) != 2 {
		t.Fatalf("team-c: %d cross-tenant findings for b-user, want 2 (two causes):\n%s", len(inC), listFindings(r))
	}
	for _, f := range inC {
		switch {
		case strings.Contains(f.Objects[0], "RoleBinding team-c/pods-for-b"):
			if !hasConsequence(f, "cross-tenant-access", "run as ServiceAccount team-c/c-user") {
				t.Errorf("pods-for-b finding lacks its consequence: %+v", f.Consequences)
			}
		case strings.Contains(f.Objects[0], "RoleBinding team-c/peek"):
			if len(f.Consequences) > 0 {
				t.Errorf("peek finding took another cause's consequence: %+v", f.Consequences)
			}
		default:
			t.Errorf("unexpected team-c finding: %s", f.Message)
		}
	}
}

// Acting as an identity: the acts-as finding names what the identity can
// do that the subject cannot, carries what the hop reaches, takes its
// worst severity, and its fix removes the hop; a hop that gains only what
// the path goes on to reach gets an acts-as finding once it causes two.
func TestActsAsRootCause(t *testing.T) {
	r := rtAudit(t, "acts-as-gains", TenantOptions{})
	top := func(rule, subject string) []Finding {
		var out []Finding
		for _, f := range r.Findings {
			if f.Rule == rule && f.Subject == subject {
				out = append(out, f)
			}
		}
		return out
	}
	var release, ops *Finding
	for _, f := range top("acts-as", "User dev") {
		switch {
		case strings.Contains(f.Message, "ServiceAccount team-x/release-bot"):
			release = &f
		case strings.Contains(f.Message, "ServiceAccount team-x/ops-bot"):
			ops = &f
		}
	}
	if release == nil || ops == nil {
		t.Fatalf("want acts-as findings of dev for release-bot and ops-bot:\n%s", listFindings(r))
	}

	// release-bot: namespaced gains, named from the engine.
	if !strings.Contains(release.Message, "gains in team-x: create rolebindings; get secrets") {
		t.Errorf("release-bot finding does not name the rights gained: %s", release.Message)
	}
	if release.Severity != High || !hasConsequence(*release, "rolebinding-write", "acting as ServiceAccount team-x/release-bot") {
		t.Errorf("release-bot finding: severity %s, consequences %+v; want high with rolebinding-write inside", release.Severity, release.Consequences)
	}
	for _, want := range []string{"Remove pod and pod controller creation in team-x from Role team-x/deployer",
		"move ServiceAccount team-x/release-bot to a namespace of its own"} {
		if !strings.Contains(release.Fix, want) {
			t.Errorf("release-bot fix lacks %q: %s", want, release.Fix)
		}
	}

	// ops-bot: cluster powers only; one finding made for the hop.
	if ops.Severity != Critical || len(ops.Consequences) != 2 ||
		!hasConsequence(*ops, "csr-approve", "team-x/ops-bot") || !hasConsequence(*ops, "nodes-proxy", "team-x/ops-bot") {
		t.Errorf("ops-bot finding: severity %s, consequences %+v; want critical with csr-approve and nodes-proxy", ops.Severity, ops.Consequences)
	}
	if !strings.Contains(ops.Message, "gains create certificatesigningrequests cluster-wide") {
		t.Errorf("ops-bot finding does not name the cluster rights gained: %s", ops.Message)
	}
	for _, c := range ops.Consequences {
		if len(c.Path) != 1 || !strings.Contains(c.Path[0], "RoleBinding team-x/dev") {
			t.Errorf("consequence %s: path %q, want the one hop through RoleBinding team-x/dev", c.Rule, c.Path)
		}
	}

	// Not told twice: no top-level finding of dev reached through either.
	for _, f := range r.Findings {
		if f.Subject == "User dev" && f.Rule != "acts-as" {
			t.Errorf("consequence left at the top: %s", describeFinding(f))
		}
	}
	// The holders keep their own findings, with their own fix.
	for _, rule := range []string{"csr-approve", "nodes-proxy"} {
		if len(top(rule, "ServiceAccount team-x/ops-bot")) != 1 {
			t.Errorf("ops-bot's own %s finding is missing", rule)
		}
	}
	if len(top("rolebinding-write", "ServiceAccount team-x/release-bot")) != 1 {
		t.Error("release-bot's own rolebinding-write finding is missing")
	}

	// Near misses: no gain, no acts-as; a lone consequence stays as it is.
	if f := top("acts-as", "User peer"); len(f) > 0 {
		t.Errorf("peer gains nothing as plain: %s", describeFinding(f[0]))
	}
	if len(top("acts-as", "User solo")) != 0 || len(top("nodes-proxy", "User solo")) != 1 {
		t.Errorf("solo: want its one nodes-proxy finding, no acts-as:\n%s", listFindings(r))
	}

	// The summary counts causes.
	critical := 0
	for _, f := range r.Findings {
		if f.Severity == Critical {
			critical++
		}
	}
	if r.Summary.Critical != critical {
		t.Errorf("summary: %d critical, want %d (the top-level findings)", r.Summary.Critical, critical)
	}
}

// Every output prints a subject as can and who-can read it.
func TestPasteableSubjectsInJSON(t *testing.T) {
	r := rtAudit(t, "acts-as-gains", TenantOptions{})
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Findings []Finding `json:"findings"`
	}
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range back.Findings {
		if f.Subject != "" && !slices.Equal(f.Pasteable, PasteableSubjects(f.Subject)) {
			t.Errorf("%s of %s: pasteable %q, want %q", f.Rule, f.Subject, f.Pasteable, PasteableSubjects(f.Subject))
		}
		for _, p := range f.Pasteable {
			seen[p] = true
		}
		if f.Rule == "acts-as" && f.Subject == "User dev" && (len(f.Consequences) == 0 || len(f.Consequences[0].Path) == 0) {
			t.Errorf("the JSON lacks the consequences and their path: %+v", f)
		}
	}
	for _, want := range []string{"user:dev", "system:serviceaccount:team-x:ops-bot"} {
		if !seen[want] {
			t.Errorf("no finding has pasteable subject %s", want)
		}
	}
}

// The table and SARIF tell the consequences inside their cause, and the
// table's subject line is the pasteable one.
func TestConsequencesInTableAndSARIF(t *testing.T) {
	r := rtAudit(t, "acts-as-gains", TenantOptions{})
	var table, sarif bytes.Buffer
	if err := WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteSARIF(&sarif, r, SARIFOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"  subject: user:dev\n", "  consequence: CRITICAL csr-approve (pattern 14): User dev, which creates pods in team-x"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, table.String())
		}
	}
	if !strings.Contains(sarif.String(), "Consequences: critical csr-approve: User dev") || !strings.Contains(sarif.String(), `"user:dev"`) {
		t.Errorf("the SARIF results lack the consequences or the pasteable subject")
	}
}

func hasConsequence(f Finding, rule, message string) bool {
	return slices.ContainsFunc(f.Consequences, func(c Consequence) bool {
		return c.Rule == rule && strings.Contains(c.Message, message)
	})
}
