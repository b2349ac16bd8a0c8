package localcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// M is what a TestMain hands RunTests: *testing.M.
type M interface{ Run() int }

// RunTests is a package's TestMain body for tests that share one local
// control plane: it checks the binaries (skipping the cluster tests with
// BULKHEAD_SKIP_E2E=1 outside CI, failing otherwise), starts the cluster in
// a temporary directory, calls setup with it (setup == nil when the cluster
// tests are skipped: then skip says why), runs the tests and stops the
// cluster. It returns the exit code for os.Exit.
func RunTests(m M, pkg string, setup func(ctx context.Context, c *Cluster) error, skip *string) int {
	if mayskip, err := TestBinaries(); err != nil {
		if mayskip {
			*skip = fmt.Sprintf("BULKHEAD_SKIP_E2E=1: %v", err)
			return m.Run()
		}
		fmt.Fprintf(os.Stderr, "%s: %v\nrun hack/build-control-plane.sh (or make test) first; outside CI, BULKHEAD_SKIP_E2E=1 skips the cluster tests\n", pkg, err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "bulkhead-"+pkg+"-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cluster, err := Start(ctx, Options{DataDir: filepath.Join(tmp, "cluster"), Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start local control plane:", err)
		return 1
	}
	defer cluster.Stop()
	if err := setup(ctx, cluster); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", pkg, err)
		return 1
	}
	return m.Run()
}

// BuildBulkhead builds the bulkhead binary of this repository at out, for
// the tests that run it as a user would. GOFLAGS (-race under make test)
// reaches the build through the environment; env entries are added to it
// ("GOFLAGS=" builds without them).
func BuildBulkhead(ctx context.Context, out string, env ...string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	build.Dir = root
	build.Env = append(os.Environ(), env...)
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build bulkhead %s: %w\n%s", strings.Join(env, " "), err, b)
	}
	return nil
}
