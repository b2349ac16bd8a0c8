package audit

import (
	"runtime"
	"testing"
	"time"
)

// BenchmarkAudit is the target: a full audit of 5,000 namespaces,
// 50,000 RoleBindings, 20,000 Roles, 500 ClusterRoles and 2,000
// ClusterRoleBindings (SyntheticCluster), building the engine included. make
// bench reports the same with the SubjectAccessReview comparison
// (hack/bench-audit).
func BenchmarkAudit(b *testing.B) { benchAudit(b, RunOptions{}) }

// BenchmarkAuditFindingsOnly is BenchmarkAudit without the matrix and the
// drill-down, as the controller's continuous audit runs it.
func BenchmarkAuditFindingsOnly(b *testing.B) { benchAudit(b, RunOptions{FindingsOnly: true}) }

func benchAudit(b *testing.B, opts RunOptions) {
	snap := SyntheticCluster(5000, 0.02, 1)
	tenants, err := Tenants(snap, TenantOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var peak uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	var r *Report
	for b.Loop() {
		if r, err = RunWith(snap, tenants, opts); err != nil {
			b.Fatal(err)
		}
	}
	close(stop)
	<-done
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(len(r.Findings)), "findings")
	b.ReportMetric(float64(r.Summary.Questions), "questions")
}
