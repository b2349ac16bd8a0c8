package auditloop

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// The unit tests run the Loop over controller-runtime's fake client: pure
// logic (statuses, diffs, Events, metrics, debounce). What the cache and
// the API server do is cluster_test.go's.

func testScheme(t testing.TB) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Builders of the objects the tests put in the world.

func managedNS(name, tenant string) *corev1.Namespace {
	labels := v1alpha1.OwnershipLabels(tenant)
	labels["pod-security.kubernetes.io/enforce"] = "restricted"
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

// guardrails are the NetworkPolicy and ResourceQuota that keep a clean
// namespace free of findings.
func guardrails(ns string) []client.Object {
	return []client.Object{
		&networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "isolate"},
			Spec: networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}},
			},
		},
		&corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gpus"},
			Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"requests.nvidia.com/gpu": resource.MustParse("2")}},
		},
	}
}

func serviceAccount(ns, name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func tenantObject(name, namespace string) *v1alpha1.Tenant {
	return &v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.TenantSpec{Namespace: namespace}}
}

func editRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "edit"}, Rules: []rbacv1.PolicyRule{
		// No pods: a tenant that can run pods as another's ServiceAccount
		// makes chains of findings these tests do not need.
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
	}}
}

// bindSA binds a ServiceAccount to the edit ClusterRole in ns.
func bindSA(ns, name, saNS, sa string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: saNS, Name: sa}},
	}
}

// twoTenants is tenants a and b (Tenant objects), each with a
// ServiceAccount bound in its own namespace, and c, applied by the CLI (no
// Tenant object).
func twoTenants() []client.Object {
	return append(slices.Concat(guardrails("a"), guardrails("b"), guardrails("c")),
		editRole(),
		managedNS("a", "a"), managedNS("b", "b"), managedNS("c", "c"),
		serviceAccount("a", "a-user"), serviceAccount("b", "b-user"), serviceAccount("c", "c-user"),
		bindSA("a", "own", "a", "a-user"), bindSA("b", "own", "b", "b-user"), bindSA("c", "own", "c", "c-user"),
		tenantObject("a", "a"), tenantObject("b", "b"),
	)
}

// recorder collects OnChange calls.
type changes struct {
	mu    sync.Mutex
	calls [][]string
}

func (c *changes) record(tenants []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, tenants)
}

func (c *changes) take() [][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

type fixture struct {
	loop     *Loop
	client   client.Client
	reg      *prometheus.Registry
	events   *record.FakeRecorder
	changes  *changes
	clock    *clocktesting.FakeClock
	debounce time.Duration
}

func newFixture(t *testing.T, objs ...client.Object) *fixture {
	t.Helper()
	f := &fixture{
		client:   fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...).Build(),
		reg:      prometheus.NewRegistry(),
		events:   record.NewFakeRecorder(100),
		changes:  &changes{},
		clock:    clocktesting.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		debounce: time.Second,
	}
	f.loop = New(f.client, Options{
		Debounce: f.debounce, Recorder: f.events, Registry: f.reg, OnChange: f.changes.record, Clock: f.clock,
	})
	if err := f.loop.m.register(f.reg); err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs one audit, as the loop does when its timer fires.
func (f *fixture) run(t *testing.T) {
	t.Helper()
	if err := f.loop.run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) drainEvents() []string {
	var out []string
	for {
		select {
		case e := <-f.events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// metric returns the value of a gauge or counter (labels as name=value
// pairs), and whether the series exists.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
	series:
		for _, m := range fam.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func hasFinding(s *v1alpha1.AuditStatus, rule, severity, namespace string) bool {
	return slices.ContainsFunc(s.Top, func(f v1alpha1.AuditFinding) bool {
		return f.Rule == rule && f.Severity == severity && f.Namespace == namespace
	})
}

// TestStatusesEventsMetrics: a cross-tenant binding shows in both tenants'
// statuses, raises one Event on each, counts in the gauge; an unchanged
// world reports no change and raises nothing; removing the binding clears
// it all.
func TestStatusesEventsMetrics(t *testing.T) {
	f := newFixture(t, twoTenants()...)
	ctx := context.Background()

	f.run(t)
	if got := f.changes.take(); len(got) != 1 || !slices.Equal(got[0], []string{"a", "b"}) {
		t.Errorf("first run: OnChange calls %v, want one with [a b]", got)
	}
	for _, name := range []string{"a", "b"} {
		s, ok := f.loop.Status(name)
		if !ok || s.Critical != 0 || len(s.Top) != 0 || !s.Time.Equal(&metav1.Time{Time: f.clock.Now()}) {
			t.Errorf("Status(%s) = %+v, %v; want zero findings at the run's time", name, s, ok)
		}
	}
	if _, ok := f.loop.Status("c"); ok {
		t.Errorf("Status(c) exists; c has no Tenant object")
	}
	if ev := f.drainEvents(); len(ev) != 0 {
		t.Errorf("events on a clean world: %q", ev)
	}

	// b's ServiceAccount is given edit in a's namespace; c's in b's.
	cross := bindSA("a", "shared", "b", "b-user")
	if err := f.client.Create(ctx, cross); err != nil {
		t.Fatal(err)
	}
	fromC := bindSA("b", "from-c", "c", "c-user")
	if err := f.client.Create(ctx, fromC); err != nil {
		t.Fatal(err)
	}
	f.run(t)
	if got := f.changes.take(); len(got) != 1 || !slices.Equal(got[0], []string{"a", "b"}) {
		t.Errorf("after the binding: OnChange calls %v, want one with [a b]", got)
	}
	for _, name := range []string{"a", "b"} {
		s, _ := f.loop.Status(name)
		if s == nil || s.Critical == 0 || !hasFinding(s, "cross-tenant-access", "critical", "a") {
			t.Errorf("Status(%s) = %+v; want the critical cross-tenant-access in namespace a", name, s)
		}
	}
	sb, _ := f.loop.Status("b")
	if !hasFinding(sb, "cross-tenant-access", "critical", "b") {
		t.Errorf("Status(b) lacks c's access to namespace b: %+v", sb.Top)
	}
	events := f.drainEvents()
	var onA, onB int
	for _, e := range events {
		if !strings.HasPrefix(e, "Warning CriticalFinding cross-tenant-access: ") {
			t.Errorf("event %q; want a Warning CriticalFinding naming the rule", e)
		}
		switch {
		case strings.Contains(e, "ServiceAccount b/b-user"):
			onA++
		case strings.Contains(e, "ServiceAccount c/c-user"):
			onB++
		}
	}
	// b/b-user in a involves a and b; c/c-user in b involves b only (c has
	// no Tenant object): three Events.
	if len(events) != 3 || onA != 2 || onB != 1 {
		t.Errorf("events = %q; want b's access raised on a and b, c's on b", events)
	}
	if v, _ := metric(t, f.reg, "bulkhead_audit_findings", "severity", "critical", "rule", "cross-tenant-access"); v != 2 {
		t.Errorf("bulkhead_audit_findings{critical,cross-tenant-access} = %v, want 2", v)
	}

	// Nothing changed: no OnChange, no Event, a new time.
	f.clock.Step(time.Minute)
	f.run(t)
	if got := f.changes.take(); len(got) != 0 {
		t.Errorf("unchanged world: OnChange calls %v, want none", got)
	}
	if ev := f.drainEvents(); len(ev) != 0 {
		t.Errorf("unchanged world raised %q", ev)
	}
	if s, _ := f.loop.Status("a"); !s.Time.Equal(&metav1.Time{Time: f.clock.Now()}) {
		t.Errorf("Status(a).Time = %v, want the latest run's %v", s.Time, f.clock.Now())
	}

	if err := f.client.Delete(ctx, cross); err != nil {
		t.Fatal(err)
	}
	if err := f.client.Delete(ctx, fromC); err != nil {
		t.Fatal(err)
	}
	f.run(t)
	if got := f.changes.take(); len(got) != 1 || !slices.Equal(got[0], []string{"a", "b"}) {
		t.Errorf("after the removal: OnChange calls %v, want one with [a b]", got)
	}
	for _, name := range []string{"a", "b"} {
		if s, _ := f.loop.Status(name); s.Critical != 0 || len(s.Top) != 0 {
			t.Errorf("Status(%s) after the removal = %+v; want no findings", name, s)
		}
	}
	if v, ok := metric(t, f.reg, "bulkhead_audit_findings", "severity", "critical", "rule", "cross-tenant-access"); ok {
		t.Errorf("bulkhead_audit_findings{critical,cross-tenant-access} = %v after the removal; want no series", v)
	}
	if v, _ := metric(t, f.reg, "bulkhead_audit_runs_total"); v != 4 {
		t.Errorf("bulkhead_audit_runs_total = %v, want 4", v)
	}
	if v, _ := metric(t, f.reg, "bulkhead_audit_duration_seconds"); v != 4 {
		t.Errorf("bulkhead_audit_duration_seconds has %v samples, want 4", v)
	}
	if v, _ := metric(t, f.reg, "bulkhead_audit_last_run_timestamp_seconds"); v != float64(f.clock.Now().Unix()) {
		t.Errorf("bulkhead_audit_last_run_timestamp_seconds = %v, want %v", v, f.clock.Now().Unix())
	}
}

// TestStatusBounded: a badly broken tenant's status lists at most
// MaxStatusItems findings, the most severe first, and counts all.
func TestStatusBounded(t *testing.T) {
	objs := twoTenants()
	for i := range 3 * v1alpha1.MaxStatusItems {
		ns := "x" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		objs = append(objs, managedNS(ns, ns), serviceAccount(ns, "sa"), bindSA("a", "leak-"+ns, ns, "sa"), bindSA(ns, "own", ns, "sa"))
		objs = append(objs, guardrails(ns)...)
	}
	f := newFixture(t, objs...)
	f.run(t)
	s, _ := f.loop.Status("a")
	if len(s.Top) != v1alpha1.MaxStatusItems || s.Critical+s.High+s.Medium+s.Low <= v1alpha1.MaxStatusItems {
		t.Fatalf("Status(a) has %d items, counts %+v; want %d items and more counted", len(s.Top), s, v1alpha1.MaxStatusItems)
	}
	for i := 1; i < len(s.Top); i++ {
		if severityRank(s.Top[i].Severity) > severityRank(s.Top[i-1].Severity) {
			t.Errorf("Top is not most severe first: %s after %s", s.Top[i].Severity, s.Top[i-1].Severity)
		}
	}
	if ev := f.drainEvents(); len(ev) > maxEvents+1 {
		t.Errorf("%d events on one run; want at most %d and a summary", len(ev), maxEvents)
	}
}

func severityRank(s string) int {
	return slices.Index([]string{"low", "medium", "high", "critical"}, s)
}

// TestTenantsOf: Tenant objects take their namespace from status, spec or
// name; CLI-managed namespaces join under their tenant label; a namespace
// claimed twice belongs to the first Tenant by name.
func TestTenantsOf(t *testing.T) {
	f := newFixture(t,
		managedNS("ns-x", "x"), managedNS("cli", "cli-tenant"), managedNS("dup", "a"),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain"}},
		&v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: v1alpha1.TenantSpec{Namespace: "ns-x"}},
		&v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "y"}, Spec: v1alpha1.TenantSpec{Namespace: "spec-y"}, Status: v1alpha1.TenantStatus{Namespace: "status-y"}},
		&v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "z"}},
		&v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "zz"}, Spec: v1alpha1.TenantSpec{Namespace: "z"}},
		&v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: v1alpha1.TenantSpec{Namespace: "own-a"}},
	)
	w, err := f.loop.read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tn := range w.tenants {
		got = append(got, tn.Name+"@"+tn.Namespace+map[bool]string{true: "+managed"}[tn.Managed])
	}
	want := []string{"cli-tenant@cli+managed", "dup@dup+managed", "x@ns-x+managed", "a@own-a", "y@status-y", "z@z"}
	if !slices.Equal(got, want) {
		t.Errorf("tenants = %v\nwant      %v", got, want)
	}
	if w.objects["zz"] != nil {
		t.Errorf("Tenant zz claims z's namespace and was audited")
	}
}

