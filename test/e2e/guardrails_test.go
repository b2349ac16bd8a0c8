package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

const gpuLab = `apiVersion: bulkhead.dev/v1alpha1
kind: TenantDefaults
metadata:
  name: lab
spec:
  quota: {gpus: 1, cpu: "8", memory: 32Gi}
  network:
    allowFrom:
    - namespace: ingress-nginx
---
apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata:
  name: g-vision
spec:
  defaults: lab
  members:
  - {name: g-lead, kind: User, role: admin}
  - {name: g-pipeline}
  - {name: g-intern, role: view}
  quota:
    gpus: 4
    extendedResources: {nvidia.com/mig-1g.10gb: 2}
  podSecurity: restricted
  network: {egress: restricted, egressCIDRs: [10.20.0.0/16]}
---
apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata:
  name: g-bob
spec:
  defaults: lab
---
apiVersion: bulkhead.dev/v1alpha1
kind: Tenant
metadata:
  name: g-alice
spec:
  defaults: lab
`

func TestGuardrailsTeamsPlanVerify(t *testing.T) {
	ctx := t.Context()
	spec := writeSpec(t, gpuLab)

	r := must(t, bulkhead(t, "", "plan", "-f", spec), 3)
	if !strings.Contains(r.stdout, "+ resourcequota/bulkhead in g-vision (create)") || !strings.Contains(r.stdout, "Plan: ") {
		t.Errorf("plan before apply:\n%s", r)
	}
	must(t, bulkhead(t, "", "apply", "-f", spec), 0)
	r = must(t, bulkhead(t, "", "plan", "-f", spec), 0)
	if !strings.Contains(r.stdout, "No changes") {
		t.Errorf("plan after apply:\n%s", r)
	}

	// The quota caps GPUs and MIG profiles; tenant values override the defaults.
	q, err := e2e.client.CoreV1().ResourceQuotas("g-vision").Get(ctx, "bulkhead", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[corev1.ResourceName]string{"requests.nvidia.com/gpu": "4", "requests.nvidia.com/mig-1g.10gb": "2", "requests.cpu": "8", "requests.memory": "32Gi"} {
		if got := q.Spec.Hard[name]; got.Cmp(resource.MustParse(want)) != 0 {
			t.Errorf("g-vision quota %s = %s, want %s", name, got.String(), want)
		}
	}
	bobQuota, err := e2e.client.CoreV1().ResourceQuotas("g-bob").Get(ctx, "bulkhead", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := bobQuota.Spec.Hard["requests.nvidia.com/gpu"]; got.Cmp(resource.MustParse("1")) != 0 {
		t.Errorf("g-bob GPU quota from TenantDefaults = %s, want 1", got.String())
	}
	ns, err := e2e.client.CoreV1().Namespaces().Get(ctx, "g-vision", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" || ns.Labels["pod-security.kubernetes.io/enforce-version"] == "" {
		t.Errorf("g-vision pod security labels: %v", ns.Labels)
	}
	nps, err := e2e.client.NetworkingV1().NetworkPolicies("g-vision").List(ctx, metav1.ListOptions{})
	if err != nil || len(nps.Items) != 2 {
		t.Errorf("g-vision network policies: %d (err=%v), want ingress and egress", len(nps.Items), err)
	}

	// Verify with each member's credentials: PSA, quota, guardrails, admin limits.
	r = must(t, bulkhead(t, "", "verify", "-f", spec, "-o", "json"), 0)
	var report struct {
		Checks []struct{ Member, Action, Expect, Got string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range report.Checks {
		seen[c.Member+": "+c.Action+": "+c.Got] = true
	}
	for _, want := range []string{
		"User/g-lead: bind bulkhead-view to own serviceaccount: allowed",
		"User/g-lead: bind system:authenticated: rejected",
		"User/g-lead: bind another tenant's serviceaccount: rejected",
		"User/g-lead: bind a clusterrole: rejected",
		"ServiceAccount/g-pipeline: create pods with 5 nvidia.com/gpu: rejected",
		"ServiceAccount/g-pipeline: create privileged pods: rejected",
		"ServiceAccount/g-pipeline: create rolebindings: forbidden",
		"ServiceAccount/g-bob-user: create pods with 2 nvidia.com/gpu: rejected",
		"ServiceAccount/g-intern: create pods: forbidden",
	} {
		if !seen[want] {
			t.Errorf("no verified check %q", want)
		}
	}

	// The admission policy explains itself to a tenant admin using kubectl.
	r = must(t, kubectl(t, "--as", "g-lead", "-n", "g-vision", "create", "rolebinding", "open", "--role", "bulkhead-view", "--group", "system:authenticated"), 1)
	if !strings.Contains(r.stderr, "tenant admins may bind only this tenant's ServiceAccounts") {
		t.Errorf("kubectl as the tenant admin:\n%s", r)
	}
}

func TestPruneRevokesAndKeepsData(t *testing.T) {
	ctx := t.Context()
	both := writeSpec(t, tenantsYAML("p-stays", "p-leaves")+"---\napiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: p-team\nspec:\n  members:\n  - name: p-keep\n  - name: p-gone\n")
	must(t, bulkhead(t, "", "apply", "-f", both, "--tenant-set", "p"), 0)
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if _, err := e2e.client.CoreV1().PersistentVolumeClaims("p-leaves").Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	leaving := filepath.Join(t.TempDir(), "leaving.kubeconfig")
	must(t, bulkhead(t, "", "kubeconfig", "p-leaves", "-o", leaving), 0)
	gone := filepath.Join(t.TempDir(), "gone.kubeconfig")
	must(t, bulkhead(t, "", "kubeconfig", "p-team", "--member", "p-gone", "--legacy-token", "-o", gone), 0)

	// Other tenants of the test cluster belong to no set or to other
	// sets: pruning this set must leave them alone.
	before := discovered(t)
	after := writeSpec(t, tenantsYAML("p-stays")+"---\napiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: p-team\nspec:\n  members:\n  - name: p-keep\n")
	must(t, bulkhead(t, "", "plan", "-f", after, "--prune"), 2) // --prune needs a set
	r := must(t, bulkhead(t, "", "plan", "-f", after, "--tenant-set", "p", "--prune"), 3)
	for _, want := range []string{"- serviceaccount/p-leaves-user in p-leaves (remove, revoking its tokens)", "- namespace/p-leaves (cordon",
		"- serviceaccount/p-gone in p-team (remove, revoking its tokens)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan --prune lacks %q:\n%s", want, r.stdout)
		}
	}
	r = must(t, bulkhead(t, "", "apply", "-f", after, "--tenant-set", "p", "--prune"), 0)
	if !strings.Contains(r.stdout, "namespace/p-leaves cordoned") || !strings.Contains(r.stdout, "serviceaccount/p-gone in p-team revoked") {
		t.Errorf("prune output:\n%s", r)
	}
	for _, path := range []string{leaving, gone} {
		if code := statusWith(t, path, "p-leaves"); code != http.StatusUnauthorized {
			t.Errorf("token of %s after prune: HTTP %d, want 401", filepath.Base(path), code)
		}
	}
	if _, err := e2e.client.CoreV1().PersistentVolumeClaims("p-leaves").Get(ctx, "data", metav1.GetOptions{}); err != nil {
		t.Errorf("PVC lost by prune without --delete-data: %v", err)
	}
	ns, err := e2e.client.CoreV1().Namespaces().Get(ctx, "p-leaves", metav1.GetOptions{})
	if err != nil || ns.Annotations["bulkhead.dev/cordoned"] == "" {
		t.Errorf("namespace p-leaves not cordoned: %v %v", err, ns.Annotations)
	}
	if q, err := e2e.client.CoreV1().ResourceQuotas("p-leaves").Get(ctx, "bulkhead", metav1.GetOptions{}); err != nil || q.Spec.Hard.Pods().Value() != 0 {
		t.Errorf("cordoned quota: %+v (err=%v)", q.Spec.Hard, err)
	}
	if _, err := e2e.client.RbacV1().RoleBindings("p-team").Get(ctx, "bulkhead-edit-sa-p-gone", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("binding of a removed member still there (err=%v)", err)
	}
	if _, err := e2e.client.CoreV1().ServiceAccounts("p-team").Get(ctx, "p-keep", metav1.GetOptions{}); err != nil {
		t.Errorf("kept member lost: %v", err)
	}
	must(t, bulkhead(t, "", "plan", "-f", after, "--tenant-set", "p", "--prune"), 0)
	for _, n := range before {
		if n != "p-leaves" && !slices.Contains(discovered(t), n) {
			t.Errorf("tenant %s of another input was offboarded by pruning set p", n)
		}
	}
}

func TestRevokeKillsTokens(t *testing.T) {
	must(t, bulkhead(t, tenantsYAML("r-bob"), "apply", "-f", "-"), 0)
	bound := filepath.Join(t.TempDir(), "bound.kubeconfig")
	legacy := filepath.Join(t.TempDir(), "legacy.kubeconfig")
	must(t, bulkhead(t, "", "kubeconfig", "r-bob", "-o", bound), 0)
	must(t, bulkhead(t, "", "kubeconfig", "r-bob", "--legacy-token", "-o", legacy), 0)
	for _, p := range []string{bound, legacy} {
		if code := statusWith(t, p, "r-bob"); code != http.StatusOK {
			t.Fatalf("%s before revoke: HTTP %d", filepath.Base(p), code)
		}
	}
	start := time.Now()
	r := must(t, bulkhead(t, "", "revoke", "r-bob"), 0)
	if !strings.Contains(r.stdout, "serviceaccount/r-bob-user in r-bob revoked: 1 token secret(s) deleted") {
		t.Errorf("revoke output:\n%s", r)
	}
	// The API server caches a successful authentication for up to 10 s, so
	// poll; the latency is logged, the bound is generous (no timing asserts).
	for _, p := range []string{bound, legacy} {
		deadline := time.Now().Add(30 * time.Second)
		for statusWith(t, p, "r-bob") != http.StatusUnauthorized {
			if time.Now().After(deadline) {
				t.Fatalf("%s still accepted 30 s after revoke", filepath.Base(p))
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Logf("%s refused (401) %s after revoke", filepath.Base(p), time.Since(start).Round(10*time.Millisecond))
	}
	// A new kubeconfig works: the ServiceAccount was recreated.
	fresh := filepath.Join(t.TempDir(), "fresh.kubeconfig")
	must(t, bulkhead(t, "", "kubeconfig", "r-bob", "-o", fresh), 0)
	if code := statusWith(t, fresh, "r-bob"); code != http.StatusOK {
		t.Errorf("fresh kubeconfig after revoke: HTTP %d", code)
	}
}

// statusWith lists pods in ns with a kubeconfig and returns the HTTP status.
func statusWith(t *testing.T, kubeconfig, ns string) int {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{Limit: 1})
	var status apierrors.APIStatus
	switch {
	case err == nil:
		return http.StatusOK
	case apierrors.IsUnauthorized(err):
		return http.StatusUnauthorized
	case apierrors.IsForbidden(err):
		return http.StatusForbidden
	}
	if errAs(err, &status) {
		return int(status.Status().Code)
	}
	t.Fatalf("list pods with %s: %v", kubeconfig, err)
	return 0
}

// discovered names every tenant bulkhead manages on the test cluster.
func discovered(t *testing.T) []string {
	t.Helper()
	nss, err := e2e.client.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/managed-by=bulkhead,bulkhead.dev/state!=cordoned"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ns := range nss.Items {
		out = append(out, ns.Labels["bulkhead.dev/tenant"])
	}
	return out
}
