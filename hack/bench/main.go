// Command bench measures how long `bulkhead apply` takes to provision N
// tenants on a real API server, and how that compares with the alternatives
// a platform team has.
//
//	go run ./hack/bench [-tenants 1000] [-o table|json] [-skip-kubectl] [-keep]
//	make bench BENCH_FLAGS='-tenants 100'
//
// In one run, on a fresh local control plane it starts itself (etcd,
// kube-apiserver, kube-controller-manager from .cache/bin, in a temp dir,
// stopped at the end), it times:
//
//  1. fresh: bin/bulkhead apply -f spec-bh (N tenants, 7-9 objects each);
//  2. no-op: the same again, which must report 0 created, 0 configured;
//  3. "server capacity": plain creates of the same objects (third name set)
//     with client-go, 32 workers, QPS 1000, protobuf, no reads: the server's
//     throughput with the least client work;
//  4. fresh: kubectl apply --server-side --field-manager=bench -f objs.yaml,
//     objs.yaml being the per-tenant part of bulkhead render -f spec-kc;
//  5. no-op: the same kubectl command again.
//
// The spec has a TenantDefaults document with every guardrail (GPU quota,
// limits, baseline Pod Security, isolated network). Each tool gets its own
// tenant names (bh-0001…, kc-0001…, sc-0001…), so no run finds another's
// objects. Before each timed run the program waits until the controllers
// have caught up with the previous one (default ServiceAccounts, quota
// status), so no run pays for another's backlog. Every render also holds
// two cluster-wide objects (the rolebinding admission policy and its
// binding); bulkhead's fresh run creates them, the other runs leave them
// out, so they do 2 objects fewer.
//
// Why ratios: the machine is 2 shared cores, and the API server, etcd and
// the client under test share them with each other and with whatever else
// runs on the box, so absolute seconds move with the load (the report
// records the load average). kubectl and bulkhead run against the same
// server in the same run, so kubectl/bulkhead cancels much of that noise,
// and bulkhead's fresh rate against plain creates says how much of its time
// is the server's and how much is bulkhead's own overhead.
//
// The targets (fresh ≤ 20 s and ≥ 5× kubectl, no-op ≤ 3 s, at 1000
// tenants) are printed as met / not met for information. The exit code is
// non-zero only when a command failed (nothing is printed then) or a run did
// not do what it should: the fresh apply not creating every object, or the
// no-op writing anything. Those are listed as problems after the figures,
// which are still printed, and in the JSON.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

type options struct {
	tenants     int
	output      string
	skipKubectl bool
	keep        bool
	bulkhead    string
	kubectl     string
}

var began = time.Now()

// logf prints progress on stderr with the time since start.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %6s  %s\n", time.Since(began).Round(time.Second), fmt.Sprintf(format, args...))
}