// TestDebounce: a burst of 1,000 changes makes one run, after the quiet
// time; changes during a run make one more; a stream of changes that is
// never quiet runs at MaxDelay.
func TestDebounce(t *testing.T) {
	f := newFixture(t, twoTenants()...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.loop.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	runs := func() int {
		v, _ := metric(t, f.reg, "bulkhead_audit_runs_total")
		return int(v)
	}
	// settle steps the fake clock by step until the loop has made want
	// runs and waits for nothing, or fails after a generous bound on real
	// time (the loop goroutine may be slow to be scheduled: this is not a
	// timing assertion).
	settle := func(want int, step time.Duration) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for runs() < want || f.clock.HasWaiters() {
			if time.Now().After(deadline) {
				t.Fatalf("%d runs, timers waiting %v; want %d runs and none waiting", runs(), f.clock.HasWaiters(), want)
			}
			f.clock.Step(step)
			time.Sleep(time.Millisecond)
		}
		// Give stale wake-ups a chance to (wrongly) schedule a run.
		for range 20 {
			time.Sleep(time.Millisecond)
			f.clock.Step(f.debounce)
		}
		if got := runs(); got != want {
			t.Fatalf("%d runs, want %d", got, want)
		}
	}

	settle(1, f.debounce/4) // the first run, at start

	if err := f.client.Create(ctx, bindSA("a", "shared", "b", "b-user")); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		f.loop.Trigger()
		if i%100 == 0 {
			time.Sleep(time.Millisecond) // let the loop see part of the burst
		}
	}
	// The loop waits for the quiet time: no run while the clock stands.
	deadline := time.Now().Add(30 * time.Second)
	for len(f.loop.wake) > 0 || !f.clock.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("the loop never armed its debounce timer after the burst")
		}
		time.Sleep(time.Millisecond)
	}
	if got := runs(); got != 1 {
		t.Fatalf("%d runs before the quiet time passed, want 1 (the first)", got)
	}
	settle(2, f.debounce/4)
	if s, _ := f.loop.Status("a"); s.Critical == 0 {
		t.Errorf("the run after the burst missed the change before it: %+v", s)
	}

	// Changes that never stop for the quiet time: a run within MaxDelay.
	start := f.clock.Now()
	for runs() < 3 {
		if f.clock.Since(start) > 10*f.loop.opts.MaxDelay {
			t.Fatalf("no run after %v of changes every %v", f.clock.Since(start), f.debounce/2)
		}
		f.loop.Trigger()
		time.Sleep(time.Millisecond)
		f.clock.Step(f.debounce / 2)
	}
	// The last changes may have come after that run began: at most one more.
	for f.clock.HasWaiters() {
		f.clock.Step(f.debounce)
		time.Sleep(time.Millisecond)
	}
}
