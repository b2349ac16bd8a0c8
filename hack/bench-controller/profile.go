package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
)

// profileSeconds is how long the CPU profiles of provisioning run: the
// creates and most of the way to all Ready at 1,000 tenants.
const profileSeconds = "30"

// profile starts, when dir is set, CPU profiles of the controller and of
// kube-apiserver (its /debug/pprof, as the admin) and returns a function
// that waits for them and writes controller.pprof and kube-apiserver.pprof
// to dir (go tool pprof -top FILE reads them).
func profile(ctx context.Context, dir string, p *controllerProc, cs kubernetes.Interface) func() error {
	if dir == "" {
		return func() error { return nil }
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return func() error { return err }
	}
	done := make(chan error, 2)
	go func() {
		done <- func() error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.pprof+"profile?seconds="+profileSeconds, nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("profile the controller: %w", err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				return fmt.Errorf("profile the controller: %s %v", resp.Status, err)
			}
			return os.WriteFile(filepath.Join(dir, "controller.pprof"), b, 0o644)
		}()
	}()
	go func() {
		done <- func() error {
			b, err := cs.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", profileSeconds).DoRaw(ctx)
			if err != nil {
				return fmt.Errorf("profile kube-apiserver: %w", err)
			}
			return os.WriteFile(filepath.Join(dir, "kube-apiserver.pprof"), b, 0o644)
		}()
	}()
	logf("profiling the controller and kube-apiserver for %s s into %s", profileSeconds, dir)
	return func() error { return errors.Join(<-done, <-done) }
}
