package access

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Benchmarks run on the worlds docs/baselines.md measures other tools on:
// "baseline-N" is Synthetic(N) (100 ClusterRoles, 400 ClusterRoleBindings),
// "scaled-5000" is SyntheticScaled(5000) (50,000 RoleBindings, 20,000
// Roles, 500 ClusterRoles, 2,000 ClusterRoleBindings).

type benchWorld struct {
	name string
	snap func() *Snapshot
}

func benchWorlds() []benchWorld {
	return []benchWorld{
		{"baseline-1000", func() *Snapshot { return Synthetic(1000, 1) }},
		{"baseline-5000", func() *Snapshot { return Synthetic(5000, 1) }},
		{"scaled-5000", func() *Snapshot { return SyntheticScaled(5000, 1) }},
	}
}

// heapPeak samples runtime.MemStats.HeapAlloc while a benchmark runs. The
// peak includes the snapshot and, with GOGC=100, garbage up to the live
// heap's size: it is what a process answering this needs, comparable with
// the figures docs/baselines.md gives for other tools.
type heapPeak struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := &heapPeak{stop: make(chan struct{}), peak: ms.HeapAlloc}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				h.peak = max(h.peak, ms.HeapAlloc)
			}
		}
	}()
	return h
}

func (h *heapPeak) report(b *testing.B) {
	close(h.stop)
	h.done.Wait()
	b.ReportMetric(float64(h.peak)/(1<<20), "peak-heap-MiB")
}

// retainedMiB is how much heap keep holds once garbage is collected.
func retainedMiB(build func() any) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(kept)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
}

func BenchmarkNew(b *testing.B) {
	for _, w := range benchWorlds() {
		b.Run(w.name, func(b *testing.B) {
			snap := w.snap()
			engineMiB := retainedMiB(func() any { return New(snap) })
			b.ReportAllocs()
			peak := startHeapPeak()
			for b.Loop() {
				New(snap)
			}
			b.StopTimer()
			peak.report(b)
			b.ReportMetric(engineMiB, "engine-MiB")
		})
	}
}

func BenchmarkAllowed(b *testing.B) {
	snap := SyntheticScaled(5000, 1)
	e := New(snap)
	rng := rand.New(rand.NewPCG(1, 2))
	users := randomUsers(rng, snap)
	type q struct {
		u UserInfo
		a Attributes
	}
	qs := make([]q, 4096)
	allowed := 0
	for i := range qs {
		qs[i] = q{users[rng.IntN(len(users))], randomAttributes(rng, snap)}
		if e.Allowed(qs[i].u, qs[i].a) {
			allowed++
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := &qs[i%len(qs)]
		e.Allowed(c.u, c.a)
		i++
	}
	b.ReportMetric(float64(allowed)/float64(len(qs)), "allowed-fraction")
}

func BenchmarkWhoCan(b *testing.B) {
	for _, w := range benchWorlds() {
		b.Run(w.name, func(b *testing.B) {
			snap := w.snap()
			e := New(snap)
			rng := rand.New(rand.NewPCG(3, 4))
			qs := make([]Attributes, 256)
			for i := range qs {
				qs[i] = randomAttributes(rng, snap)
			}
			qs[0] = ask("list", "", "pods", "", snap.Namespaces[0].Name)
			b.ReportAllocs()
			peak := startHeapPeak()
			i, holders := 0, 0
			for b.Loop() {
				holders += len(e.WhoCan(qs[i%len(qs)]))
				i++
			}
			b.StopTimer()
			peak.report(b)
			b.ReportMetric(float64(holders)/float64(i), "holders/op")
		})
	}
}

// BenchmarkRules is "policy rules of one ServiceAccount" (rbac-tool
// policy-rules in docs/baselines.md), in each of 10 namespaces.
func BenchmarkRules(b *testing.B) {
	snap := SyntheticScaled(5000, 1)
	e := New(snap)
	sa := ServiceAccountUser(tenantName(42), "runner")
	b.ReportAllocs()
	for b.Loop() {
		for i := range 10 {
			e.Rules(sa, tenantName(40+i))
		}
	}
}

func ExampleEngine_WhoCan() {
	e := New(semanticsWorld())
	for _, h := range e.WhoCan(ask("list", "", "pods", "", "team-a")) {
		fmt.Println(h.Subject, "via", h.Via[0])
	}
	// Output:
	// ServiceAccount team-b/visitor via RoleBinding team-a/sa-foreign -> Role pods
	// User alice via RoleBinding team-a/pods -> Role pods
	// User system:serviceaccount:team-a:impostor via RoleBinding team-a/fake-sa -> Role pods
}
