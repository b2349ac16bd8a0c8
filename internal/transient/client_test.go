package transient

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// These tests put client-go between the Retrier and a server, so the errors
// are the ones a real run sees.

func clientFor(t *testing.T, host string) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: host, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// namespaceServer answers GET namespace requests with a Namespace, or with
// a 503 Status while unavailable says so.
func namespaceServer(t *testing.T, unavailable func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		var body any = &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: "a"},
		}
		if unavailable() {
			w.WriteHeader(http.StatusServiceUnavailable)
			body = &metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
				Status: metav1.StatusFailure, Code: http.StatusServiceUnavailable,
				Reason: metav1.StatusReasonServiceUnavailable, Message: "the server is starting"}
		}
		if err := json.NewEncoder(w).Encode(body); err != nil {
			t.Error(err)
		}
	})
}

func TestClientRetriesUnavailableServer(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(namespaceServer(t, func() bool { return requests.Add(1) <= 3 }))
	t.Cleanup(srv.Close)
	cs := clientFor(t, srv.URL)

	r := New(quick())
	var ns *corev1.Namespace
	err := r.Do(t.Context(), "get namespace/a", func(ctx context.Context) (err error) {
		ns, err = cs.CoreV1().Namespaces().Get(ctx, "a", metav1.GetOptions{})
		return err
	})
	if err != nil || ns.Name != "a" {
		t.Fatalf("Do = %v (namespace %v), want namespace a", err, ns)
	}
	if n := requests.Load(); n != 4 {
		t.Errorf("server saw %d requests, want 3 turned away and 1 answered", n)
	}
	if got := r.Stats().Retries; got != 3 {
		t.Errorf("%d retries, want 3", got)
	}
}

// TestClientRetriesAcrossARestart closes the server and opens it again on
// the same port, the way an API server restart looks to a client.
func TestClientRetriesAcrossARestart(t *testing.T) {
	alwaysUp := func() bool { return false }
	srv := httptest.NewServer(namespaceServer(t, alwaysUp))
	addr := srv.Listener.Addr().String()
	cs := clientFor(t, srv.URL)
	get := func(ctx context.Context) error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "a", metav1.GetOptions{})
		return err
	}
	if err := get(t.Context()); err != nil {
		t.Fatalf("before the restart: %v", err)
	}
	srv.Close()

	var restarted *httptest.Server
	var lastErr error
	p := quick()
	p.OnRetry = func(_ string, err error, _ time.Duration) {
		lastErr = err
		if restarted != nil {
			return
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("listen on %s again: %v", addr, err)
			return
		}
		restarted = httptest.NewUnstartedServer(namespaceServer(t, alwaysUp))
		restarted.Listener.Close()
		restarted.Listener = l
		restarted.Start()
	}
	r := New(p)
	if err := r.Do(t.Context(), "get namespace/a", get); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if restarted == nil {
		t.Fatal("the request succeeded without a retry")
	}
	t.Cleanup(restarted.Close)
	if !errors.Is(lastErr, syscall.ECONNREFUSED) {
		t.Errorf("while the server was down: %v, want connection refused", lastErr)
	}
}

func TestClientTripsWhenNothingListens(t *testing.T) {
	cs := clientFor(t, "http://"+closedAddr(t))
	r := New(Policy{Budget: 200 * time.Millisecond, Initial: time.Millisecond, Max: 20 * time.Millisecond})
	err := r.Do(t.Context(), "get namespace/a", func(ctx context.Context) error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "a", metav1.GetOptions{})
		return err
	})
	var away *ServerAwayError
	if !errors.As(err, &away) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Do = %v, want a *ServerAwayError for connection refused", err)
	}
}
