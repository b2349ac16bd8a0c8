package verify

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
)

// counter records the requests of a client.
type counter struct {
	mu       sync.Mutex
	requests []string // "METHOD path"
	tokens   int      // TokenRequests and impersonated requests
}

func (c *counter) wrap(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			c.mu.Lock()
			c.requests = append(c.requests, req.Method+" "+req.URL.Path)
			if strings.HasSuffix(req.URL.Path, "/token") || req.Header.Get("Impersonate-User") != "" || req.Header.Get("Impersonate-Group") != "" {
				c.tokens++
			}
			c.mu.Unlock()
			return rt.RoundTrip(req)
		})
	})
	return cfg
}

// reviews counts the SubjectAccessReviews created, and fails t on any
// other write.
func (c *counter) reviews(t *testing.T) int {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.requests {
		method, path, _ := strings.Cut(r, " ")
		switch {
		case method == http.MethodPost && path == "/apis/authorization.k8s.io/v1/subjectaccessreviews":
			n++
		case method != http.MethodGet:
			t.Errorf("Review made request %s: it may write nothing but SubjectAccessReviews", r)
		}
	}
	if c.tokens > 0 {
		t.Errorf("Review requested tokens or impersonated %d times", c.tokens)
	}
	return n
}

func (c *counter) reads() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.requests {
		if strings.HasPrefix(r, http.MethodGet+" ") {
			out = append(out, r)
		}
	}
	return out
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
