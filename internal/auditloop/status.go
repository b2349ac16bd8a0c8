package auditloop

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

// statusesOf sums up, for every Tenant object, the findings that involve
// it: counts by severity and the most severe first (the report is sorted
// by severity), at most MaxStatusItems of them. A Tenant without findings
// gets a status with zero counts: the audit ran and found nothing.
func statusesOf(r *audit.Report, w *world, now time.Time) map[string]*v1alpha1.AuditStatus {
	out := make(map[string]*v1alpha1.AuditStatus, len(w.objects))
	for name := range w.objects {
		out[name] = &v1alpha1.AuditStatus{Time: metav1.NewTime(now)}
	}
	for _, f := range r.Findings {
		for _, t := range w.involved(f) {
			s := out[t]
			if s == nil {
				continue // a tenant without a Tenant object: metrics only
			}
			switch f.Severity {
			case audit.Critical:
				s.Critical++
			case audit.High:
				s.High++
			case audit.Medium:
				s.Medium++
			case audit.Low:
				s.Low++
			}
			if len(s.Top) < v1alpha1.MaxStatusItems {
				s.Top = append(s.Top, v1alpha1.AuditFinding{
					Rule: f.Rule, Severity: f.Severity.String(), Subject: f.Subject, Namespace: f.Namespace,
					Message: f.Message, Fix: f.Fix,
				})
			}
		}
	}
	return out
}
