package verify

import (
	"context"
	"os"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

// The cluster tests of this package share one local control plane (etcd,
// kube-apiserver, kube-controller-manager), started once by TestMain; each
// test uses its own tenant names. The unit tests need none of it.
var (
	// testConfig is the admin configuration of the shared cluster; nil when
	// the cluster was skipped (BULKHEAD_SKIP_E2E=1 outside CI).
	testConfig *rest.Config
	// skipReason says why testConfig is nil.
	skipReason string
)

func TestMain(m *testing.M) {
	os.Exit(localcluster.RunTests(m, "verify", func(_ context.Context, c *localcluster.Cluster) error {
		cfg := rest.CopyConfig(c.RESTConfig())
		cfg.QPS, cfg.Burst = 500, 1000
		testConfig = cfg
		return nil
	}, &skipReason))
}

// needCluster skips a test when the cluster was skipped, and returns the
// admin configuration and client of the shared cluster.
func needCluster(t *testing.T) (*rest.Config, kubernetes.Interface) {
	t.Helper()
	if testConfig == nil {
		t.Skip(skipReason)
	}
	c, err := kubernetes.NewForConfig(testConfig)
	if err != nil {
		t.Fatal(err)
	}
	return testConfig, c
}
