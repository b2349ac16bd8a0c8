package transient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"

	"golang.org/x/net/http2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// IsTransient reports whether the request that failed with err may well
// succeed if sent again a moment later.
//
// It cannot tell the caller's context ending from any other cancellation, so
// an error that carries context.Canceled or context.DeadlineExceeded itself
// is never transient; an HTTP client or dial timeout, which only matches
// context.DeadlineExceeded, is. A *ServerAwayError is not transient either:
// it is what is left once retrying has already run out of time.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var away *ServerAwayError
	if errors.As(err, &away) {
		return false
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return transientAnswer(err, status.Status())
	}
	if inChain(err, func(e error) bool { return e == context.Canceled || e == context.DeadlineExceeded }) {
		return false
	}
	return brokenConnection(err)
}

// transientAnswer: the server (or a proxy in front of it) answered, and said
// it could not serve the request right now.
func transientAnswer(err error, s metav1.Status) bool {
	switch s.Code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err)
}

// brokenConnection: no answer, because the connection could not be made or
// broke before the response was complete.
func brokenConnection(err error) bool {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
			syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH:
			return true
		}
	}
	var goAway http2.GoAwayError
	if errors.As(err, &goAway) {
		return true
	}
	var stream http2.StreamError
	if errors.As(err, &stream) && stream.Code == http2.ErrCodeRefusedStream {
		return true // the server did not start on it
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		utilnet.IsProbableEOF(err) || utilnet.IsHTTP2ConnectionLost(err) ||
		utilnet.IsTimeout(err) { // i/o, dial, TLS handshake and client timeouts
		return true
	}
	// net/http and x/net/http2 return these as unexported errors.New values.
	msg := err.Error()
	for _, m := range []string{
		"http: server closed idle connection",
		"http2: client conn is closed",
		"http2: client conn not usable",
		"http2: Transport received Server's graceful shutdown GOAWAY",
		"http2: client connection force closed",
	} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// inChain reports whether match holds for err or anything it wraps. Unlike
// errors.Is it compares values, not what their Is methods claim.
func inChain(err error, match func(error) bool) bool {
	for err != nil {
		if match(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if inChain(e, match) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}
