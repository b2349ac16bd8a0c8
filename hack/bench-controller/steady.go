package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Series of controller-runtime and client-go the program reads.
const (
	requestsMetric     = "rest_client_requests_total" // client-go: every API request, by method and code
	queueDepthMetric   = "workqueue_depth"            // items waiting
	activeMetric       = "controller_runtime_active_workers"
	reconcilesMetric   = "controller_runtime_reconcile_total"
	reconcileTimeSum   = "controller_runtime_reconcile_time_seconds_sum"
	auditDurationCount = "bulkhead_audit_duration_seconds_count"
	auditDurationSum   = "bulkhead_audit_duration_seconds_sum"
)

// waitIdle waits until the controller's work queues are empty and no
// reconcile runs, on three scrapes in a row a second apart.
func waitIdle(ctx context.Context, p *controllerProc, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	quiet := 0
	for quiet < 3 {
		m, err := p.scrape(ctx)
		if err != nil {
			return err
		}
		if m.sum(queueDepthMetric)+m.sum(activeMetric) == 0 {
			quiet++
		} else {
			quiet = 0
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the controller's queues were not idle within %s", timeout)
		case <-time.After(time.Second):
		}
	}
	return nil
}

// Work is what the controller did between two scrapes.
type Work struct {
	// Requests by HTTP method; reads are GET (LIST, WATCH and GET), writes
	// every other method (SubjectAccessReviews are POSTs too).
	ByMethod   map[string]float64 `json:"requests_by_method"`
	Requests   float64            `json:"requests"`
	Writes     float64            `json:"writes"`
	Reconciles float64            `json:"reconciles"`
	// ReconcileSeconds is the time spent in Reconcile, summed over workers.
	ReconcileSeconds float64 `json:"reconcile_seconds"`
	CPUSeconds       float64 `json:"cpu_seconds"`
}

func work(m0, m1 metrics, s0, s1 procSample) Work {
	w := Work{ByMethod: map[string]float64{}}
	before := m0.byLabel(requestsMetric, "method")
	for method, n := range m1.byLabel(requestsMetric, "method") {
		delta := n - before[method]
		if delta == 0 {
			continue
		}
		w.ByMethod[method] = delta
		w.Requests += delta
		if method != "GET" {
			w.Writes += delta
		}
	}
	const tenant = `controller="tenant"`
	w.Reconciles = m1.sum(reconcilesMetric, tenant) - m0.sum(reconcilesMetric, tenant)
	w.ReconcileSeconds = m1.sum(reconcileTimeSum, tenant) - m0.sum(reconcileTimeSum, tenant)
	w.CPUSeconds = s1.cpuSeconds - s0.cpuSeconds
	return w
}

// provisioningWork is the controller's work from before the first create
// (m0, s0) to now.
func provisioningWork(ctx context.Context, p *controllerProc, m0 metrics, s0 procSample) (Work, error) {
	m1, err := p.scrape(ctx)
	if err != nil {
		return Work{}, err
	}
	s1, err := sampleProc(p.cmd.Process.Pid)
	if err != nil {
		return Work{}, err
	}
	return work(m0, m1, s0, s1), nil
}

// Steady is what the controller did while nothing changed.
type Steady struct {
	Work
	Seconds           float64 `json:"seconds"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	ReadsPerSecond    float64 `json:"reads_per_second"`
	WritesPerSecond   float64 `json:"writes_per_second"`
	CPUPercent        float64 `json:"cpu_percent_of_one_core"`
	RSSMiB            float64 `json:"rss_mib"`
	HWMMiB            float64 `json:"peak_rss_mib"` // VmHWM at the end: the whole run's peak
}

// steadyState measures the controller over d with nothing changing: API
// requests from its own client-go metrics, CPU and memory from /proc.
func steadyState(ctx context.Context, p *controllerProc, d time.Duration) (*Steady, error) {
	pid := p.cmd.Process.Pid
	m0, err := p.scrape(ctx)
	if err != nil {
		return nil, err
	}
	s0, err := sampleProc(pid)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	m1, err := p.scrape(ctx)
	if err != nil {
		return nil, err
	}
	s1, err := sampleProc(pid)
	if err != nil {
		return nil, err
	}
	secs := time.Since(start).Seconds()
	st := &Steady{Work: work(m0, m1, s0, s1), Seconds: secs}
	st.RequestsPerSecond = st.Requests / secs
	st.WritesPerSecond = st.Writes / secs
	st.ReadsPerSecond = st.ByMethod["GET"] / secs
	st.CPUPercent = 100 * st.CPUSeconds / secs
	st.RSSMiB, st.HWMMiB = s1.rssMiB, s1.hwmMiB
	return st, nil
}

func (s Work) methods() string {
	if len(s.ByMethod) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(s.ByMethod))
	for k := range s.ByMethod {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := ""
	for i, k := range keys {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%s %.0f", k, s.ByMethod[k])
	}
	return out
}

// Audit is the continuous audit's cost per RBAC change, from its histogram.
type Audit struct {
	Available bool    `json:"available"`
	Changes   int     `json:"changes"`
	Runs      float64 `json:"runs"`
	// MeanSeconds is the histogram's sum over its count for the runs the
	// changes caused: one audit's time (cache read, audit, publish).
	MeanSeconds float64 `json:"mean_seconds"`
	// Latency is from each RoleBinding's create call to the audit run after
	// it having finished (the scrape that saw it); includes --audit-debounce.
	LatencySeconds []float64 `json:"latency_seconds"`
}

// auditCost creates hand-made RoleBindings (bulkhead manages none of them)
// one at a time in the namespaces given, each after the audit of the
// previous one has run, and reads bulkhead_audit_duration_seconds.
func auditCost(ctx context.Context, p *controllerProc, cs kubernetes.Interface, namespaces []string) (*Audit, error) {
	m0, err := p.scrape(ctx)
	if err != nil {
		return nil, err
	}
	a := &Audit{Available: m0.has(auditDurationCount)}
	if !a.Available {
		return a, nil
	}
	prev := m0
	for i, ns := range namespaces {
		rb := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-hand-made-%d", i+1), Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: fmt.Sprintf("bench-contractor-%d", i+1)}},
		}
		start := time.Now()
		if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			return a, fmt.Errorf("create RoleBinding %s/%s: %w", ns, rb.Name, err)
		}
		next, err := waitAuditRun(ctx, p, prev.sum(auditDurationCount), time.Minute)
		if err != nil {
			return a, err
		}
		a.LatencySeconds = append(a.LatencySeconds, time.Since(start).Seconds())
		a.Changes++
		prev = next
	}
	a.Runs = prev.sum(auditDurationCount) - m0.sum(auditDurationCount)
	if a.Runs > 0 {
		a.MeanSeconds = (prev.sum(auditDurationSum) - m0.sum(auditDurationSum)) / a.Runs
	}
	return a, nil
}

// waitAuditRun scrapes every 100 ms until the audit has run more than
// count times.
func waitAuditRun(ctx context.Context, p *controllerProc, count float64, timeout time.Duration) (metrics, error) {
	deadline := time.Now().Add(timeout)
	for {
		m, err := p.scrape(ctx)
		if err != nil {
			return nil, err
		}
		if m.sum(auditDurationCount) > count {
			return m, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no continuous audit ran within %s of an RBAC change", timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
