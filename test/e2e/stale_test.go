package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/verify"
)

// staleSpec is tenant stalelab with ServiceAccount members name:role.
func staleSpec(members ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: stalelab\nspec:\n  members:\n")
	for _, m := range members {
		name, role, _ := strings.Cut(m, ":")
		b.WriteString("  - {name: " + name + ", role: " + role + "}\n")
	}
	return b.String()
}

// leaveBinding makes the RoleBinding an older bulkhead apply left behind
// for ServiceAccount name with role, whatever today's apply did with it.
func leaveBinding(t *testing.T, name string, role v1alpha1.RoleName) string {
	t.Helper()
	binding := v1alpha1.BindingName(v1alpha1.Member{Kind: v1alpha1.ServiceAccountMember, Name: name, Role: role})
	manifest := `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ` + binding + `
  namespace: stalelab
  labels: {app.kubernetes.io/managed-by: bulkhead, bulkhead.dev/tenant: stalelab}
subjects:
- {kind: ServiceAccount, name: ` + name + `, namespace: stalelab}
roleRef: {kind: Role, name: ` + v1alpha1.RoleObjectName(role) + `, apiGroup: rbac.authorization.k8s.io}
`
	path := filepath.Join(t.TempDir(), binding+".yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, kubectl(t, "delete", "rolebinding", binding, "-n", "stalelab", "--ignore-not-found"), 0)
	must(t, kubectl(t, "apply", "-f", path), 0)
	return binding
}

// staleFindings audits tenant stalelab and returns its stale-binding
// findings by subject. Other tests' namespaces share the cluster and may
// fail the audit too, so only a stale finding's exit code is certain.
func staleFindings(t *testing.T) map[string]string {
	t.Helper()
	r := bulkhead(t, "", "audit", "-o", "json", "--tenants=stalelab")
	var rep auditReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("audit -o json: %v\n%s", err, r)
	}
	out := map[string]string{}
	for _, f := range rep.Findings {
		if f.Tenant == "stalelab" && (f.Severity == "high" || f.Severity == "critical") && f.Rule != "stale-binding" {
			t.Errorf("tenant stalelab has a %s %s finding: %s", f.Severity, f.Rule, f.Message)
		}
		if f.Rule != "stale-binding" {
			continue
		}
		if f.Severity != "high" || f.Tenant != "stalelab" || f.Namespace != "stalelab" {
			t.Errorf("stale-binding finding %+v: want high, tenant and namespace stalelab", f)
		}
		out[f.Subject] = strings.Join(f.Objects, ", ") + ": " + f.Message + " fix: " + f.Fix
	}
	if len(out) > 0 && r.code != 1 {
		t.Errorf("audit with a high stale-binding finding (the default --fail-on is high): want exit 1, got %s", r)
	}
	return out
}

