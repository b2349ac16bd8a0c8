package install

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"

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
	os.Exit(localcluster.RunTests(m, "install", func(_ context.Context, c *localcluster.Cluster) error {
		testCluster = c
		return nil
	}, &skipReason))
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
