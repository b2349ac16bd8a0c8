// Package controller_test runs `bulkhead controller` as a process against a
// real local control plane (etcd, kube-apiserver, kube-controller-manager)
// and drives it the way a platform engineer would: kubectl apply, edit and
// delete of Tenant objects, hand-made drift, a killed replica, two replicas
// electing a leader. What the controller makes is compared with what
// `bulkhead render` prints for the same spec.
//
// The tests share one cluster and run one after the other: each starts its
// own controller process (free metrics and probe ports, its log in a file
// printed when the test fails) and stops it when it ends, and each uses
// tenant names of its own. Tenants a test leaves behind are reconciled by
// the next test's controller too, which is what a controller does.
package controller_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

// env is the shared cluster, its clients and the built binary.
type env struct {
	bulkhead   string // path of the built binary
	kubeconfig string // admin kubeconfig
	root       string // repository root
	client     kubernetes.Interface
	tenants    client.Client // reads Tenant objects and their status
	tmp        string
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
			fmt.Fprintln(os.Stderr, "skipping controller e2e tests (BULKHEAD_SKIP_E2E=1):", err)
			return 0
		}
		fmt.Fprintf(os.Stderr, "controller e2e: %v\nrun hack/build-control-plane.sh (or make test) first\n", err)
		return 1
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		fmt.Fprintln(os.Stderr, "controller e2e: kubectl is needed on PATH:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "bulkhead-controller-e2e-")
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

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cluster, err := localcluster.Start(ctx, localcluster.Options{DataDir: filepath.Join(tmp, "cluster"), Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start local control plane:", err)
		return 1
	}
	defer cluster.Stop()
	cfg := cluster.RESTConfig()
	cfg.QPS, cfg.Burst = 100, 200
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tenants, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e2e = env{bulkhead: bin, kubeconfig: cluster.KubeconfigPath(), root: root, client: clientset, tenants: tenants, tmp: tmp}
	if err := installCRDs(); err != nil {
		fmt.Fprintln(os.Stderr, "controller e2e:", err)
		return 1
	}
	return m.Run()
}

// installCRDs applies config/crd/bases the way the docs say and waits
// until the API server serves the kinds.
func installCRDs() error {
	for _, args := range [][]string{
		{"apply", "--server-side", "-f", "config/crd/bases"},
		{"wait", "--for", "condition=Established", "--timeout", "60s",
			"crd/tenants.bulkhead.dev", "crd/tenantdefaults.bulkhead.dev"},
	} {
		r := run0("kubectl", args...)
		if r.code != 0 {
			return fmt.Errorf("kubectl %s: %s", strings.Join(args, " "), r)
		}
	}
	return nil
}

// result is what a command printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// bulkhead runs the binary as the admin.
func bulkhead(t *testing.T, args ...string) result {
	t.Helper()
	return command(t, e2e.bulkhead, args...)
}

// kubectl runs the real kubectl as the admin.
func kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return command(t, "kubectl", args...)
}

func command(t *testing.T, name string, args ...string) result {
	t.Helper()
	r := run0(name, args...)
	if r.code < 0 {
		t.Fatalf("run %s %v: %s", name, args, r.stderr)
	}
	return r
}

// run0 runs a command against the shared cluster from the repository root;
// code -1 means it could not run.
func run0(name string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e2e.kubeconfig, "NO_COLOR=1")
	cmd.Dir = e2e.root
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			return result{stderr: err.Error(), code: -1}
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

// writeFile writes a spec file into the test's directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
