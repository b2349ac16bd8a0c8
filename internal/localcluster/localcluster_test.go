package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// requireBinaries fails (or, only outside CI and when asked, skips) when the
// control-plane binaries have not been built: a silently skipped e2e test
// looks exactly like a passing one.
func requireBinaries(t *testing.T) {
	t.Helper()
	mayskip, err := TestBinaries()
	switch {
	case err == nil:
	case mayskip:
		t.Skipf("BULKHEAD_SKIP_E2E=1: %v", err)
	default:
		t.Fatalf("%v (outside CI, BULKHEAD_SKIP_E2E=1 skips this test)", err)
	}
}

// testLog forwards Start's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestCluster(t *testing.T) {
	requireBinaries(t)
	ctx := t.Context()
	began := time.Now()
	c, err := Start(ctx, Options{DataDir: t.TempDir(), Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("start-to-ready: %s", time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() { _ = c.Stop() })

	if !strings.HasPrefix(c.Server(), "https://127.0.0.1:") {
		t.Errorf("Server() = %q, want https://127.0.0.1:PORT", c.Server())
	}
	// Go through the kubeconfig file too: it is what `make demo` hands out.
	fromFile, err := clientcmd.BuildConfigFromFlags("", c.KubeconfigPath())
	if err != nil {
		t.Fatalf("load %s: %v", c.KubeconfigPath(), err)
	}
	kcs := kubernetes.NewForConfigOrDie(fromFile)
	ns, err := kcs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bulkhead-e2e"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace via kubeconfig: %v", err)
	}

	cs := kubernetes.NewForConfigOrDie(c.RESTConfig())
	tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for default/default: %v", err)
	}
	if tr.Status.Token == "" {
		t.Fatal("TokenRequest returned an empty token")
	}
	// The apiserver must accept what it signed: proves the SA key pair and
	// issuer flags fit together.
	review, err := cs.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: tr.Status.Token},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenReview: %v", err)
	}
	if want := "system:serviceaccount:default:default"; !review.Status.Authenticated || review.Status.User.Username != want {
		t.Errorf("TokenReview: authenticated=%v user=%q error=%q, want %s",
			review.Status.Authenticated, review.Status.User.Username, review.Status.Error, want)
	}

	// The serviceaccount controller creates "default" in the new namespace;
	// the token controller then fills legacy token Secrets.
	waitFor(t, ctx, "ServiceAccount bulkhead-e2e/default", func() error {
		_, err := cs.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "legacy-token",
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"},
		},
		Type: corev1.SecretTypeServiceAccountToken,
	}
	if _, err := cs.CoreV1().Secrets(ns.Name).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create legacy token secret: %v", err)
	}
	waitFor(t, ctx, "legacy token secret to be filled", func() error {
		s, err := cs.CoreV1().Secrets(ns.Name).Get(ctx, secret.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(s.Data[corev1.ServiceAccountTokenKey]) == 0 || len(s.Data[corev1.ServiceAccountRootCAKey]) == 0 {
			return errors.New("data.token or data.ca.crt still empty")
		}
		return nil
	})

	pids := c.pids()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	assertGone(t, pids)
}

func TestDetached(t *testing.T) {
	requireBinaries(t)
	ctx := t.Context()
	dir := t.TempDir()
	c, err := Start(ctx, Options{DataDir: dir, Detach: true, Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = StopDetached(dir) })
	pids := c.pids()

	if err := Running(ctx, dir); err != nil {
		t.Fatalf("Running after Start: %v", err)
	}
	if _, err := Start(ctx, Options{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Errorf("second Start on a live data dir: err = %v, want a 'still running' error", err)
	}
	if err := StopDetached(dir); err != nil {
		t.Fatalf("StopDetached: %v", err)
	}
	// StopDetached cannot reap children of this process; our Wait goroutines
	// do, so give them a moment before asserting.
	waitFor(t, ctx, "processes to be reaped", func() error {
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				return errors.New("still there")
			}
		}
		return nil
	})
	assertGone(t, pids)
	if _, err := os.Stat(filepath.Join(dir, "pids")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pids file still present after StopDetached (stat err %v)", err)
	}
	if err := Running(ctx, dir); err == nil {
		t.Error("Running after StopDetached returned nil")
	}
	if err := StopDetached(dir); err != nil {
		t.Errorf("second StopDetached: %v", err)
	}
}

