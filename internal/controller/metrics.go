package controller

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
)

// Metrics are the controller's own, beside controller-runtime's. A nil
// *Metrics records nothing.
type Metrics struct {
	changed       *prometheus.CounterVec
	verifications *prometheus.CounterVec
}

// NewMetrics registers the controller's metrics on reg. Tenants by
// condition are read from the cache when scraped, so they cannot drift
// from what status says.
func NewMetrics(reg prometheus.Registerer, reader client.Reader) (*Metrics, error) {
	m := &Metrics{
		changed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulkhead_reconcile_changes_total",
			Help: "Objects the controller changed, by action (created, configured, removed, revoked, cordoned, deleted, failed).",
		}, []string{"action"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulkhead_verifications_total",
			Help: "Tenant verifications by result (passed, failed, error).",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.changed, m.verifications, &tenantCollector{reader: reader}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) changes(cs apply.ChangeSet) {
	if m == nil {
		return
	}
	for _, c := range cs.Changes {
		if c.Action != apply.Unchanged {
			m.changed.WithLabelValues(string(c.Action)).Inc()
		}
	}
}

func (m *Metrics) verified(result string) {
	if m != nil {
		m.verifications.WithLabelValues(result).Inc()
	}
}

var (
	tenantsDesc = prometheus.NewDesc("bulkhead_tenants",
		"Tenant objects by condition type and status.", []string{"condition", "status"}, nil)
	failedChecksDesc = prometheus.NewDesc("bulkhead_verification_failed_checks",
		"Checks that failed in the latest verification of each Tenant, summed.", nil, nil)
)

// tenantCollector reports Tenants by condition from the cache at scrape time.
type tenantCollector struct{ reader client.Reader }

func (c *tenantCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tenantsDesc
	ch <- failedChecksDesc
}

func (c *tenantCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list v1alpha1.TenantList
	if err := c.reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return
	}
	counts := map[[2]string]int{}
	for _, typ := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionVerified, v1alpha1.ConditionDegraded} {
		for _, s := range []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown} {
			counts[[2]string{typ, string(s)}] = 0
		}
	}
	failed := 0
	for _, t := range list.Items {
		for _, cond := range t.Status.Conditions {
			counts[[2]string{cond.Type, string(cond.Status)}]++
		}
		if v := t.Status.Verification; v != nil {
			failed += v.Failed
		}
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(tenantsDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	ch <- prometheus.MustNewConstMetric(failedChecksDesc, prometheus.GaugeValue, float64(failed))
}
