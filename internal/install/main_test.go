package install

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

// The cluster tests of this package share one local control plane, started
// once by TestMain. TestInstall owns its history: it starts from a cluster
// where nothing of bulkhead exists.
var (
	// testCluster is nil when the cluster tests are skipped
	// (BULKHEAD_SKIP_E2E=1 outside CI); skipReason says why.
	testCluster *localcluster.Cluster
	skipReason  string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if mayskip, err := localcluster.TestBinaries(); err != nil {
		if mayskip {
			skipReason = fmt.Sprintf("BULKHEAD_SKIP_E2E=1: %v", err)
			return m.Run()
		}
		fmt.Fprintf(os.Stderr, "install: %v\nrun hack/build-control-plane.sh (or make test) first; outside CI, BULKHEAD_SKIP_E2E=1 skips the cluster tests\n", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "bulkhead-install-test-")
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
	testCluster = cluster
	return m.Run()
}

// needCluster skips a test when the cluster was skipped, and returns the
// shared cluster's admin configuration.
func needCluster(t *testing.T) *rest.Config {
	t.Helper()
	if testCluster == nil {
		t.Skip(skipReason)
	}
	cfg := testCluster.RESTConfig()
	cfg.QPS, cfg.Burst = 200, 400
	return cfg
}

// kubectl runs kubectl with stdin and returns its stdout. kubectl (with
// kustomize) is part of the test environment: in CI a missing one fails.
func kubectl(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		if _, ci := os.LookupEnv("CI"); ci {
			t.Fatalf("kubectl is not on the PATH: %v", err)
		}
		t.Skipf("kubectl is not on the PATH: %v", err)
	}
	cmd := exec.Command(path, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl %v: %v\n%s", args, err, stderr.String())
	}
	return out
}
