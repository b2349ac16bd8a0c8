// Command bench-audit measures bulkhead audit and who-can on the issue's
// synthetic cluster (5,000 namespaces, 50,000 RoleBindings, 20,000 Roles,
// 500 ClusterRoles, 2,000 ClusterRoleBindings) and, in the same run, the
// same questions asked as SubjectAccessReviews of a local API server that
// holds the cluster-wide RBAC objects and a sample of the namespaces. It
// also measures the output a user reads: -o json (audit.Run and the streamed
// audit.WriteJSON to a file, in a child process so that its peak RSS is the
// pipeline's own) and -o html (the page's size, the time to write it and
// the time headless Chromium takes to load it and expand the first closed
// findings group). Last, as a user runs it: the whole world loaded into a
// local API server and the bulkhead binary auditing it (-o json, -o html),
// one process each, against kubectl reading the same kinds in the same run.
// It reports figures and ratios, never pass/fail on time (make bench).
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/access"
	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

type options struct {
	namespaces    int
	broken        float64
	runs          int
	sarNamespaces int
	sarSample     int
	concurrency   int
	skipSAR       bool
	skipHTML      bool
	skipLive      bool
	keep          bool
	onlyLive      bool
	jsonChild     string
}

func main() {
	var o options
	flag.IntVar(&o.namespaces, "namespaces", 5000, "tenant namespaces of the synthetic cluster")
	flag.Float64Var(&o.broken, "broken", 0.02, "fraction of tenants with a hand-made mistake")
	flag.IntVar(&o.runs, "runs", 5, "audit runs (the median is reported)")
	flag.IntVar(&o.sarNamespaces, "sar-namespaces", 200, "tenant namespaces loaded into the API server for the SubjectAccessReview sample")
	flag.IntVar(&o.sarSample, "sar-sample", 2000, "SubjectAccessReviews asked")
	flag.IntVar(&o.concurrency, "concurrency", 32, "concurrent SubjectAccessReviews")
	flag.BoolVar(&o.skipSAR, "skip-sar", false, "skip the API server comparison")
	flag.BoolVar(&o.skipHTML, "skip-html", false, "skip writing the HTML page and opening it in Chromium")
	flag.BoolVar(&o.skipLive, "skip-live", false, "skip loading the whole world into a local API server and running bulkhead audit against it")
	flag.BoolVar(&o.onlyLive, "only-live", false, "measure only the live world (bulkhead audit as a process against a local API server)")
	flag.BoolVar(&o.keep, "keep", false, "leave the live world's control plane running (it prints how to stop it)")
	flag.StringVar(&o.jsonChild, "json-child", "", "internal: run the audit, stream its JSON to this file and print the costs")
	flag.Parse()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(audit.GCPercent) // as bulkhead audit runs
	}
	if o.jsonChild != "" {
		if err := jsonChild(o, o.jsonChild); err != nil {
			fmt.Fprintf(os.Stderr, "bench-audit: FAILED: %v\n", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench-audit: FAILED: %v\n", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench-audit: "+format+"\n", args...) }

func run(ctx context.Context, o options) error {
	logf("generating the synthetic cluster (%d namespaces, %.0f%% misconfigured)", o.namespaces, o.broken*100)
	snap := audit.SyntheticCluster(o.namespaces, o.broken, 1)
	tenants, err := audit.Tenants(snap, audit.TenantOptions{})
	if err != nil {
		return err
	}
	gc := debug.SetGCPercent(-1) // reading the setting means setting it: put it back
	debug.SetGCPercent(gc)
	fmt.Printf("world: %d namespaces, %d RoleBindings, %d Roles, %d ClusterRoles, %d ClusterRoleBindings, %d ServiceAccounts; GOMAXPROCS %d, GC percent %d\n",
		len(snap.Namespaces), len(snap.RoleBindings), len(snap.Roles), len(snap.ClusterRoles), len(snap.ClusterRoleBindings),
		len(snap.ServiceAccounts), runtime.GOMAXPROCS(0), gc)

	if o.onlyLive {
		return measureLive(ctx, o, snap)
	}
	report, median, peak, err := timeAudit(snap, tenants, o.runs)
	if err != nil {
		return err
	}
	s := report.Summary
	fmt.Printf("audit: median %s of %d runs (engine build included), peak heap %.0f MiB; %d findings (%d critical, %d high, %d medium, %d low), %d questions\n",
		ms(median), o.runs, peak, len(report.Findings), s.Critical, s.High, s.Medium, s.Low, s.Questions)

	if err := reportOutput(ctx, o, report); err != nil {
		return err
	}

	adv := &audit.Snapshot{Snapshot: *access.SyntheticScaled(o.namespaces, 1), Source: "adversarial"}
	advTenants, _ := audit.Tenants(adv, audit.TenantOptions{})
	advReport, advMedian, advPeak, err := timeAudit(adv, advTenants, 1)
	if err != nil {
		return err
	}
	fmt.Printf("audit, adversarial world (access.SyntheticScaled: 40%% of bindings to random wildcard ClusterRoles): %s, peak heap %.0f MiB, %d findings\n",
		ms(advMedian), advPeak, len(advReport.Findings))

	eng := access.New(&snap.Snapshot)
	questions := whoCanQuestions(snap, 1000)
	start := time.Now()
	holders := 0
	for _, q := range questions {
		holders += len(eng.WhoCan(q))
	}
	whoCan := time.Since(start) / time.Duration(len(questions))
	fmt.Printf("who-can: %s per question (mean of %d, %.1f holders each); %d subjects in the cluster\n",
		us(whoCan), len(questions), float64(holders)/float64(len(questions)), eng.Stats().Subjects)

	if !o.skipLive {
		if err := measureLive(ctx, o, snap); err != nil {
			return err
		}
	}
	if o.skipSAR {
		return nil
	}
	sar, err := measureSAR(ctx, o, snap)
	if err != nil {
		return err
	}
	fmt.Printf("SubjectAccessReview: %d reviews in %s with %d concurrent (%.0f/s), %s mean alone; engine vs API server: %d agree, %d disagree\n",
		sar.reviews, ms(sar.elapsed), o.concurrency, sar.rate(), ms(sar.alone), sar.agree, sar.disagree)
	auditSAR := time.Duration(float64(s.Questions) / sar.rate() * float64(time.Second))
	whoCanSAR := time.Duration(float64(eng.Stats().Subjects) / sar.rate() * float64(time.Second))
	fmt.Printf("ratio: the audit's %d questions as SubjectAccessReviews would take %s, %.0f× the audit\n",
		s.Questions, auditSAR.Round(time.Second), float64(auditSAR)/float64(median))
	fmt.Printf("ratio: who-can by SubjectAccessReview (one per subject, %d) would take %s, %.0f× who-can\n",
		eng.Stats().Subjects, whoCanSAR.Round(time.Millisecond), float64(whoCanSAR)/float64(whoCan))
	if sar.disagree > 0 {
		return fmt.Errorf("%d SubjectAccessReviews disagree with the engine", sar.disagree)
	}
	return nil
}

// timeAudit runs the audit and samples the heap while it runs.
func timeAudit(snap *audit.Snapshot, tenants []audit.Tenant, runs int) (*audit.Report, time.Duration, float64, error) {
	runtime.GC()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// runtime/metrics reads without stopping the world, unlike
		// ReadMemStats, so sampling does not slow the audit down.
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				metrics.Read(sample)
				peak = max(peak, sample[0].Value.Uint64()+sample[1].Value.Uint64())
			}
		}
	}()
	var times []time.Duration
	var report *audit.Report
	for range runs {
		start := time.Now()
		r, err := audit.Run(snap, tenants)
		if err != nil {
			return nil, 0, 0, err
		}
		times = append(times, time.Since(start))
		report = r
	}
	close(stop)
	wg.Wait()
	slices.Sort(times)
	return report, times[len(times)/2], float64(peak) / (1 << 20), nil
}

// whoCanQuestions are what a platform engineer asks: sensitive verbs on
// tenant namespaces.
func whoCanQuestions(snap *audit.Snapshot, n int) []access.Attributes {
	rng := rand.New(rand.NewPCG(7, 7))
	asks := []access.Attributes{
		{Verb: "get", Resource: "secrets"}, {Verb: "create", Resource: "pods"}, {Verb: "create", Resource: "pods", Subresource: "exec"},
		{Verb: "delete", Resource: "resourcequotas"}, {Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings"},
		{Verb: "update", Group: "apps", Resource: "deployments"}, {Verb: "list", Resource: "pods"},
	}
	out := make([]access.Attributes, n)
	for i := range out {
		out[i] = asks[rng.IntN(len(asks))]
		out[i].Namespace = snap.Namespaces[rng.IntN(len(snap.Namespaces))].Name
	}
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
func us(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }
