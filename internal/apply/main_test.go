package apply

import (
	"context"
	"net/http"
	"os"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

// The cluster tests of this package share one local control plane (etcd,
// kube-apiserver, kube-controller-manager), started once by TestMain; each
// test uses its own tenant names. The unit tests need none of it.
var (
	// testClient is the admin client of the shared cluster; nil when the
	// cluster was skipped (BULKHEAD_SKIP_E2E=1 outside CI).
	testClient kubernetes.Interface
	// skipReason says why testClient is nil.
	skipReason string
	// writes counts the requests through testClient that may change
	// something (every method but GET and HEAD).
	writes atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(localcluster.RunTests(m, "apply", func(_ context.Context, c *localcluster.Cluster) error {
		cfg := rest.CopyConfig(c.RESTConfig())
		cfg.QPS, cfg.Burst = 500, 1000
		cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countWrites{rt} })
		client, err := kubernetes.NewForConfig(cfg)
		testClient = client
		return err
	}, &skipReason))
}

// countWrites counts the requests that are not reads.
type countWrites struct{ next http.RoundTripper }

func (c countWrites) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		writes.Add(1)
	}
	return c.next.RoundTrip(req)
}

// needCluster skips a test when the cluster was skipped, and returns the
// client of the shared cluster.
func needCluster(t *testing.T) kubernetes.Interface {
	t.Helper()
	if testClient == nil {
		t.Skip(skipReason)
	}
	return testClient
}