// TestEarlyExit needs no real binaries: stand-ins that fail must make Start
// report the failing binary with the end of its log, and port clashes must
// be retried.
func TestEarlyExit(t *testing.T) {
	for _, tc := range []struct {
		name, output string
		want         []string
	}{
		{"crash", "boom: unknown flag --frobnicate", []string{"etcd exited early", "boom: unknown flag --frobnicate", "etcd.log"}},
		{"port", "listen tcp 127.0.0.1:1234: bind: address already in use", []string{errPortTaken.Error(), "address already in use"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			binDir := t.TempDir()
			script := "#!/bin/sh\necho '" + tc.output + "' >&2\nexit 3\n"
			for _, b := range binaryNames() {
				if err := os.WriteFile(filepath.Join(binDir, b), []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			_, err := Start(ctx, Options{BinDir: binDir, DataDir: t.TempDir()})
			if err == nil {
				t.Fatal("Start succeeded with failing binaries")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s: %v", what, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func assertGone(t *testing.T, pids []int) {
	t.Helper()
	if len(pids) != len(binaryNames()) {
		t.Errorf("cluster had %d processes, want %d", len(pids), len(binaryNames()))
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after stop (kill -0: %v)", pid, err)
		}
	}
}

func TestRestartAPIServer(t *testing.T) {
	requireBinaries(t)
	ctx := t.Context()
	c, err := Start(ctx, Options{DataDir: t.TempDir(), Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	cs := kubernetes.NewForConfigOrDie(c.RESTConfig())
	before, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "before-restart"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	oldPid := c.pids()[1]

	if err := c.RestartAPIServer(ctx, time.Second); err != nil {
		t.Fatalf("RestartAPIServer: %v", err)
	}
	// The same client works: same port, same certificates, same data.
	got, err := cs.CoreV1().Namespaces().Get(ctx, before.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("namespace created before the restart: %v", err)
	}
	if got.UID != before.UID {
		t.Errorf("namespace UID %s after the restart, want %s", got.UID, before.UID)
	}
	if newPid := c.pids()[1]; newPid == oldPid {
		t.Errorf("kube-apiserver pid %d unchanged: not restarted", newPid)
	}
	// The controller manager reconnected: it still fills new namespaces.
	after, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "after-restart"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "ServiceAccount after-restart/default", func() error {
		_, err := cs.CoreV1().ServiceAccounts(after.Name).Get(ctx, "default", metav1.GetOptions{})
		return err
	})

	if err := c.KillAPIServer(); err != nil {
		t.Fatalf("KillAPIServer: %v", err)
	}
	if err := c.KillAPIServer(); err != nil {
		t.Errorf("KillAPIServer when already stopped: %v", err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, before.Name, metav1.GetOptions{}); !syscallErr(err, syscall.ECONNREFUSED) {
		t.Errorf("GET while the API server is stopped: %v, want connection refused", err)
	}
	if err := c.exitedEarly(); err != nil {
		t.Errorf("a stopped API server counts as a crash: %v", err)
	}
	if err := c.StartAPIServer(ctx); err != nil {
		t.Fatalf("StartAPIServer: %v", err)
	}
	running := c.pids()[1]
	if err := c.StartAPIServer(ctx); err != nil || c.pids()[1] != running {
		t.Errorf("StartAPIServer on a running API server: %v, pid %d, want nothing done (pid %d)", err, c.pids()[1], running)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, before.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("GET after StartAPIServer: %v", err)
	}

	pids := c.pids()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	assertGone(t, pids)
	if err := c.StartAPIServer(ctx); !errors.Is(err, errStopped) {
		t.Errorf("StartAPIServer after Stop: %v, want %v", err, errStopped)
	}
}

func TestPauseEtcd(t *testing.T) {
	requireBinaries(t)
	ctx := t.Context()
	c, err := Start(ctx, Options{DataDir: t.TempDir(), Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	etcd := c.pids()[0]

	if err := c.PauseEtcd(); err != nil {
		t.Fatalf("PauseEtcd: %v", err)
	}
	if s := procState(t, etcd); s != 'T' {
		t.Errorf("etcd state %q after PauseEtcd, want T (stopped)", s)
	}
	if err := c.ResumeEtcd(); err != nil {
		t.Fatalf("ResumeEtcd: %v", err)
	}
	if s := procState(t, etcd); s == 'T' {
		t.Errorf("etcd still stopped after ResumeEtcd")
	}
	cs := kubernetes.NewForConfigOrDie(c.RESTConfig())
	waitFor(t, ctx, "a write after ResumeEtcd", func() error {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "after-pause"}}, metav1.CreateOptions{})
		return err
	})

	// Stop must not hang on a paused etcd.
	if err := c.PauseEtcd(); err != nil {
		t.Fatal(err)
	}
	pids := c.pids()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop with etcd paused: %v", err)
	}
	assertGone(t, pids)
}

func syscallErr(err error, want syscall.Errno) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && errno == want
}

// procState is the state letter of /proc/PID/stat (R, S, T, Z, ...).
func procState(t *testing.T, pid int) byte {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 || i+2 >= len(stat) {
		t.Fatalf("unexpected /proc/%d/stat: %q", pid, stat)
	}
	return stat[i+2]
}
