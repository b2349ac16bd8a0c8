// Command bench-controller measures `bulkhead controller` against
// `bulkhead apply` on the same tenants, and what the controller costs once
// they are in place.
//
//	go run ./hack/bench-controller [-tenants 1000] [-steady 2m] [-o table|json] [-keep]
//	make bench-controller BENCH_CONTROLLER_FLAGS='-tenants 100 -steady 30s'
//
// One spec file (hack/bench's: a TenantDefaults with every guardrail and N
// Tenants naming it) is provisioned twice, each time on a fresh local
// control plane the program starts and stops itself (etcd, kube-apiserver,
// kube-controller-manager from .cache/bin), one after the other:
//
//  1. baseline: bin/bulkhead apply -f spec.yaml, wall time;
//  2. controller: on the second control plane the CRDs (as bulkhead install
//     applies them), then bin/bulkhead controller as a process with default
//     flags (metrics and probes on free loopback ports); once its caches
//     are synced and one throwaway TenantDefaults was written (the first
//     write after installing CRDs costs ~2 s once; see warmUp), the spec
//     file's objects are created with client-go (16 workers), and a LIST
//     of Tenants every -poll says when all are first Ready=True and
//     Verified=True, counted from the first create;
//  3. drift repair: 20 managed RoleBindings deleted one at a time, each
//     after the previous one was put back; the time from the delete call
//     to the recreated object's ADDED event on a watch;
//  4. steady state: once the controller's queues are idle and the control
//     plane's controllers have caught up, -steady of nothing changing: the
//     controller's API requests from its own client-go metric
//     rest_client_requests_total (scraped before and after; scraping makes
//     no API request), split into reads (GET: get, list, watch) and writes
//     (every other method), its CPU seconds (utime+stime) and VmRSS/VmHWM
//     from /proc;
//  5. continuous audit: three hand-made RoleBindings created one at a time,
//     each after the audit of the previous one ran, and the controller's
//     bulkhead_audit_duration_seconds histogram read before and after
//     ("not available" when the binary does not export it). This comes
//     after the steady window, since the changes it makes are writes'
//     causes: the affected tenants are verified again.
//
// Why two control planes: the controller must start from what the CLI
// started from, an empty cluster. Removing the CLI's tenants first would
// leave a namespace-deletion backlog in kube-controller-manager and etcd's
// history of them; keeping them would double what the controller's
// informers hold (it watches namespaces, RBAC and the guardrail kinds
// cluster-wide). The second start costs about ten seconds and is not timed.
//
// Why ratios: the machine is 2 shared cores that the API server, etcd and
// the client under test share, so absolute seconds move with the load (the
// report records the load average); the controller/CLI ratio cancels some
// of that. The targets (controller ≤ 1.5× the CLI, no writes and < 1
// request/s when nothing changes) are printed as met / not met. The exit
// code is non-zero only when a phase could not complete or the CLI's run
// did not create every object; those are listed as problems.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bulkhead-dev/bulkhead/internal/controller"
	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

type options struct {
	tenants  int
	steady   time.Duration
	poll     time.Duration
	timeout  time.Duration
	drift    int
	output   string
	keep     bool
	bulkhead string
	profile  string // directory for CPU profiles of provisioning; "" takes none
}

// prefix names the tenants: t-0001, t-0002...
const prefix = "t"

var began = time.Now()

// logf prints progress on stderr with the time since start.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench-controller %6s  %s\n", time.Since(began).Round(time.Second), fmt.Sprintf(format, args...))
}

