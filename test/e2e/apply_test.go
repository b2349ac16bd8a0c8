package e2e

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestApplyCreatesThenChangesNothing(t *testing.T) {
	spec := tenantsYAML("apply-a", "apply-b")
	first := must(t, bulkhead(t, spec, "apply", "-f", "-"), 0)
	for _, want := range []string{
		"namespace/apply-a created",
		"serviceaccount/apply-a-user in apply-a created",
		"role.rbac.authorization.k8s.io/bulkhead-edit in apply-b created",
		"rolebinding.rbac.authorization.k8s.io/bulkhead-edit-sa-apply-b-user in apply-b created",
	} {
		if !strings.Contains(first.stdout, want) {
			t.Errorf("first apply does not say %q:\n%s", want, first)
		}
	}
	// Per tenant: namespace, SA, role, binding, quota, limit range, network policy.
	if n := linesWith(first.stdout, "apply-a", " created"); n != 7 {
		t.Errorf("first apply created %d objects of apply-a, want 7:\n%s", n, first)
	}

	second := must(t, bulkhead(t, spec, "apply", "-f", "-"), 0)
	if n := linesWith(second.stdout, "apply-", " unchanged"); n != 14 {
		t.Errorf("second apply: %d unchanged, want all 14:\n%s", n, second)
	}
	if strings.Contains(second.stdout, "created") || strings.Contains(second.stdout, "configured") {
		t.Errorf("second apply changed something:\n%s", second)
	}
	if !strings.Contains(second.stderr, "0 created, 0 configured, 16 unchanged") {
		t.Errorf("second apply summary:\n%s", second.stderr)
	}

	// Drift in a field bulkhead owns is put back.
	ctx := t.Context()
	role, err := e2e.client.RbacV1().Roles("apply-a").Get(ctx, "bulkhead-edit", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role.Rules = role.Rules[:1]
	if _, err := e2e.client.RbacV1().Roles("apply-a").Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	third := must(t, bulkhead(t, spec, "apply", "-f", "-"), 0)
	if !strings.Contains(third.stdout, "role.rbac.authorization.k8s.io/bulkhead-edit in apply-a configured") {
		t.Errorf("edited role not restored:\n%s", third)
	}
	if role, _ = e2e.client.RbacV1().Roles("apply-a").Get(ctx, "bulkhead-edit", metav1.GetOptions{}); len(role.Rules) < 5 {
		t.Errorf("role has %d rules after apply", len(role.Rules))
	}
}

// linesWith counts the lines holding every one of parts.
func linesWith(out string, parts ...string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			n++
		}
	}
	return n
}

func TestApplyRefusesToAdopt(t *testing.T) {
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "adopt-me"}}
	if _, err := e2e.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	spec := tenantsYAML("adopt-other", "adopt-me")
	r := must(t, bulkhead(t, spec, "apply", "-f", "-"), 1)
	if !strings.Contains(r.stderr, "namespace/adopt-me exists and is not managed by bulkhead") || !strings.Contains(r.stderr, "--adopt") {
		t.Errorf("refusal does not name the namespace and the fix:\n%s", r)
	}
	// Nothing was written, not even for the tenant without a conflict.
	if _, err := e2e.client.CoreV1().Namespaces().Get(ctx, "adopt-other", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace adopt-other exists after a refused apply (err=%v)", err)
	}
	if _, err := e2e.client.CoreV1().ServiceAccounts("adopt-me").Get(ctx, "adopt-me-user", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("serviceaccount written into the unmanaged namespace (err=%v)", err)
	}

	r = must(t, bulkhead(t, spec, "apply", "-f", "-", "--adopt"), 0)
	if !strings.Contains(r.stdout, "namespace/adopt-me configured") {
		t.Errorf("--adopt did not take the namespace over:\n%s", r)
	}
	got, err := e2e.client.CoreV1().Namespaces().Get(ctx, "adopt-me", metav1.GetOptions{})
	if err != nil || got.Labels["app.kubernetes.io/managed-by"] != "bulkhead" || got.Labels["bulkhead.dev/tenant"] != "adopt-me" {
		t.Errorf("adopted namespace labels = %v (err=%v)", got.Labels, err)
	}
}

func TestApplyRefusesAnotherTenantsNamespace(t *testing.T) {
	must(t, bulkhead(t, tenantsYAML("owner-a"), "apply", "-f", "-"), 0)
	spec := "apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: squatter\nspec:\n  namespace: owner-a\n"
	r := must(t, bulkhead(t, spec, "apply", "-f", "-", "--adopt"), 1)
	if !strings.Contains(r.stderr, `namespace/owner-a belongs to bulkhead tenant "owner-a", not "squatter"`) {
		t.Errorf("claim on another tenant's namespace not refused clearly:\n%s", r)
	}
}

func TestApplyInvalidInputWritesNothing(t *testing.T) {
	spec := tenantsYAML("valid-one") + "---\napiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: Invalid_Name\nspec:\n  members:\n  - name: x\n    rol: edit\n"
	r := must(t, bulkhead(t, spec, "apply", "-f", "-"), 2)
	for _, want := range []string{"<stdin>:", "metadata.name", "spec.members[0].rol"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("error does not mention %q:\n%s", want, r)
		}
	}
	if r.stdout != "" {
		t.Errorf("invalid input printed output: %q", r.stdout)
	}
	if _, err := e2e.client.CoreV1().Namespaces().Get(t.Context(), "valid-one", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("valid tenant written despite an invalid one beside it (err=%v)", err)
	}
	must(t, bulkhead(t, "", "apply"), 2)
	must(t, bulkhead(t, "", "apply", "-f", "does-not-exist.yaml"), 2)
}

func TestApplyDryRunWritesNothing(t *testing.T) {
	r := must(t, bulkhead(t, tenantsYAML("dry"), "apply", "-f", "-", "--dry-run"), 0)
	if !strings.Contains(r.stdout, "namespace/dry created (server dry run)") ||
		!strings.Contains(r.stdout, "rolebinding.rbac.authorization.k8s.io/bulkhead-edit-sa-dry-user in dry created (server dry run)") {
		t.Errorf("dry run output:\n%s", r)
	}
	if _, err := e2e.client.CoreV1().Namespaces().Get(t.Context(), "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("dry run created the namespace (err=%v)", err)
	}
	// On an existing tenant, the server sees each change.
	must(t, bulkhead(t, tenantsYAML("dry"), "apply", "-f", "-"), 0)
	changed := "apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: dry\nspec:\n  members:\n  - name: dry-user\n  - name: dry-viewer\n    role: view\n"
	r = must(t, bulkhead(t, changed, "apply", "-f", "-", "--dry-run"), 0)
	if !strings.Contains(r.stdout, "serviceaccount/dry-viewer in dry created (server dry run)") ||
		!strings.Contains(r.stdout, "namespace/dry configured (server dry run)") {
		t.Errorf("dry run on an existing tenant:\n%s", r)
	}
	if _, err := e2e.client.CoreV1().ServiceAccounts("dry").Get(t.Context(), "dry-viewer", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("dry run created serviceaccount dry-viewer (err=%v)", err)
	}
}
