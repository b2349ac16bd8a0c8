// Package auditloop runs bulkhead's isolation audit (internal/audit)
// continuously inside the controller, over the manager's informer cache:
// every RBAC-relevant change triggers a run once changes have been quiet
// for a moment (debounced), and each run turns the findings into one
// AuditStatus per Tenant object, Prometheus metrics, and an Event on a
// Tenant when a critical finding involving it appears.
//
// The pipeline of one run is: the cache's lists (audit.Lists) → Snapshot →
// audit.RunWith(FindingsOnly) → statuses by tenant → diff with the last run
// → OnChange, Events, metrics. The Loop writes nothing to the API server:
// the controller writes the statuses it is handed.
package auditloop

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// Defaults of Options.
const (
	DefaultDebounce = 2 * time.Second
	// DefaultMaxDelay bounds how long a stream of changes that is never
	// quiet can hold a run back.
	DefaultMaxDelay = 30 * time.Second
)

// ReasonCriticalFinding is the reason of the Event raised on a Tenant when a
// critical finding involving it appears.
const ReasonCriticalFinding = "CriticalFinding"

// Options configure a Loop. The zero value works: no Events, no metrics.
type Options struct {
	// Debounce is the quiet time after the last change before a run; 0 = 2s.
	Debounce time.Duration
	// MaxDelay is the longest a run waits after the first pending change,
	// however busy the cluster; 0 = 30s. A failed run is retried after it.
	MaxDelay time.Duration
	// Recorder receives Events on Tenant objects (reason CriticalFinding);
	// nil: none.
	Recorder record.EventRecorder
	// Registry is where the metrics are registered (controller-runtime's
	// metrics.Registry in the controller); nil: not registered.
	Registry prometheus.Registerer
	// OnChange is called after a run with the names of the Tenant objects
	// whose AuditStatus changed (the run's time aside); it must not block
	// for long.
	OnChange func(tenants []string)
	// Now stamps AuditStatus.Time; nil: Clock.Now.
	Now func() time.Time
	// Clock times the debounce; nil: the real clock.
	Clock clock.WithTicker
	// Discovery, when set, is asked before each run which resources exist,
	// so that "*" in a rule covers the cluster's CRDs too (as `bulkhead
	// audit` does); nil: Kubernetes' built-in resources.
	Discovery discovery.ServerResourcesInterface
}

// Loop is the continuous audit: a manager.Runnable that audits the cache
// after changes and keeps the latest AuditStatus of every Tenant object.
type Loop struct {
	reader client.Reader
	opts   Options
	m      *metrics

	wake chan struct{} // a Trigger happened (coalesced)

	mu       sync.Mutex
	dirty    bool                             // a change the last run did not see
	statuses map[string]*v1alpha1.AuditStatus // Tenant object name -> latest
	critical map[string]map[string]bool       // Tenant object name -> its critical findings' keys
}

// New returns a Loop reading from reader, the manager's cache (configured
// with CacheByObject).
func New(reader client.Reader, opts Options) *Loop {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Now == nil {
		opts.Now = opts.Clock.Now
	}
	return &Loop{
		reader:   reader,
		opts:     opts,
		m:        newMetrics(),
		wake:     make(chan struct{}, 1),
		statuses: map[string]*v1alpha1.AuditStatus{},
		critical: map[string]map[string]bool{},
	}
}

// Trigger says that something RBAC-relevant changed. It never blocks; a
// burst of triggers makes one run.
func (l *Loop) Trigger() {
	l.mu.Lock()
	l.dirty = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// NeedLeaderElection is true: only the leader audits, Events and metrics
// come from one replica.
func (l *Loop) NeedLeaderElection() bool { return true }

// Start runs audits until ctx is done; the manager calls it once its
// caches have synced. The first run follows the first quiet period.
func (l *Loop) Start(ctx context.Context) error {
	if err := l.m.register(l.opts.Registry); err != nil {
		return err
	}
	log := logf.FromContext(ctx).WithName("auditloop")
	l.Trigger()
	var (
		timer   clock.Timer
		pending time.Time // when the oldest change not yet audited arrived
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var fire <-chan time.Time
		if timer != nil {
			fire = timer.C()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-l.wake:
			if !l.isDirty() {
				continue // the change was seen by the run that just ended
			}
			now := l.opts.Clock.Now()
			if timer == nil {
				pending = now
			} else {
				timer.Stop()
			}
			wait := min(l.opts.Debounce, pending.Add(l.opts.MaxDelay).Sub(now))
			timer = l.opts.Clock.NewTimer(max(wait, 0))
		case <-fire:
			timer = nil
			l.mu.Lock()
			l.dirty = false // changes from now on need another run
			l.mu.Unlock()
			if err := l.run(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				log.Error(err, "continuous audit failed; retrying", "after", l.opts.MaxDelay)
				l.mu.Lock()
				l.dirty = true
				l.mu.Unlock()
				pending = l.opts.Clock.Now()
				timer = l.opts.Clock.NewTimer(l.opts.MaxDelay)
			}
		}
	}
}

func (l *Loop) isDirty() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dirty
}

// Status returns the latest AuditStatus of the Tenant object named tenant
// (a copy), false before the first run that saw it. Time is the latest
// run's, even when OnChange did not report the tenant.
func (l *Loop) Status(tenant string) (*v1alpha1.AuditStatus, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.statuses[tenant]
	if !ok {
		return nil, false
	}
	return s.DeepCopy(), true
}
