package auditloop

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

// metrics are the Loop's Prometheus collectors.
type metrics struct {
	findings *prometheus.GaugeVec
	runs     prometheus.Counter
	errors   prometheus.Counter
	duration prometheus.Histogram
	lastRun  prometheus.Gauge

	shown map[[2]string]bool // label pairs of findings set by the last run
}

func newMetrics() *metrics {
	return &metrics{
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bulkhead_audit_findings",
			Help: "Findings of the latest continuous audit, by severity and rule.",
		}, []string{"severity", "rule"}),
		runs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bulkhead_audit_runs_total",
			Help: "Continuous audits completed.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bulkhead_audit_errors_total",
			Help: "Continuous audits that failed (reading the cache or the bootstrap policy).",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bulkhead_audit_duration_seconds",
			Help:    "Time one continuous audit takes: reading the cache, auditing, publishing.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12), // 10 ms to 20 s
		}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bulkhead_audit_last_run_timestamp_seconds",
			Help: "When the latest continuous audit completed, in seconds since the epoch.",
		}),
		shown: map[[2]string]bool{},
	}
}

// register adds the collectors to reg; a collector someone registered
// before (a Loop started again in the same process) is reused.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	var errs [5]error
	m.findings, errs[0] = registered(reg, m.findings)
	m.runs, errs[1] = registered(reg, m.runs)
	m.errors, errs[2] = registered(reg, m.errors)
	m.duration, errs[3] = registered(reg, m.duration)
	m.lastRun, errs[4] = registered(reg, m.lastRun)
	if err := errors.Join(errs[:]...); err != nil {
		return fmt.Errorf("registering the audit metrics: %w", err)
	}
	return nil
}

func registered[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// observe records a completed run.
func (m *metrics) observe(r *audit.Report, start, end time.Time) {
	counts := map[[2]string]int{}
	for _, f := range r.Findings {
		counts[[2]string{f.Severity.String(), f.Rule}]++
	}
	// Set the new values before deleting the old series, so a scrape in
	// between never sees the findings gone.
	for k, n := range counts {
		m.findings.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
	for k := range m.shown {
		if _, ok := counts[k]; !ok {
			m.findings.DeleteLabelValues(k[0], k[1])
		}
	}
	m.shown = make(map[[2]string]bool, len(counts))
	for k := range counts {
		m.shown[k] = true
	}
	m.runs.Inc()
	m.duration.Observe(end.Sub(start).Seconds())
	m.lastRun.Set(float64(end.UnixNano()) / 1e9)
}
