package transient

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Defaults of Policy's fields.
const (
	DefaultBudget  = 30 * time.Second
	DefaultInitial = 200 * time.Millisecond
	DefaultMax     = 5 * time.Second
)

// jitter spreads out the retries of requests that failed together, so the
// server is not hit by all of them at once when it comes back.
const jitter = 0.5

// Policy bounds how long and how often requests repeat transient failures.
// Zero fields take the defaults.
type Policy struct {
	// Budget is how long the API server may stay away before requests give
	// up, counted from the first failure of an outage, whichever request
	// saw it. A request that keeps failing while the server answers others
	// gives up on its own after twice the budget.
	Budget time.Duration
	// Initial is the first wait; each further wait doubles, up to Max.
	Initial time.Duration
	Max     time.Duration
	// OnRetry, when set, is called before each wait with the request's
	// description, its failure and the wait; from the failing request's
	// goroutine, so possibly concurrently.
	OnRetry func(what string, err error, wait time.Duration)
}

func (p Policy) withDefaults() Policy {
	if p.Budget <= 0 {
		p.Budget = DefaultBudget
	}
	if p.Initial <= 0 {
		p.Initial = DefaultInitial
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	return p
}

// ServerAwayError is what every request of a tripped Retrier returns: the
// API server gave no usable answer to anyone for the whole budget.
type ServerAwayError struct {
	// Last is the last transient failure, which usually says why
	// ("connection refused", "503 Service Unavailable", ...).
	Last error
	// Since is when the server stopped answering.
	Since time.Time
	// For is how long it had been away when the Retrier gave up.
	For time.Duration
}

func (e *ServerAwayError) Error() string {
	return fmt.Sprintf("the API server did not answer for %s: %v", roundDuration(e.For), e.Last)
}

func (e *ServerAwayError) Unwrap() error { return e.Last }

// Stats count what a Retrier did, for logs and summaries.
type Stats struct {
	// Retries counts attempts beyond each request's first.
	Retries int
	// Outages counts the times the server stopped answering: first
	// transient failures after an answer (or at the start).
	Outages int
}

// Retrier repeats transient failures for all the requests of one run. It
// is safe for concurrent use. Once tripped it stays tripped: use a new one
// for the next run. A nil *Retrier calls fn once and never retries.
type Retrier struct {
	policy  Policy
	tripped chan struct{} // closed when away is set

	mu         sync.Mutex
	lastAnswer time.Time // when the server last answered a request
	outage     time.Time // start of the current outage; zero while the server answers
	away       *ServerAwayError
	stats      Stats
}

// New returns a Retrier following p.
func New(p Policy) *Retrier {
	return &Retrier{policy: p.withDefaults(), tripped: make(chan struct{})}
}

// Do calls fn until it succeeds, fails with an error that is not transient
// (returned as is), or retrying stops: then it returns a *ServerAwayError
// when the server has been away for the budget, the last failure wrapped
// when only this request kept failing, or an error wrapping ctx's when ctx
// ended. what describes the request for Policy.OnRetry.
func (r *Retrier) Do(ctx context.Context, what string, fn func(context.Context) error) error {
	if r == nil {
		return fn(ctx)
	}
	backoff := wait.Backoff{Duration: r.policy.Initial, Factor: 2, Jitter: jitter, Steps: math.MaxInt32, Cap: r.policy.Max}
	var firstFailure time.Time // when this request saw its first failure
	for {
		if away := r.awayError(); away != nil {
			return away
		}
		started := time.Now()
		err := fn(ctx)
		if err == nil || answered(err) {
			r.answered(time.Now())
			return err
		}
		if ctx.Err() != nil || !IsTransient(err) {
			return err
		}
		now := time.Now()
		if firstFailure.IsZero() {
			firstFailure = now
		}
		delay, stop := r.failed(started, now, firstFailure, err, &backoff)
		if stop != nil {
			return stop
		}
		if r.policy.OnRetry != nil {
			r.policy.OnRetry(what, err, delay)
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("stopped retrying: %w (last error: %v)", context.Cause(ctx), err)
		case <-r.tripped:
			timer.Stop()
			return r.awayError()
		case <-timer.C:
		}
		r.retrying()
	}
}

// Stats returns the counts so far.
func (r *Retrier) Stats() Stats {
	if r == nil {
		return Stats{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Away returns the error every request gets once the Retrier has tripped,
// or nil.
func (r *Retrier) Away() *ServerAwayError {
	if r == nil {
		return nil
	}
	return r.awayError()
}

func (r *Retrier) awayError() *ServerAwayError {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.away
}

// answered: an error that is an API answer but not a transient one (404,
// 409, 422, ...) proves the server is there as much as a success does.
func answered(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status) && !IsTransient(err)
}

func (r *Retrier) answered(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at.After(r.lastAnswer) {
		r.lastAnswer = at
	}
	r.outage = time.Time{}
}

// failed records a transient failure of an attempt sent at started and seen
// at now, and returns how long to wait before the next attempt, or the
// error to stop with.
func (r *Retrier) failed(started, now, firstFailure time.Time, err error, backoff *wait.Backoff) (time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.away != nil {
		return 0, r.away
	}
	// The server has been away since this attempt was sent, unless it
	// answered another request in the meantime.
	since := started
	if since.Before(r.lastAnswer) {
		since = r.lastAnswer
	}
	if r.outage.IsZero() {
		r.outage = since
		r.stats.Outages++
	} else if since.Before(r.outage) {
		r.outage = since
	}
	budget := r.policy.Budget
	if away := now.Sub(r.outage); away >= budget {
		r.away = &ServerAwayError{Last: err, Since: r.outage, For: away}
		close(r.tripped)
		return 0, r.away
	}
	alone := firstFailure.Add(2 * budget)
	if !now.Before(alone) {
		return 0, fmt.Errorf("still failing after %s of retries: %w", roundDuration(now.Sub(firstFailure)), err)
	}
	delay := backoff.Step()
	if s, ok := apierrors.SuggestsClientDelay(err); ok && time.Duration(s)*time.Second > delay {
		delay = time.Duration(s) * time.Second
	}
	// Try once more at the deadline rather than give up early.
	deadline := r.outage.Add(budget)
	if alone.Before(deadline) {
		deadline = alone
	}
	if left := deadline.Sub(now); delay > left {
		delay = left
	}
	return delay, nil
}

func (r *Retrier) retrying() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Retries++
}

// roundDuration keeps messages readable: "30s", "2.5s", "150ms".
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}
