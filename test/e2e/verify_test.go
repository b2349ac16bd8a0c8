package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const teamSpec = `apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata:
  name: v-team
spec:
  members:
  - name: pipeline
  - name: carol@example.com
    kind: User
  - name: oidc:v-team-readers
    kind: Group
    role: view
`

func writeSpec(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyGreenThenBroken(t *testing.T) {
	spec := writeSpec(t, tenantsYAML("v-bob", "v-alice")+"---\n"+teamSpec)
	must(t, bulkhead(t, "", "apply", "-f", spec), 0)

	r := must(t, bulkhead(t, "", "verify", "-f", spec), 0)
	if !strings.Contains(r.stdout, "checks passed") || strings.Contains(r.stdout, "FAIL") {
		t.Errorf("verify of a correct spec:\n%s", r)
	}
	for _, want := range []string{"NS v-bob", "ServiceAccount/v-bob-user", "User/carol@example.com", "Group/oidc:v-team-readers", "forbidden 3/3"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("matrix lacks %q:\n%s", want, r.stdout)
		}
	}

	r = must(t, bulkhead(t, "", "verify", "-f", spec, "-o", "json"), 0)
	var report struct {
		Checks []struct {
			Member, Scope, Namespace, Action, Expect, Got string
			OK                                            bool
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatal(err)
	}
	// Edit members: own 3, others 2×3, cluster 3, guardrails 6 + 2 pod
	// security + 1 GPU + 1 rolebinding; the view member: 3, 6, 3, 6 + 1.
	if want := 4*22 + 19; len(report.Checks) != want {
		t.Errorf("%d checks, want %d", len(report.Checks), want)
	}
	seen := map[string]bool{}
	for _, c := range report.Checks {
		seen[c.Member+" "+c.Action+" "+c.Got] = true
		if !c.OK {
			t.Errorf("check failed: %+v", c)
		}
	}
	for _, want := range []string{
		"ServiceAccount/v-bob-user create pods allowed",
		"ServiceAccount/v-bob-user delete resourcequotas forbidden",
		"ServiceAccount/v-bob-user create privileged pods rejected",
		"ServiceAccount/v-bob-user create hostPath pods rejected",
		"ServiceAccount/v-bob-user create pods with 1 nvidia.com/gpu rejected",
		"ServiceAccount/v-bob-user patch own namespace labels forbidden",
		"Group/oidc:v-team-readers create pods forbidden",
		"User/carol@example.com create jobs allowed",
	} {
		if !seen[want] {
			t.Errorf("no check %q in the JSON report", want)
		}
	}

	// Break isolation the way a careless chart does: view on everything for bob.
	ctx := t.Context()
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-bob-views-everything"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "v-bob-user", Namespace: "v-bob"}},
	}
	if _, err := e2e.client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer e2e.client.RbacV1().ClusterRoleBindings().Delete(ctx, crb.Name, metav1.DeleteOptions{})

	r = must(t, bulkhead(t, "", "verify", "-f", spec), 1)
	if !strings.Contains(r.stdout, "v-bob ServiceAccount/v-bob-user: list pods in namespace v-alice: expected forbidden, got allowed") {
		t.Errorf("broken isolation not named:\n%s", r)
	}
	if !strings.Contains(r.stdout, "FAIL") {
		t.Errorf("no failing cell in the matrix:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "v-alice ServiceAccount/v-alice-user") {
		t.Errorf("alice's checks failed too, but only bob was widened:\n%s", r.stdout)
	}
}

func TestVerifyDiscoversTenantsOnTheCluster(t *testing.T) {
	must(t, bulkhead(t, tenantsYAML("disc-a"), "apply", "-f", "-"), 0)
	r := bulkhead(t, "", "verify", "-o", "json")
	if !strings.Contains(r.stdout, `"tenant": "disc-a"`) {
		t.Errorf("verify without -f did not find tenant disc-a:\n%s", r)
	}
	must(t, bulkhead(t, "", "verify", "-o", "yaml"), 2)
}

// verify TENANT checks only that tenant's members, and they still probe the
// other tenants' namespaces; a name bulkhead does not manage is refused.
func TestVerifyNamedTenant(t *testing.T) {
	must(t, bulkhead(t, tenantsYAML("named-a", "named-b"), "apply", "-f", "-"), 0)
	r := must(t, bulkhead(t, "", "verify", "named-a", "--others", "0", "-o", "json"), 0)
	var rep struct {
		Checks []struct {
			Tenant, Scope, Namespace string
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify -o json: %v\n%s", err, r.stdout)
	}
	probedB := false
	for _, c := range rep.Checks {
		if c.Tenant != "named-a" {
			t.Errorf("verify named-a checked tenant %q", c.Tenant)
		}
		probedB = probedB || (c.Scope == "other" && c.Namespace == "named-b")
	}
	if len(rep.Checks) == 0 || !probedB {
		t.Errorf("verify named-a: %d checks, probes named-b's namespace: %v\n%s", len(rep.Checks), probedB, r.stdout)
	}
	r = must(t, bulkhead(t, "", "verify", "named-a", "nmaed-b"), 2)
	if !strings.Contains(r.stderr, `tenant "nmaed-b": bulkhead manages no tenant of that name on this cluster; did you mean "named-b"?`) {
		t.Errorf("verify of a mistyped tenant: want its name, why and the likely one, got\n%s", r)
	}
	r = must(t, bulkhead(t, "", "verify", "zzz-nothing-like-it"), 2)
	if !strings.Contains(r.stderr, `tenant "zzz-nothing-like-it": bulkhead manages no tenant of that name on this cluster; tenants: `) {
		t.Errorf("verify of an unknown tenant: want its name, why and the tenants there, got\n%s", r)
	}
	r = must(t, bulkhead(t, tenantsYAML("named-a"), "verify", "named-b", "-f", "-"), 2)
	if !strings.Contains(r.stderr, "the spec files (-f) declare no tenant of that name") {
		t.Errorf("verify -f of a tenant the files do not declare: got\n%s", r)
	}
}
