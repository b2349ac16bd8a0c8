package e2e

import (
	"slices"
	"strings"
	"testing"
)

// canI asks the real kubectl whether a subject may do something in a namespace.
func canI(t *testing.T, as, verb, resource, ns string) bool {
	t.Helper()
	r := kubectl(t, "auth", "can-i", verb, resource, "-n", ns, "--as", as)
	return strings.TrimSpace(r.stdout) == "yes"
}

// TestDemotedAndRemovedMembersLoseAccess is the case: a plain apply of
// the smaller spec takes access away, plan shows it first, and is clean after.
func TestDemotedAndRemovedMembersLoseAccess(t *testing.T) {
	before := `apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata: {name: c-lab}
spec:
  members:
  - {name: ana, role: edit}
  - {name: ben, role: edit}
  - {name: carl@example.com, kind: User, role: edit}
`
	after := `apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata: {name: c-lab}
spec:
  members:
  - {name: ana, role: view}
`
	must(t, bulkhead(t, before, "apply", "-f", "-"), 0)
	ana, ben, carl := "system:serviceaccount:c-lab:ana", "system:serviceaccount:c-lab:ben", "carl@example.com"
	for _, who := range []string{ana, ben, carl} {
		if !canI(t, who, "create", "pods", "c-lab") {
			t.Fatalf("%s cannot create pods after the first apply", who)
		}
	}
	r := must(t, bulkhead(t, after, "plan", "-f", "-"), 3)
	for _, want := range []string{
		"- serviceaccount/ben in c-lab (remove, revoking its tokens)",
		"- rolebinding.rbac.authorization.k8s.io/bulkhead-edit-sa-ana in c-lab (remove)",
		"- rolebinding.rbac.authorization.k8s.io/bulkhead-edit-sa-ben in c-lab (remove)",
		"- rolebinding.rbac.authorization.k8s.io/bulkhead-edit-user-carl-example.com-",
		"- role.rbac.authorization.k8s.io/bulkhead-edit in c-lab (remove)",
		"+ rolebinding.rbac.authorization.k8s.io/bulkhead-view-sa-ana in c-lab (create)",
		"to remove",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	if !canI(t, ben, "create", "pods", "c-lab") {
		t.Fatal("plan changed the cluster")
	}
	r = must(t, bulkhead(t, after, "apply", "-f", "-"), 0)
	if !strings.Contains(r.stderr, "5 removed") {
		t.Errorf("result line does not count 5 removals:\n%s", r)
	}
	for _, who := range []string{ana, ben, carl} {
		if canI(t, who, "create", "pods", "c-lab") {
			t.Errorf("%s can still create pods in c-lab", who)
		}
	}
	if !canI(t, ana, "list", "pods", "c-lab") {
		t.Error("ana (view) cannot list pods")
	}
	for _, who := range []string{ben, carl} {
		if canI(t, who, "list", "pods", "c-lab") {
			t.Errorf("removed member %s can still list pods", who)
		}
	}
	must(t, bulkhead(t, after, "plan", "-f", "-"), 0)
}

// TestTenantSetsPruneSeparately: two inputs, each pruned on its own, never
// touch each other's tenants.
func TestTenantSetsPruneSeparately(t *testing.T) {
	labA := writeSpec(t, tenantsYAML("s-a1", "s-a2"))
	labB := writeSpec(t, tenantsYAML("s-b1"))
	must(t, bulkhead(t, "", "apply", "-f", labA, "--tenant-set", "lab-a", "--prune"), 0)
	must(t, bulkhead(t, "", "apply", "-f", labB, "--tenant-set", "lab-b", "--prune"), 0)
	// Pruning B again with A's tenants on the cluster changes nothing.
	r := must(t, bulkhead(t, "", "plan", "-f", labB, "--tenant-set", "lab-b", "--prune"), 0)
	if strings.Contains(r.stdout, "s-a") {
		t.Errorf("plan of lab-b mentions lab-a's tenants:\n%s", r.stdout)
	}
	// A drops s-a2: only s-a2 is offboarded.
	smallerA := writeSpec(t, tenantsYAML("s-a1"))
	r = must(t, bulkhead(t, "", "apply", "-f", smallerA, "--tenant-set", "lab-a", "--prune"), 0)
	if !strings.Contains(r.stdout, "namespace/s-a2 cordoned") || strings.Contains(r.stdout, "s-b1 ") {
		t.Errorf("prune of lab-a:\n%s", r.stdout)
	}
	live := discovered(t)
	for _, n := range []string{"s-a1", "s-b1"} {
		if !slices.Contains(live, n) {
			t.Errorf("tenant %s lost", n)
		}
	}
	if slices.Contains(live, "s-a2") {
		t.Error("s-a2 not cordoned")
	}
	// B's tenant cannot be taken by A's input; the message says how to move it.
	r = must(t, bulkhead(t, "", "apply", "-f", labB, "--tenant-set", "lab-a"), 1)
	if !strings.Contains(r.stderr, `belongs to tenant set "lab-b"`) || !strings.Contains(r.stderr, "kubectl label namespace s-b1 bulkhead.dev/tenant-set=lab-a --overwrite") {
		t.Errorf("taking another set's tenant:\n%s", r)
	}
	// Applied without naming a set, a tenant stays in its set.
	must(t, bulkhead(t, "", "apply", "-f", labB), 0)
	must(t, bulkhead(t, "", "plan", "-f", labB, "--tenant-set", "lab-b", "--prune"), 0)
}

// TestApplyExamples: every example file together, each tenant naming its
// own defaults.
func TestApplyExamples(t *testing.T) {
	r := must(t, bulkhead(t, "", "plan", "-f", "examples/"), 3)
	if !strings.Contains(r.stdout, "+ namespace/vision (create)") || !strings.Contains(r.stdout, "+ namespace/bob (create)") {
		t.Fatalf("plan of examples/:\n%s", r.stdout)
	}
	must(t, bulkhead(t, "", "apply", "-f", "examples/"), 0)
	must(t, bulkhead(t, "", "plan", "-f", "examples/"), 0)
}
