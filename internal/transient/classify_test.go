package transient

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var namespaces = schema.GroupResource{Resource: "namespaces"}

func TestIsTransient(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},

		// Answers saying "not now".
		{"429", apierrors.NewTooManyRequests("slow down", 1), true},
		{"503", apierrors.NewServiceUnavailable("starting"), true},
		{"500 internal error", apierrors.NewInternalError(errors.New("etcdserver: request timed out")), true},
		{"500 without a reason", statusError(http.StatusInternalServerError, "", "etcdserver: request timed out"), true},
		{"500 server timeout", apierrors.NewServerTimeout(namespaces, "patch", 1), true},
		{"504 timeout", apierrors.NewTimeoutError("request did not complete within 60s", 0), true},
		{"502 from a proxy", apierrors.NewGenericServerResponse(http.StatusBadGateway, "PATCH", namespaces, "a", "<html>", 0, true), true},
		{"503 from a proxy", apierrors.NewGenericServerResponse(http.StatusServiceUnavailable, "GET", namespaces, "a", "", 0, true), true},
		{"wrapped 503", fmt.Errorf("apply namespace/a: %w", apierrors.NewServiceUnavailable("x")), true},

		// Answers that will not change.
		{"409 conflict", apierrors.NewConflict(namespaces, "a", errors.New("the object has been modified")), false},
		{"403 forbidden", apierrors.NewForbidden(namespaces, "a", errors.New("RBAC: denied")), false},
		{"404 not found", apierrors.NewNotFound(namespaces, "a"), false},
		{"409 already exists", apierrors.NewAlreadyExists(namespaces, "a"), false},
		{"422 invalid", apierrors.NewInvalid(schema.GroupKind{Kind: "Namespace"}, "A", field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), "A", "must be lowercase")}), false},
		{"400 bad request", apierrors.NewBadRequest("no"), false},
		{"401 unauthorized", apierrors.NewUnauthorized("expired"), false},
		{"405", apierrors.NewMethodNotSupported(namespaces, "patch"), false},
		{"501", statusError(http.StatusNotImplemented, "", "not implemented"), false},

		// No answer.
		{"connection refused", &url.Error{Op: "Patch", URL: "https://127.0.0.1:6443/api/v1/namespaces/a",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, true},
		{"connection reset", &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/api",
			Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}, true},
		{"broken pipe", &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}, true},
		{"EOF", &url.Error{Op: "Patch", URL: "https://127.0.0.1:6443/api", Err: io.EOF}, true},
		{"unexpected EOF", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), true},
		{"GOAWAY", &url.Error{Op: "Get", URL: "https://x", Err: http2.GoAwayError{LastStreamID: 7, ErrCode: http2.ErrCodeNo}}, true},
		{"refused stream", http2.StreamError{StreamID: 9, Code: http2.ErrCodeRefusedStream}, true},
		{"http2 connection lost", &url.Error{Op: "Get", URL: "https://x", Err: errors.New("http2: client connection lost")}, true},
		{"idle connection closed", &url.Error{Op: "Get", URL: "https://x", Err: errors.New("http: server closed idle connection")}, true},

		// Not worth repeating.
		{"caller canceled", context.Canceled, false},
		{"caller deadline", context.DeadlineExceeded, false},
		{"caller canceled mid request", &url.Error{Op: "Patch", URL: "https://x", Err: context.Canceled}, false},
		{"unknown authority", &url.Error{Op: "Get", URL: "https://x", Err: x509.UnknownAuthorityError{}}, false},
		{"plain error", errors.New("encode namespace/a: unsupported type"), false},
		{"already retried", &ServerAwayError{Last: apierrors.NewServiceUnavailable("x"), For: time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsTransient(tc.err); got != tc.want {
				t.Errorf("IsTransient(%#v) = %v, want %v (%v)", tc.err, got, tc.want, tc.err)
			}
		})
	}
}

// TestIsTransientOnTheWire classifies errors the way net/http makes them.
func TestIsTransientOnTheWire(t *testing.T) {
	silent := silentListener(t) // accepts, never says a word
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hanging.Close)
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()

	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"dial to a closed port", get(t.Context(), &http.Client{}, "http://"+closedAddr(t)), true},
		{"read deadline", readTimeout(t, silent), true},
		{"TLS handshake timeout", get(t.Context(), &http.Client{Transport: &http.Transport{TLSHandshakeTimeout: time.Millisecond}}, "https://"+silent), true},
		{"client timeout", get(t.Context(), &http.Client{Timeout: time.Millisecond}, hanging.URL), true},
		{"caller's context canceled", get(canceled, &http.Client{}, hanging.URL), false},
		{"caller's deadline passed", get(expired, &http.Client{}, hanging.URL), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("the request did not fail")
			}
			t.Logf("%T: %v", tc.err, tc.err)
			if got := IsTransient(tc.err); got != tc.want {
				t.Errorf("IsTransient(%q) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func statusError(code int32, reason metav1.StatusReason, msg string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg}}
}

func get(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentListener accepts connections and holds them open without writing.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return l.Addr().String()
}

func readTimeout(t *testing.T, addr string) error {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, err = c.Read(make([]byte, 1))
	return err
}
