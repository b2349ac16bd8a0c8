package transient

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// quick keeps waits short; the budget is generous so that a slow machine
// does not trip where a test expects a success.
func quick() Policy {
	return Policy{Budget: 2 * time.Second, Initial: time.Millisecond, Max: 10 * time.Millisecond}
}

// failing returns a fn that fails with errs in turn, then succeeds, and a
// counter of its calls.
func failing(errs ...error) (func(context.Context) error, *int) {
	calls := 0
	var mu sync.Mutex
	return func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= len(errs) {
			return errs[calls-1]
		}
		return nil
	}, &calls
}

func refused() error {
	return &url.Error{Op: "Patch", URL: "https://127.0.0.1:6443/api/v1/namespaces/a",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
}

func down(context.Context) error { return refused() }

func TestDoRetriesTransientFailures(t *testing.T) {
	r := New(quick())
	fn, calls := failing(apierrors.NewServiceUnavailable("starting"), refused(), apierrors.NewTooManyRequests("busy", 0))
	if err := r.Do(t.Context(), "patch namespace/a", fn); err != nil {
		t.Fatalf("Do = %v, want success on the 4th attempt", err)
	}
	if *calls != 4 {
		t.Errorf("fn called %d times, want 4", *calls)
	}
	if got, want := r.Stats(), (Stats{Retries: 3, Outages: 1}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if r.Away() != nil {
		t.Errorf("tripped after a success: %v", r.Away())
	}
}

func TestDoReturnsLastingErrorsAsIs(t *testing.T) {
	for _, want := range []error{
		apierrors.NewConflict(namespaces, "a", errors.New("modified")),
		apierrors.NewForbidden(namespaces, "a", errors.New("denied")),
		apierrors.NewNotFound(namespaces, "a"),
		context.Canceled,
	} {
		r := New(quick())
		fn, calls := failing(want)
		if err := r.Do(t.Context(), "patch namespace/a", fn); err != want {
			t.Errorf("Do = %v, want %v itself", err, want)
		}
		if *calls != 1 || r.Stats().Retries != 0 {
			t.Errorf("%v: fn called %d times, %d retries; want no retry", want, *calls, r.Stats().Retries)
		}
	}
}

func TestDoTripsWhenTheServerStaysAway(t *testing.T) {
	r := New(Policy{Budget: 200 * time.Millisecond, Initial: time.Millisecond, Max: 20 * time.Millisecond})
	err := r.Do(t.Context(), "patch namespace/a", down)
	var away *ServerAwayError
	if !errors.As(err, &away) {
		t.Fatalf("Do = %v, want a *ServerAwayError", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.HasPrefix(err.Error(), "the API server did not answer for ") ||
		!strings.HasSuffix(err.Error(), "connection refused") {
		t.Errorf("error %q does not say how long the server was away and why", err)
	}
	if away.For < 200*time.Millisecond || away.Since.IsZero() {
		t.Errorf("away for %s since %s, want at least the budget", away.For, away.Since)
	}
	if IsTransient(err) {
		t.Error("a ServerAwayError is transient: callers would retry what was already retried")
	}

	// Every later request fails at once, without being sent.
	fn, calls := failing()
	if err := r.Do(t.Context(), "patch namespace/b", fn); err != away {
		t.Errorf("Do after tripping = %v, want the same *ServerAwayError", err)
	}
	if *calls != 0 {
		t.Errorf("fn called %d times after tripping, want 0", *calls)
	}
	if r.Away() != away {
		t.Errorf("Away() = %v, want %v", r.Away(), away)
	}
}

// TestConcurrentRequestsShareTheOutage: requests that fail during one outage
// give up together, on the clock of the first failure, with one error.
func TestConcurrentRequestsShareTheOutage(t *testing.T) {
	retried := make(chan struct{}, 1)
	p := Policy{Budget: 300 * time.Millisecond, Initial: time.Millisecond, Max: 20 * time.Millisecond,
		OnRetry: func(string, error, time.Duration) {
			select {
			case retried <- struct{}{}:
			default:
			}
		}}
	r := New(p)
	first := make(chan error, 1)
	go func() { first <- r.Do(t.Context(), "first", down) }()
	<-retried // the outage has begun

	lateStart := time.Now()
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = r.Do(t.Context(), "later", down) })
	}
	wg.Wait()
	errs = append(errs, <-first)

	away := r.Away()
	if away == nil {
		t.Fatal("not tripped")
	}
	for i, err := range errs {
		if err != away {
			t.Errorf("request %d: %v, want the shared *ServerAwayError", i, err)
		}
	}
	if !away.Since.Before(lateStart) {
		t.Errorf("outage counted from %s, after the later requests started (%s): each got its own budget", away.Since, lateStart)
	}
	if n := r.Stats().Outages; n != 1 {
		t.Errorf("%d outages, want 1", n)
	}
}

func TestAnswersEndTheOutage(t *testing.T) {
	r := New(quick())
	fn, _ := failing(refused(), refused())
	if err := r.Do(t.Context(), "a", fn); err != nil {
		t.Fatal(err)
	}
	// A 404 is an answer too: the server is there.
	notFound := apierrors.NewNotFound(namespaces, "b")
	fn, _ = failing(refused(), notFound)
	if err := r.Do(t.Context(), "b", fn); err != notFound {
		t.Fatalf("Do = %v, want %v", err, notFound)
	}
	fn, _ = failing(refused())
	if err := r.Do(t.Context(), "c", fn); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Stats(), (Stats{Retries: 4, Outages: 3}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestDoStopsWithTheCallersContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p := quick()
	p.OnRetry = func(string, error, time.Duration) { cancel() }
	r := New(p)
	err := r.Do(ctx, "a", down)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Do = %v, want context.Canceled", err)
	}
	if r.Away() != nil {
		t.Errorf("the caller giving up tripped the Retrier: %v", r.Away())
	}
}

// TestOneFailingRequestGivesUpAlone: a request whose every attempt fails
// while the server answers others stops on its own, with its own error,
// and does not stop the others.
func TestOneFailingRequestGivesUpAlone(t *testing.T) {
	r := New(Policy{Budget: 100 * time.Millisecond, Initial: time.Millisecond, Max: 10 * time.Millisecond})
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			_ = r.Do(ctx, "healthy", func(context.Context) error { return nil })
			time.Sleep(time.Millisecond)
		}
	})
	err := r.Do(t.Context(), "broken", func(context.Context) error {
		return apierrors.NewInternalError(errors.New("failed calling webhook"))
	})
	stop()
	wg.Wait()
	var away *ServerAwayError
	if errors.As(err, &away) || !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "still failing after") {
		t.Errorf("Do = %v, want the request's own 500, saying it was retried", err)
	}
	if r.Away() != nil {
		t.Errorf("one failing request tripped the Retrier: %v", r.Away())
	}
}

func TestNilRetrierTriesOnce(t *testing.T) {
	var r *Retrier
	fn, calls := failing(refused())
	if err := r.Do(t.Context(), "a", fn); err == nil || *calls != 1 {
		t.Errorf("Do = %v after %d calls, want the first failure", err, *calls)
	}
	if r.Stats() != (Stats{}) || r.Away() != nil {
		t.Error("a nil Retrier has state")
	}
}