func main() {
	var o options
	flag.IntVar(&o.tenants, "tenants", 1000, "tenants provisioned by each of the CLI and the controller")
	flag.DurationVar(&o.steady, "steady", 2*time.Minute, "how long the steady state is measured")
	flag.DurationVar(&o.poll, "poll", time.Second, "how often Tenants are listed while waiting for Ready and Verified")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "how long to wait for every Tenant to be Ready and Verified")
	flag.IntVar(&o.drift, "drift", 20, "managed RoleBindings deleted one at a time for the drift repair latency")
	flag.StringVar(&o.output, "o", "table", "output: table or json (on stdout; progress goes to stderr)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (spec, bulkhead's output, the controller's log, the clusters' logs)")
	flag.StringVar(&o.bulkhead, "bulkhead", "bin/bulkhead", "bulkhead binary (make build)")
	flag.StringVar(&o.profile, "profile", "", "write 30 s CPU profiles of the controller and of kube-apiserver, from the first Tenant create, to this directory")
	flag.Parse()
	if flag.NArg() > 0 || o.tenants < 1 || o.drift < 1 || o.steady <= 0 || o.poll <= 0 || (o.output != "table" && o.output != "json") {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench-controller: FAILED: %v\n", err)
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
	dir, err := os.MkdirTemp("", "bulkhead-bench-controller-")
	if err != nil {
		return err
	}
	defer func() {
		if o.keep || err != nil {
			logf("work directory kept: %s", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	path := func(name string) string { return filepath.Join(dir, name) }
	rep := &Report{Tenants: o.tenants, CPUs: runtime.NumCPU(), LoadStart: loadavg(), SteadyFor: o.steady.String(),
		Reproduce: reproduce()}
	logf("%d tenants, work dir %s, load average %s", o.tenants, dir, rep.LoadStart)
	if err := writeSpec(path("spec.yaml"), prefix, o.tenants); err != nil {
		return err
	}
	if err := baseline(ctx, bin, path, rep); err != nil {
		return err
	}
	if err := controllerRun(ctx, o, bin, path, rep); err != nil {
		return err
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

// reproduce is the make command that runs this program with the flags it
// was given.
func reproduce() string {
	var args []string
	flag.Visit(func(f *flag.Flag) { args = append(args, "-"+f.Name+" "+f.Value.String()) })
	if len(args) == 0 {
		return "make bench-controller"
	}
	return "make bench-controller BENCH_CONTROLLER_FLAGS='" + strings.Join(args, " ") + "'"
}

// startCluster starts a fresh control plane in dir.
func startCluster(ctx context.Context, dir string) (*localcluster.Cluster, error) {
	logf("starting a local control plane in %s", dir)
	return localcluster.Start(ctx, localcluster.Options{DataDir: dir, Log: os.Stderr})
}

// baseline times bulkhead apply of the spec on a control plane of its own.
func baseline(ctx context.Context, bin string, path func(string) string, rep *Report) (err error) {
	cluster, err := startCluster(ctx, path("cluster-cli"))
	if err != nil {
		return err
	}
	defer func() {
		logf("stopping the CLI's control plane")
		err = errors.Join(err, cluster.Stop())
	}()
	if err := settle(ctx, cluster.RESTConfig()); err != nil {
		return err
	}
	logf("baseline: bulkhead apply -f spec.yaml")
	res, err := timed(ctx, "bulkhead apply", path("apply.out"), bin, "--kubeconfig", cluster.KubeconfigPath(), "apply", "-f", path("spec.yaml"))
	if err != nil {
		return err
	}
	sum, err := parseSummary(res.stderr)
	if err != nil {
		return err
	}
	logf("baseline: %.2f s wall; bulkhead says: %s", res.dur.Seconds(), sum.Line)
	rep.CLI = CLIRun{Seconds: res.dur.Seconds(), MaxRSSMiB: float64(res.maxRSS) / (1 << 20), Summary: sum}
	rep.Objects = sum.Objects
	if sum.Created != sum.Objects || sum.Failed != 0 || sum.Tenants != rep.Tenants {
		rep.problem("bulkhead apply on an empty cluster did not create every object of %d tenants: %s", rep.Tenants, sum.Line)
	}
	return nil
}

// controllerRun provisions the same spec through the controller on a
// second control plane, then measures drift repair, the steady state and
// the continuous audit.
func controllerRun(ctx context.Context, o options, bin string, path func(string) string, rep *Report) (err error) {
	cluster, err := startCluster(ctx, path("cluster-controller"))
	if err != nil {
		return err
	}
	defer func() {
		logf("stopping the controller's control plane")
		err = errors.Join(err, cluster.Stop())
	}()
	cfg := cluster.RESTConfig()
	cfg.QPS, cfg.Burst = 200, 400
	scheme, err := controller.Scheme()
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	objs, err := readSpec(path("spec.yaml"), scheme)
	if err != nil {
		return err
	}
	logf("installing the CRDs")
	if err := installCRDs(ctx, cfg); err != nil {
		return fmt.Errorf("install the CRDs: %w", err)
	}
	logf("starting bulkhead controller (log: %s)", path("controller.log"))
	proc, err := startController(ctx, bin, cluster.KubeconfigPath(), path("controller.log"), o.profile != "")
	if err != nil {
		return err
	}
	defer func() {
		logf("stopping the controller")
		err = errors.Join(err, proc.stop())
	}()
	if err := proc.waitReady(ctx, 2*time.Minute); err != nil {
		return err
	}
	if err := settle(ctx, cfg); err != nil {
		return err
	}

	profiled := profile(ctx, o.profile, proc, cs)
	if rep.Controller, err = provision(ctx, o, c, proc, objs); err != nil {
		return err
	}
	if err := profiled(); err != nil {
		return err
	}
	if err := quiesce(ctx, proc, cfg); err != nil {
		return err
	}
	logf("drift: deleting %d managed RoleBindings one at a time", o.drift)
	repairs, err := driftRepair(ctx, cs, spread(prefix, o.tenants, o.drift))
	if err != nil {
		return errors.Join(fmt.Errorf("drift repair: %w", err), proc.alive())
	}
	rep.Drift = newDrift(repairs)
	logf("  median %.0f ms, max %.0f ms", rep.Drift.MedianMs, rep.Drift.MaxMs)

	if err := quiesce(ctx, proc, cfg); err != nil {
		return err
	}
	logf("steady state: measuring for %s", o.steady)
	if rep.Steady, err = steadyState(ctx, proc, o.steady); err != nil {
		return err
	}
	logf("  %.2f requests/s (%s), %.2f CPU s, RSS %.0f MiB", rep.Steady.RequestsPerSecond, rep.Steady.methods(), rep.Steady.CPUSeconds, rep.Steady.RSSMiB)

	logf("continuous audit: creating 3 hand-made RoleBindings one at a time")
	if rep.Audit, err = auditCost(ctx, proc, cs, spread(prefix, o.tenants, 3)); err != nil {
		return err
	}
	if !rep.Audit.Available {
		logf("  bulkhead_audit_duration_seconds: not available on this binary")
	}
	return proc.alive()
}

// quiesce waits for the controller's queues to drain and for the control
// plane's own controllers to catch up, so no phase pays for another.
func quiesce(ctx context.Context, p *controllerProc, cfg *rest.Config) error {
	if err := waitIdle(ctx, p, 5*time.Minute); err != nil {
		return err
	}
	return settle(ctx, cfg)
}

// Drift is the repair latency of deleted RoleBindings.
type Drift struct {
	Count    int       `json:"count"`
	MedianMs float64   `json:"median_ms"`
	MaxMs    float64   `json:"max_ms"`
	AllMs    []float64 `json:"all_ms"`
}

func newDrift(ds []time.Duration) *Drift {
	d := &Drift{Count: len(ds)}
	for _, x := range ds {
		d.AllMs = append(d.AllMs, float64(x.Microseconds())/1000)
	}
	sorted := slices.Clone(d.AllMs)
	slices.Sort(sorted)
	if n := len(sorted); n > 0 {
		d.MaxMs = sorted[n-1]
		d.MedianMs = sorted[n/2]
		if n%2 == 0 {
			d.MedianMs = (sorted[n/2-1] + sorted[n/2]) / 2
		}
	}
	return d
}
