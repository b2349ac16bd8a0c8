package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// auditReport is the part of `bulkhead audit -o json` the tests read.
type auditReport struct {
	Summary struct {
		Critical, High, Medium, Low int
		Tenants                     int
	}
	Findings []struct {
		Rule, Severity, Tenant, Subject, Namespace, Message, Fix string
		Objects                                                  []string
	}
	Access []struct {
		Tenant, Namespace, Level string
		Cross                    bool
	}
	Live *struct {
		Checks, Agreements, Wider int
		Disagreements             []string
	}
}

func auditJSON(t *testing.T, code int, args ...string) auditReport {
	t.Helper()
	r := must(t, bulkhead(t, "", append([]string{"audit", "-o", "json"}, args...)...), code)
	var rep auditReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("audit -o json: %v\n%s", err, r)
	}
	return rep
}

// TestAuditProvisionedClusterIsClean is the acceptance: tenants
// provisioned by bulkhead apply have no high or critical finding, and the
// engine's answers agree with the API server's SubjectAccessReviews.
func TestAuditProvisionedClusterIsClean(t *testing.T) {
	spec := writeSpec(t, `apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata:
  name: a-vision
spec:
  members:
  - {name: a-lead, kind: User, role: admin}
  - {name: a-team, kind: Group, role: edit}
  - {name: a-pipeline}
  - {name: a-intern, role: view}
`+tenantsYAML("a-bob", "a-alice"))
	must(t, bulkhead(t, "", "apply", "-f", spec), 0)
	tenants := "--tenants=a-vision,a-bob,a-alice"

	rep := auditJSON(t, 0, tenants, "--live", "300")
	if rep.Summary.Tenants != 3 {
		t.Errorf("audit saw %d tenants, want 3", rep.Summary.Tenants)
	}
	for _, f := range rep.Findings {
		t.Logf("%s %s %s: %s", f.Severity, f.Rule, f.Tenant, f.Message)
		if f.Severity == "high" || f.Severity == "critical" {
			t.Errorf("bulkhead-provisioned tenants must have no high or critical finding, got %s %s: %s", f.Severity, f.Rule, f.Message)
		}
	}
	for _, c := range rep.Access {
		if c.Cross {
			t.Errorf("cross-tenant cell %+v", c)
		}
	}
	if rep.Live == nil || rep.Live.Checks != 300 || len(rep.Live.Disagreements) > 0 || rep.Live.Agreements+rep.Live.Wider != 300 {
		t.Fatalf("live check: %+v", rep.Live)
	}
	t.Logf("live: %d SubjectAccessReviews, %d agree, %d allowed beyond RBAC objects", rep.Live.Checks, rep.Live.Agreements, rep.Live.Wider)

	// The HTML report of this cluster, as a browser shows it: Chromium
	// runs the page's script and prints the resulting DOM.
	page := filepath.Join(t.TempDir(), "audit.html")
	html := must(t, bulkhead(t, "", "audit", "-o", "html", tenants), 0)
	if err := os.WriteFile(page, []byte(html.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	dom := must(t, command(t, "", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+t.TempDir(),
		"--dump-dom", "file://"+page), 0).stdout
	for _, want := range []string{`id="heatmap"`, `data-tenant="a-vision"`, `data-tenant="a-bob"`, `id="subjects"`, "User a-lead"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %s", want)
		}
	}
	if strings.Contains(dom, "cross") && strings.Contains(dom, `data-cross="true"`) {
		t.Errorf("the page shows a cross-tenant cell on a clean cluster")
	}

	// A RoleBinding that lets bob's ServiceAccount into alice's namespace is
	// cross-tenant access, critical, and fails the audit.
	must(t, kubectl(t, "create", "rolebinding", "leak", "-n", "a-alice", "--clusterrole=view", "--serviceaccount=a-bob:a-bob"), 0)
	defer kubectl(t, "delete", "rolebinding", "leak", "-n", "a-alice")
	rep = auditJSON(t, 1, tenants)
	found := false
	for _, f := range rep.Findings {
		if f.Rule == "cross-tenant-access" && f.Severity == "critical" && f.Tenant == "a-bob" && f.Namespace == "a-alice" {
			found = true
		}
	}
	if !found || rep.Summary.Critical == 0 {
		t.Fatalf("no critical cross-tenant finding for the leak: %+v", rep.Findings)
	}
}

// TestAuditFindsTheProcedureSlip applies docs/procedure.md's hand-made objects,
// slip included, with real kubectl and audits the cluster: the broken
// RoleBinding, the misplaced Role and the quota-tampering right are named,
// and who-can agrees with kubectl auth can-i.
func TestAuditFindsTheProcedureSlip(t *testing.T) {
	var docs []string
	for _, f := range []string{"bob.yaml", "alice.yaml"} {
		data, err := os.ReadFile(filepath.Join(e2e.root, "internal/audit/testdata/procedure", f))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(data))
	}
	// Distinct names: the e2e tests share one cluster.
	manifests := strings.NewReplacer("bob", "p-bob", "alice", "p-alice").Replace(strings.Join(docs, "\n---\n"))
	path := filepath.Join(t.TempDir(), "procedure.yaml")
	if err := os.WriteFile(path, []byte(manifests), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, kubectl(t, "apply", "-f", path), 0)
	// What docs/procedure.md saw: alice is locked out, bob may delete his quota.
	r := kubectl(t, "auth", "can-i", "list", "pods", "-n", "p-alice", "--as", "system:serviceaccount:p-alice:p-alice-user")
	if !strings.HasPrefix(r.stdout, "no") {
		t.Fatalf("alice should be locked out of her namespace: %s", r)
	}
	must(t, kubectl(t, "auth", "can-i", "delete", "resourcequotas", "-n", "p-bob", "--as", "system:serviceaccount:p-bob:p-bob-user"), 0)

	rep := auditJSON(t, 1, "--tenants=p-bob,p-alice")
	want := map[string]bool{"dangling-role-ref": false, "misplaced-role": false, "guardrail-write": false}
	for _, f := range rep.Findings {
		t.Logf("%s %s %s: %s\n  fix: %s", f.Severity, f.Rule, f.Tenant, f.Message, f.Fix)
		switch {
		case f.Rule == "dangling-role-ref" && f.Namespace == "p-alice" && strings.Contains(f.Fix, "Move Role p-alice-user-full-access from namespace p-bob to p-alice"):
			want[f.Rule] = true
		case f.Rule == "misplaced-role" && f.Namespace == "p-bob" && strings.Contains(f.Objects[0], "Role p-bob/p-alice-user-full-access"):
			want[f.Rule] = true
		case f.Rule == "guardrail-write" && f.Subject == "ServiceAccount p-bob/p-bob-user" && f.Fix != "":
			want[f.Rule] = true
		}
	}
	for rule, ok := range want {
		if !ok {
			t.Errorf("no %s finding", rule)
		}
	}

	// who-can names bob's ServiceAccount for deleting the quota, and only
	// subjects kubectl auth can-i agrees with.
	r = must(t, bulkhead(t, "", "who-can", "delete", "resourcequotas", "-n", "p-bob", "-o", "json"), 0)
	var who struct {
		Holders []struct{ Kind, Namespace, Name string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &who); err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, h := range who.Holders {
		as := h.Name
		switch h.Kind {
		case "ServiceAccount":
			as = "system:serviceaccount:" + h.Namespace + ":" + h.Name
			seen = seen || as == "system:serviceaccount:p-bob:p-bob-user"
		case "Group":
			continue // kubectl needs a user to impersonate a group with
		}
		must(t, kubectl(t, "auth", "can-i", "delete", "resourcequotas", "-n", "p-bob", "--as", as), 0)
	}
	if !seen {
		t.Errorf("who-can delete resourcequotas -n p-bob misses p-bob-user: %s", r.stdout)
	}
	// can shows the same right in bob's matrix.
	r = must(t, bulkhead(t, "", "can", "system:serviceaccount:p-bob:p-bob-user", "-n", "p-bob"), 0)
	if !strings.Contains(r.stdout, "resourcequotas") {
		t.Errorf("can: resourcequotas missing from the matrix:\n%s", r.stdout)
	}
}
