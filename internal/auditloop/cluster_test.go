package auditloop

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/audit"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

// eventually polls cond until it holds, failing after a generous bound (a
// bound on a slow machine, not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 90s for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// installCRDs creates the CRDs of config/crd/bases and waits until Tenants
// can be listed.
func installCRDs(t *testing.T, ctx context.Context, c client.Client) {
	t.Helper()
	files, err := filepath.Glob("../../config/crd/bases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in config/crd/bases (%v)", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd unstructured.Unstructured
		if err := yaml.Unmarshal(data, &crd.Object); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := c.Create(ctx, &crd); err != nil {
			t.Fatalf("creating the CRD of %s: %v", f, err)
		}
	}
	eventually(t, "the Tenant CRD to be served", func() bool {
		return c.List(ctx, &v1alpha1.TenantList{}) == nil
	})
}

// TestClusterCrossTenantBinding is the continuous audit against a real API
// server: a manager whose cache is configured by CacheByObject, the Loop
// as a runnable with Watch; a hand-made RoleBinding in tenant a's
// namespace granting tenant b's ServiceAccount edit shows, within a
// bounded wait, as the critical finding `bulkhead audit` reports for it in
// both tenants' statuses, in the gauge, and as an Event on the Tenants;
// deleting the binding clears it.
func TestClusterCrossTenantBinding(t *testing.T) {
	cfg := needCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	scheme := testScheme(t)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	installCRDs(t, ctx, direct)

	// Tenants a and b, applied the way the controller does, and their
	// Tenant objects.
	r := apply.New(cs, apply.Options{})
	for _, name := range []string{"a", "b"} {
		tn := v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}
		spec.Default(&tn)
		if set := r.Reconcile(ctx, tn, apply.Scope{TenantSet: v1alpha1.ControllerTenantSet}); set.Err != nil {
			t.Fatalf("applying tenant %s: %v", name, set.Err)
		}
		obj := &v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.TenantSpec{Namespace: name}}
		if err := direct.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	mgr, err := manager.New(cfg, manager.Options{
		Scheme:                 scheme,
		Cache:                  cache.Options{ByObject: CacheByObject()},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		LeaderElection:         false,
	})
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	loop := New(mgr.GetCache(), Options{
		Debounce:  200 * time.Millisecond,
		Recorder:  mgr.GetEventRecorderFor("bulkhead-auditloop-test"),
		Registry:  reg,
		Discovery: disc,
	})
	if err := mgr.Add(loop); err != nil {
		t.Fatal(err)
	}
	if err := loop.Watch(mgr); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("manager: %v", err)
		}
	}()

	const subject = "ServiceAccount b/b-user"
	involving := func(s *v1alpha1.AuditStatus) []v1alpha1.AuditFinding {
		var out []v1alpha1.AuditFinding
		for _, f := range s.Top {
			if f.Subject == subject && f.Namespace == "a" && f.Severity == "critical" {
				out = append(out, f)
			}
		}
		return out
	}
	eventually(t, "the first audit", func() bool {
		_, okA := loop.Status("a")
		_, okB := loop.Status("b")
		return okA && okB
	})
	for _, name := range []string{"a", "b"} {
		if s, _ := loop.Status(name); len(involving(s)) != 0 {
			t.Fatalf("Status(%s) has b's access to a before the binding: %+v", name, s.Top)
		}
	}

	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "hand-made"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "b", Name: "b-user"}},
	}
	if err := direct.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}

	// What `bulkhead audit` reports for the same cluster (ReadCluster, the
	// CLI's default tenants, Run).
	snap, _, err := audit.ReadCluster(ctx, cs, "cli")
	if err != nil {
		t.Fatal(err)
	}
	tenants, err := audit.Tenants(snap, audit.TenantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	report, err := audit.Run(snap, tenants)
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, f := range report.Findings {
		if f.Subject == subject && f.Namespace == "a" && f.Severity == audit.Critical {
			rules = append(rules, f.Rule)
		}
	}
	slices.Sort(rules)
	rules = slices.Compact(rules)
	if len(rules) == 0 {
		t.Fatalf("bulkhead audit reports no critical finding for %s in a; its findings: %+v", subject, report.Findings)
	}
	t.Logf("bulkhead audit reports %v", rules)

	// Both tenants are involved: b's subject, a's namespace.
	eventually(t, "the critical finding in both statuses", func() bool {
		for _, name := range []string{"a", "b"} {
			s, _ := loop.Status(name)
			var got []string
			for _, f := range involving(s) {
				got = append(got, f.Rule)
			}
			slices.Sort(got)
			if !slices.Equal(slices.Compact(got), rules) || s.Critical < len(got) {
				return false
			}
		}
		return true
	})
	for _, rule := range rules {
		if v, _ := metric(t, reg, "bulkhead_audit_findings", "severity", "critical", "rule", rule); v < 1 {
			t.Errorf("bulkhead_audit_findings{critical,%s} = %v, want at least 1", rule, v)
		}
	}
	for _, name := range []string{"a", "b"} {
		eventually(t, "an Event CriticalFinding on Tenant "+name, func() bool {
			var events corev1.EventList
			err := direct.List(ctx, &events, client.InNamespace(metav1.NamespaceDefault), client.MatchingFieldsSelector{Selector: fields.Set{
				"involvedObject.kind": v1alpha1.TenantKind, "involvedObject.name": name, "reason": ReasonCriticalFinding,
			}.AsSelector()})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events.Items {
				if e.Type == corev1.EventTypeWarning && slices.ContainsFunc(rules, func(r string) bool { return len(e.Message) > len(r) && e.Message[:len(r)] == r }) {
					return true
				}
			}
			return false
		})
	}

	if err := direct.Delete(ctx, binding); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the finding to clear", func() bool {
		for _, name := range []string{"a", "b"} {
			if s, _ := loop.Status(name); len(involving(s)) != 0 {
				return false
			}
		}
		return true
	})
	for _, rule := range rules {
		if v, ok := metric(t, reg, "bulkhead_audit_findings", "severity", "critical", "rule", rule); ok && v != 0 {
			// Other subjects may hold the rule too; none do in this cluster.
			t.Errorf("bulkhead_audit_findings{critical,%s} = %v after the removal, want none", rule, v)
		}
	}
}
