package auditloop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"k8s.io/client-go/rest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

// The cluster tests of this package share one local control plane (etcd,
// kube-apiserver, kube-controller-manager), started once by TestMain. The
// unit tests need none of it.
var (
	// testConfig is the admin config of the shared cluster; nil when the
	// cluster was skipped (BULKHEAD_SKIP_E2E=1 outside CI).
	testConfig *rest.Config
	// skipReason says why testConfig is nil.
	skipReason string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// controller-runtime logs through one process-wide logger; the tests
	// print what the manager and the Loop say to stderr.
	logf.SetLogger(funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{}))
	if mayskip, err := localcluster.TestBinaries(); err != nil {
		if mayskip {
			skipReason = fmt.Sprintf("BULKHEAD_SKIP_E2E=1: %v", err)
			return m.Run()
		}
		fmt.Fprintf(os.Stderr, "auditloop: %v\nrun hack/build-control-plane.sh (or make test) first; outside CI, BULKHEAD_SKIP_E2E=1 skips the cluster tests\n", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "bulkhead-auditloop-test-")
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
	testConfig = cluster.RESTConfig()
	testConfig.QPS, testConfig.Burst = 500, 1000
	return m.Run()
}

// needCluster skips a test when the cluster was skipped, and returns the
// shared cluster's admin config.
func needCluster(t *testing.T) *rest.Config {
	t.Helper()
	if testConfig == nil {
		t.Skip(skipReason)
	}
	return rest.CopyConfig(testConfig)
}
