package verify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

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
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if mayskip, err := localcluster.TestBinaries(); err != nil {
		if mayskip {
			skipReason = fmt.Sprintf("BULKHEAD_SKIP_E2E=1: %v", err)
			return m.Run()
		}
		fmt.Fprintf(os.Stderr, "verify: %v\nrun hack/build-control-plane.sh (or make test) first; outside CI, BULKHEAD_SKIP_E2E=1 skips the cluster tests\n", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "bulkhead-verify-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, err := localcluster.Start(ctx, localcluster.Options{DataDir: filepath.Join(tmp, "cluster"), Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start local control plane:", err)
		return 1
	}
	defer cluster.Stop()
	cfg := rest.CopyConfig(cluster.RESTConfig())
	cfg.QPS, cfg.Burst = 500, 1000
	testConfig = cfg
	return m.Run()
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