func main() {
	var o options
	flag.IntVar(&o.tenants, "tenants", 1000, "tenants per tool run")
	flag.StringVar(&o.output, "o", "table", "output: table or json (on stdout; progress goes to stderr)")
	flag.BoolVar(&o.skipKubectl, "skip-kubectl", false, "skip the kubectl runs (minutes at 1000 tenants)")
	flag.BoolVar(&o.keep, "keep", false, "leave the control plane and temp dir for inspection; prints the KUBECONFIG export line")
	flag.StringVar(&o.bulkhead, "bulkhead", "bin/bulkhead", "bulkhead binary (make build)")
	flag.StringVar(&o.kubectl, "kubectl", "kubectl", "kubectl binary")
	flag.Parse()
	if flag.NArg() > 0 || o.tenants < 1 || (o.output != "table" && o.output != "json") {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: FAILED: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, stdout io.Writer) (err error) {
	bin, err := filepath.Abs(o.bulkhead)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: %w (run make build)", bin, err)
	}
	if !o.skipKubectl {
		if o.kubectl, err = exec.LookPath(o.kubectl); err != nil {
			return fmt.Errorf("%w (or pass -skip-kubectl)", err)
		}
	}
	dir, err := os.MkdirTemp("", "bulkhead-bench-")
	if err != nil {
		return err
	}
	defer func() {
		if !o.keep {
			os.RemoveAll(dir)
		}
	}()
	path := func(name string) string { return filepath.Join(dir, name) }
	rep := &Report{Tenants: o.tenants, CPUs: runtime.NumCPU(), LoadStart: loadavg()}
	logf("%d tenants per run, work dir %s, load average %s", o.tenants, dir, rep.LoadStart)

	// Specs and renders need no cluster: do them before it starts.
	if rep.SpecForm, err = specForm(ctx, bin, dir); err != nil {
		return err
	}
	if rep.SpecForm != formDefaults {
		logf("NOTE: %s rejects TenantDefaults; writing the guardrails into every Tenant instead (same objects)", o.bulkhead)
	}
	for _, prefix := range []string{"bh", "kc", "sc"} {
		if err := writeSpec(path("spec-"+prefix+".yaml"), prefix, o.tenants, rep.SpecForm); err != nil {
			return err
		}
	}
	rendered, err := timed(ctx, "render", path("render-kc.yaml"), bin, "render", "-f", path("spec-kc.yaml"))
	if err != nil {
		return err
	}
	kcAll, err := readObjects(path("render-kc.yaml"))
	if err != nil {
		return err
	}
	// kubectl gets the per-tenant objects only: the two cluster-wide ones
	// exist by then (bulkhead's run created them), and re-applying them
	// under another field manager is a conflict, not a measurement.
	kcObjs, err := writeObjects(path("objs.yaml"), kcAll)
	if err != nil {
		return err
	}
	if _, err := timed(ctx, "render", path("capacity.yaml"), bin, "render", "-f", path("spec-sc.yaml")); err != nil {
		return err
	}
	scObjs, err := readObjects(path("capacity.yaml"))
	if err != nil {
		return err
	}
	render := newRun(rendered.dur.Seconds(), len(kcAll))
	rep.Render = &render
	logf("rendered %d objects in %s; %d per-tenant ones for kubectl", len(kcAll), rendered.dur.Round(time.Millisecond), kcObjs)

	logf("starting a local control plane")
	cluster, err := localcluster.Start(ctx, localcluster.Options{DataDir: path("cluster"), Detach: o.keep, Log: os.Stderr})
	if err != nil {
		return err
	}
	kubeconfig := cluster.KubeconfigPath()
	defer func() {
		if o.keep {
			fmt.Fprintf(os.Stderr, "\ncontrol plane left running; use it with:\n  export KUBECONFIG=%s\n", kubeconfig)
			fmt.Fprintf(os.Stderr, "stop it with:\n  go run ./hack/cluster down --data-dir %s && rm -rf %s\n", path("cluster"), dir)
			return
		}
		logf("stopping the control plane")
		err = errors.Join(err, cluster.Stop())
	}()

	// Before each timed run: let the controllers finish the previous one's work.
	restConfig := cluster.RESTConfig()

	// 1, 2: bulkhead, fresh and no-op.
	bh := func(label string) (Run, error) {
		if err := settle(ctx, restConfig); err != nil {
			return Run{}, err
		}
		logf("%s: bulkhead apply -f spec-bh.yaml", label)
		res, err := timed(ctx, label, path(label+".out"), bin, "--kubeconfig", kubeconfig, "apply", "-f", path("spec-bh.yaml"))
		if err != nil {
			return Run{}, err
		}
		sum, err := parseSummary(res.stderr)
		if err != nil {
			return Run{}, fmt.Errorf("%s: %w", label, err)
		}
		logf("%s: %.2f s wall; bulkhead says: %s", label, res.dur.Seconds(), sum.Line)
		r := newRun(res.dur.Seconds(), sum.Objects)
		r.Summary = sum
		r.MaxRSSMiB = float64(res.maxRSS) / (1 << 20)
		return r, nil
	}
	if rep.BulkheadFresh, err = bh("bulkhead-fresh"); err != nil {
		return err
	}
	s := rep.BulkheadFresh.Summary
	if s.Created != s.Objects || s.Failed != 0 {
		rep.problem("fresh bulkhead apply on an empty cluster did not create every object: %s", s.Line)
	}
	if s.Objects != len(kcAll) {
		rep.problem("bulkhead applied %d objects but renders %d from the same number of tenants: the runs do not compare", s.Objects, len(kcAll))
	}
	rep.Objects = s.Objects
	rep.ObjectsPerTenant = float64(s.Objects) / float64(o.tenants)
	if rep.BulkheadNoop, err = bh("bulkhead-noop"); err != nil {
		return err
	}
	if s := rep.BulkheadNoop.Summary; s.Created != 0 || s.Configured != 0 || s.Failed != 0 {
		rep.problem("re-applying an unchanged spec wrote to the cluster (want 0 created, 0 configured, 0 failed): %s; e.g. %s",
			s.Line, strings.Join(changed(path("bulkhead-noop.out"), 5), "; "))
	}

	// 3: the server's own throughput for plain creates of the same shape.
	if err := settle(ctx, restConfig); err != nil {
		return err
	}
	logf("server capacity: creating %d objects with client-go (%d workers, QPS %d, protobuf)", len(scObjs), capacityWorkers, capacityQPS)
	d, n, err := serverCapacity(ctx, restConfig, scObjs)
	if err != nil {
		return fmt.Errorf("server capacity: %w", err)
	}
	capacity := newRun(d.Seconds(), n)
	rep.Capacity = &capacity
	logf("server capacity: %d objects in %.2f s (%.0f/s)", n, d.Seconds(), capacity.ObjectsPerSecond)

	// 4, 5: kubectl on the rendered objects, fresh and no-op.
	if o.skipKubectl {
		logf("skipping kubectl (-skip-kubectl)")
	} else {
		kc := func(label string) (*Run, error) {
			if err := settle(ctx, restConfig); err != nil {
				return nil, err
			}
			logf("%s: kubectl apply --server-side --field-manager=bench -f objs.yaml (%d objects)", label, kcObjs)
			res, err := timed(ctx, label, path(label+".out"), o.kubectl, "--kubeconfig", kubeconfig,
				"--cache-dir", path("kube-cache"), "apply", "--server-side", "--field-manager=bench", "-f", path("objs.yaml"))
			if err != nil {
				return nil, err
			}
			logf("%s: %.2f s wall, %d lines of output", label, res.dur.Seconds(), res.lines)
			r := newRun(res.dur.Seconds(), kcObjs)
			return &r, nil
		}
		if rep.KubectlFresh, err = kc("kubectl-fresh"); err != nil {
			return err
		}
		if rep.KubectlNoop, err = kc("kubectl-noop"); err != nil {
			return err
		}
	}

	rep.LoadEnd = loadavg()
	rep.finish()
	if o.output == "json" {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeTable(stdout)
	}
	if err == nil && len(rep.Problems) > 0 {
		err = fmt.Errorf("%d problem(s), listed with the figures (PROBLEM)", len(rep.Problems))
	}
	return err
}

// changed returns up to n lines of a bulkhead apply output that are not
// "unchanged", i.e. what a no-op run wrote.
func changed(outPath string, n int) []string {
	data, err := os.ReadFile(outPath)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !strings.HasSuffix(l, " unchanged") && len(out) < n {
			out = append(out, l)
		}
	}
	return out
}
