// Package faults attacks bulkhead (the CLI and the controller, as the built
// binary) with a control plane that misbehaves and with second copies of
// itself: etcd frozen, the API server killed, API Priority and Fairness
// throttling bulkhead's user, the controller SIGKILLed, two applies racing
// on one tenant. After each, the cluster must hold exactly what `bulkhead
// render` prints for the spec that won (nothing more, nothing left over),
// and the output must say what was left undone.
//
// The tests share one local control plane and run one after the other
// (faults on a shared cluster are undone before the test ends: the API
// server is started again, etcd resumed), each with tenant names of its own.
package faults

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	cluster    *localcluster.Cluster
	bulkhead   string // path of the built binary
	kubeconfig string // admin kubeconfig
	root       string // repository root
	client     kubernetes.Interface
	tenants    client.Client // Tenant objects
}

var (
	e2e        env
	skipReason string // why the cluster tests are skipped (BULKHEAD_SKIP_E2E=1 outside CI)
)

func TestMain(m *testing.M) { os.Exit(localcluster.RunTests(m, "faults", setup, &skipReason)) }

// need skips a test when the control-plane binaries are missing outside CI.
func need(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// setup builds bulkhead next to the cluster's files (removed with them),
// makes the clients and installs the CRDs.
func setup(ctx context.Context, cluster *localcluster.Cluster) error {
	root, err := localcluster.RepoRoot()
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		return fmt.Errorf("kubectl is needed on PATH: %w", err)
	}
	bin := filepath.Join(filepath.Dir(cluster.KubeconfigPath()), "bulkhead")
	if err := localcluster.BuildBulkhead(ctx, bin); err != nil {
		return err
	}
	cfg := cluster.RESTConfig()
	cfg.QPS, cfg.Burst = 200, 400
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	tenants, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	e2e = env{cluster: cluster, bulkhead: bin, kubeconfig: cluster.KubeconfigPath(), root: root, client: clientset, tenants: tenants}
	for _, args := range [][]string{
		{"apply", "--server-side", "-f", "config/crd/bases"},
		{"wait", "--for", "condition=Established", "--timeout", "60s", "crd/tenants.bulkhead.dev", "crd/tenantdefaults.bulkhead.dev"},
	} {
		if r := start(nil, e2e.kubeconfig, "kubectl", args...).wait(); r.code != 0 {
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
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, tail(r.stdout), tail(r.stderr))
}

// tail keeps failure messages readable: 500 tenants print thousands of lines.
func tail(s string) string {
	const max = 6000
	if len(s) > max {
		return "...\n" + s[len(s)-max:]
	}
	return s
}

// proc is a command running in the background.
type proc struct {
	stdout, stderr *syncBuffer
	done           chan struct{}
	result         result
}

// start starts a command as the holder of kubeconfig; t, when given, kills
// it if the test ends first.
func start(t *testing.T, kubeconfig, name string, args ...string) *proc {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "NO_COLOR=1")
	cmd.Dir = e2e.root
	p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		p.result = result{stderr: err.Error(), code: -1}
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		defer cancel()
		err := cmd.Wait()
		p.result = result{stdout: p.stdout.String(), stderr: p.stderr.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			p.result.code = ee.ExitCode()
		} else if err != nil {
			p.result.code = -1
			p.result.stderr += "\n(test: " + err.Error() + ")"
		}
	}()
	if t != nil {
		t.Cleanup(func() {
			cancel()
			<-p.done
		})
	}
	return p
}

func (p *proc) wait() result {
	<-p.done
	return p.result
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// bulkhead starts the binary as the admin.
func bulkhead(t *testing.T, args ...string) *proc {
	t.Helper()
	return start(t, e2e.kubeconfig, e2e.bulkhead, args...)
}

// kubectl runs the real kubectl as the admin and waits for it.
func kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return start(t, e2e.kubeconfig, "kubectl", args...).wait()
}

// must fails the test unless the command exited with code.
func must(t *testing.T, r result, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
	return r
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	interval := 100 * time.Millisecond
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %s; last seen: %s", what, timeout, state)
		}
		time.Sleep(interval)
		if interval < 2*time.Second {
			interval += interval / 2
		}
	}
}

// writeFile writes a file into the test's directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
