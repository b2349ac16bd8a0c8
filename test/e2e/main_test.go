// Package e2e runs the bulkhead binary and real kubectl against a real local
// control plane (etcd, kube-apiserver, kube-controller-manager), the way a
// platform engineer and a researcher would.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

// env is the shared cluster and binary; tests use distinct tenant names so
// they can share one control plane (starting one takes seconds).
type env struct {
	bulkhead   string // path of the built binary
	verbose    string // the binary for runs at -v 9: see run
	kubeconfig string // admin kubeconfig
	client     kubernetes.Interface
	root       string // repository root
}

var e2e env

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := localcluster.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if mayskip, err := localcluster.TestBinaries(); err != nil {
		if mayskip {
			fmt.Fprintln(os.Stderr, "skipping e2e tests (BULKHEAD_SKIP_E2E=1):", err)
			return 0
		}
		fmt.Fprintf(os.Stderr, "e2e: %v\nrun hack/build-control-plane.sh (or make test) first\n", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "bulkhead-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	bin := filepath.Join(tmp, "bulkhead")
	if err := localcluster.BuildBulkhead(context.Background(), bin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// At -v 9 client-go's debuggingRoundTripper logs TLS handshake timings
	// that an HTTP trace callback of a dial still in flight may be writing
	// (k8s.io/client-go v0.34 transport/round_trippers.go reads
	// reqInfo.TLSHandshake outside its muTrace): client-go's own race, in a
	// log line. Under the race detector, the runs at -v 9 use a binary built
	// without it; every other run's binary is race-built.
	verbose := bin
	if raceEnabled {
		verbose = bin + "-norace"
		if err := localcluster.BuildBulkhead(context.Background(), verbose, "GOFLAGS="+withoutRace(os.Getenv("GOFLAGS"))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, err := localcluster.Start(ctx, localcluster.Options{DataDir: filepath.Join(tmp, "cluster"), Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start local control plane:", err)
		return 1
	}
	defer cluster.Stop()
	client, err := kubernetes.NewForConfig(cluster.RESTConfig())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e2e = env{bulkhead: bin, verbose: verbose, kubeconfig: cluster.KubeconfigPath(), client: client, root: root}
	return m.Run()
}

// withoutRace is goflags less -race.
func withoutRace(goflags string) string {
	var keep []string
	for _, f := range strings.Fields(goflags) {
		if f != "-race" {
			keep = append(keep, f)
		}
	}
	return strings.Join(keep, " ")
}

// result is what a command printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// bulkhead runs the binary as the admin, with stdin when given.
func bulkhead(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return command(t, stdin, e2e.bulkhead, args...)
}

// kubectl runs the real kubectl.
func kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return command(t, "", "kubectl", args...)
}

func command(t *testing.T, stdin, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e2e.kubeconfig, "NO_COLOR=1")
	cmd.Dir = e2e.root
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %s %v: %v", name, args, err)
		}
		r.code = ee.ExitCode()
	}
	return r
}

// must fails the test unless the command exited with code.
func must(t *testing.T, r result, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
	return r
}

// tenantsYAML is a builder for specs: default tenants, one per name.
func tenantsYAML(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "---\napiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: %s\n", n)
	}
	return b.String()
}

func errAs(err error, target any) bool { return errors.As(err, target) }