// TestStaleBindingAuditAndVerify: a removed member's and a demoted member's
// RoleBindings, left behind by apply, fail audit and verify by name.
func TestStaleBindingAuditAndVerify(t *testing.T) {
	ctx := t.Context()
	must(t, bulkhead(t, staleSpec("ana:edit", "ben:edit"), "apply", "-f", "-"), 0)
	only := writeSpec(t, staleSpec("ana:edit"))
	must(t, bulkhead(t, "", "apply", "-f", only), 0)
	ns, err := e2e.client.CoreV1().Namespaces().Get(ctx, "stalelab", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ns.Annotations[v1alpha1.MembersAnnotation]; got != "ServiceAccount/edit/ana" {
		t.Fatalf("members annotation %q, want ana's line only", got)
	}
	benBinding := leaveBinding(t, "ben", v1alpha1.EditRole)

	// audit: ben's binding is stale, ana's is not; exit 1 at --fail-on high.
	stale := staleFindings(t)
	ben, ok := stale["ServiceAccount stalelab/ben"]
	if !ok {
		t.Fatalf("no stale-binding for ben: %v", stale)
	}
	for _, want := range []string{"RoleBinding stalelab/" + benBinding, "holds edit", "does not list it as a member", "kubectl delete rolebinding " + benBinding + " -n stalelab"} {
		if !strings.Contains(ben, want) {
			t.Errorf("ben's finding lacks %q: %s", want, ben)
		}
	}
	if len(stale) != 1 {
		t.Errorf("stale-binding findings %v, want ben's only", stale)
	}

	// verify -f: ben is refused nothing edit gives; ana's checks hold.
	r := must(t, bulkhead(t, "", "verify", "-f", only), 1)
	t.Logf("verify with ben's binding left behind:\n%s", r.stdout)
	for _, want := range []string{
		"stalelab ServiceAccount/ben: create pods in namespace stalelab: expected forbidden, got allowed",
		"stalelab ServiceAccount/ben: list pods in namespace stalelab: expected forbidden, got allowed",
		"RoleBinding stalelab/" + benBinding + ", labelled as bulkhead's, gives it edit",
		"3 of ", // create pods, list pods, get secrets
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "stalelab ServiceAccount/ana:") {
		t.Errorf("ana's checks failed, but only ben holds a leftover:\n%s", r.stdout)
	}

	// Without -f verify reads the tenant back from the cluster, where ben's
	// binding makes him look like an edit member: he is still checked as a
	// leftover, and no token is asked for him.
	cfg, err := clientcmd.BuildConfigFromFlags("", e2e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	tenants, err := apply.Discover(ctx, e2e.client, "stalelab")
	if err != nil {
		t.Fatal(err)
	}
	report, err := verify.Run(ctx, cfg, tenants, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fails := report.Failures()
	if len(fails) != 3 || slices.ContainsFunc(fails, func(c verify.Check) bool { return c.Member != "ServiceAccount/ben" || c.Role != "none" }) {
		t.Errorf("discovered tenant: failures %+v, want ben's 3 as no member", fails)
	}
	if slices.ContainsFunc(report.Checks, func(c verify.Check) bool { return c.Member == "ServiceAccount/ben" && c.Expect == verify.Allowed }) {
		t.Errorf("ben checked as a member of the discovered tenant")
	}

	// Demoted: ana is view now, and her edit binding was left behind.
	must(t, kubectl(t, "delete", "rolebinding", benBinding, "-n", "stalelab"), 0)
	// carl keeps Role bulkhead-edit rendered, whatever apply prunes.
	view := writeSpec(t, staleSpec("ana:view", "carl:edit"))
	must(t, bulkhead(t, "", "apply", "-f", view), 0)
	anaBinding := leaveBinding(t, "ana", v1alpha1.EditRole)
	stale = staleFindings(t)
	if ana := stale["ServiceAccount stalelab/ana"]; !strings.Contains(ana, "holds edit") || !strings.Contains(ana, "spec says view") {
		t.Errorf("ana's stale-binding does not say she holds edit although the spec says view: %v", stale)
	}
	r = must(t, bulkhead(t, "", "verify", "-f", view), 1)
	t.Logf("verify with ana's edit binding left behind:\n%s", r.stdout)
	for _, want := range []string{
		// As a view member, and as the holder of a leftover edit binding.
		"stalelab ServiceAccount/ana: create pods in namespace stalelab: expected forbidden, got allowed",
		"RoleBinding stalelab/" + anaBinding + ", labelled as bulkhead's, gives it edit, but its role as a member is view",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, r.stdout)
		}
	}

	// Deleting the leftover is the fix.
	must(t, kubectl(t, "delete", "rolebinding", anaBinding, "-n", "stalelab"), 0)
	if stale := staleFindings(t); len(stale) != 0 {
		t.Errorf("stale-binding after the leftovers were deleted: %v", stale)
	}
	must(t, bulkhead(t, "", "verify", "-f", view), 0)
}
