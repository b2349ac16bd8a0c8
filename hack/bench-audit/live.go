package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/internal/audit"
	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

// processRun is one run of a command: its wall time, peak RSS and output.
type processRun struct {
	wall  time.Duration
	rss   float64 // MiB, the child's ru_maxrss
	bytes int64   // stdout
}

// measureLive loads the whole synthetic world into a fresh local API server
// and runs bulkhead audit as a user does, one process reading the cluster:
// -o json and -o html. The baseline, in the same run against the same
// server, is kubectl reading the same kinds (what a script would do before
// it can audit anything).
func measureLive(ctx context.Context, o options, world *audit.Snapshot) error {
	dir, err := os.MkdirTemp("", "bench-audit-live-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	bin := filepath.Join(dir, "bulkhead")
	logf("building bulkhead")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w: %s", err, out)
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return fmt.Errorf("kubectl is needed for the baseline: %w", err)
	}
	logf("starting a local control plane for the live world")
	data := filepath.Join(dir, "cluster")
	cluster, err := localcluster.Start(ctx, localcluster.Options{DataDir: data, Log: os.Stderr, Detach: o.keep})
	if err != nil {
		return err
	}
	if o.keep {
		defer logf("the live world keeps running: export KUBECONFIG=%s; stop it with go run ./hack/cluster down --data-dir %s", cluster.KubeconfigPath(), data)
	} else {
		defer cluster.Stop()
	}
	cfg := cluster.RESTConfig()
	cfg.QPS, cfg.Burst = 2000, 4000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	n, err := load(ctx, client, world, len(world.Namespaces), o.concurrency)
	if err != nil {
		return err
	}
	logf("loaded %d objects (%d namespaces) in %s", n, len(world.Namespaces), time.Since(start).Round(time.Second))
	kc := cluster.KubeconfigPath()
	kinds := "namespaces,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings"
	baseline, err := median(ctx, o.runs, kubectl, "--kubeconfig", kc, "get", kinds, "-A", "-o", "json")
	if err != nil {
		return err
	}
	fmt.Printf("live world: kubectl get %s -A -o json (baseline): %s wall, peak RSS %.0f MiB, %.0f MB\n",
		kinds, ms(baseline.wall), baseline.rss, float64(baseline.bytes)/1e6)
	for _, format := range []string{"json", "html"} {
		r, err := median(ctx, o.runs, bin, "audit", "--kubeconfig", kc, "-o", format)
		if err != nil {
			return err
		}
		fmt.Printf("live world: bulkhead audit -o %s, one process reading the API server: %s wall (%.2f× kubectl get), peak RSS %.0f MiB, %.1f MB\n",
			format, ms(r.wall), float64(r.wall)/float64(baseline.wall), r.rss, float64(r.bytes)/1e6)
	}
	return nil
}

// median runs the command n times and returns the run of median wall time
// with the highest peak RSS seen. bulkhead audit exits 1 when it has
// findings: any exit code below 2 counts as a run.
func median(ctx context.Context, n int, name string, args ...string) (processRun, error) {
	var runs []processRun
	maxRSS := 0.0
	for range max(n, 1) {
		var out bytes.Buffer
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Stdout, cmd.Stderr = &out, &stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return processRun{}, err
		}
		rss := watchHWM(cmd.Process.Pid)
		err := cmd.Wait()
		wall := time.Since(start)
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() >= 2) {
			return processRun{}, fmt.Errorf("%s %v: %w: %s", filepath.Base(name), args, err, stderr.Bytes())
		}
		maxRSS = max(maxRSS, rss)
		runs = append(runs, processRun{wall: wall, rss: rss, bytes: int64(out.Len())})
	}
	slices.SortFunc(runs, func(a, b processRun) int { return int(a.wall - b.wall) })
	m := runs[len(runs)/2]
	m.rss = maxRSS
	return m, nil
}

// watchHWM samples the peak RSS (VmHWM, MiB) of a running child every 5 ms
// until it exits. ru_maxrss cannot be used: a child started from this large
// process inherits its high-water mark through the shared address space of
// the vfork that precedes exec.
func watchHWM(pid int) float64 {
	path := fmt.Sprintf("/proc/%d/status", pid)
	peak := 0.0
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			return peak
		}
		found := false
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				var kb float64
				fmt.Sscanf(strings.TrimSpace(rest), "%f", &kb)
				peak, found = max(peak, kb/1024), true
			}
		}
		if !found { // a zombie: it has exited
			return peak
		}
		time.Sleep(5 * time.Millisecond)
	}
}
