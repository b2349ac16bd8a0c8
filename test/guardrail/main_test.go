// Package guardrail races forbidden RoleBindings against the first apply of
// a team with an admin, each test on a control plane of its own: the race
// needs a cluster where bulkhead's admission policy does not exist yet.
package guardrail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

var (
	// bulkheadBin is the built binary; "" when the cluster tests are skipped.
	bulkheadBin string
	// skipReason says why the cluster tests are skipped.
	skipReason string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if mayskip, err := localcluster.TestBinaries(); err != nil {
		if mayskip {
			skipReason = fmt.Sprintf("BULKHEAD_SKIP_E2E=1: %v", err)
			return m.Run()
		}
		fmt.Fprintf(os.Stderr, "guardrail: %v\nrun hack/build-control-plane.sh (or make test) first\n", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "bulkhead-guardrail-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	bulkheadBin = filepath.Join(tmp, "bulkhead")
	if err := localcluster.BuildBulkhead(context.Background(), bulkheadBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// freshCluster starts a control plane for one test and stops it when the
// test ends. Tests of this package do not run in parallel: one cluster at a
// time.
func freshCluster(t *testing.T) *localcluster.Cluster {
	t.Helper()
	if bulkheadBin == "" {
		t.Skip(skipReason)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{DataDir: filepath.Join(t.TempDir(), "cluster"), Log: os.Stderr})
	if err != nil {
		t.Fatalf("start local control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop local control plane: %v", err)
		}
	})
	return c
}
