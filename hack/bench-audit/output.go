package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"runtime/metrics"

	"github.com/chromedp/chromedp"

	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

// heapSampler records the peak of the Go heap (objects and unused spans)
// while it runs, without stopping the world.
type heapSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			h.peak = max(h.peak, sample[0].Value.Uint64()+sample[1].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// Stop returns the peak in MiB.
func (h *heapSampler) Stop() float64 {
	close(h.stop)
	h.wg.Wait()
	return float64(h.peak) / (1 << 20)
}

// outputFigures are the costs of writing the report as a user reads it.
type outputFigures struct {
	jsonWall                  time.Duration // audit.Run + WriteJSON to a file
	jsonPeakHeap, jsonRSS     float64       // MiB; RSS is the peak of a child process (VmHWM)
	jsonBytes                 int64
	htmlWrite                 time.Duration // WriteHTML to a file, the report already built
	htmlBytes                 int64
	chromeDOM, chromeInteract time.Duration // navigate → DOMContentLoaded; → first group expanded
	chromeErr                 error
}

// measureJSON runs the audit and streams the JSON report to a file, in a
// child process (this binary with -json-child) so that its peak RSS is the
// pipeline's own: snapshot in memory, audit, report, encoder.
func measureJSON(o options, dir string) (wall time.Duration, heap, rss float64, size int64, err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, 0, 0, err
	}
	path := filepath.Join(dir, "audit.json")
	cmd := exec.Command(self, "-json-child", path, "-namespaces", fmt.Sprint(o.namespaces), "-broken", fmt.Sprint(o.broken))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("json child: %w", err)
	}
	var ms float64
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%f %f %f", &ms, &heap, &rss); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("json child printed %q: %w", out, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	return time.Duration(ms * float64(time.Millisecond)), heap, rss, st.Size(), nil
}

// jsonChild is the child of measureJSON: it prints "wall-ms peak-heap-MiB
// peak-rss-MiB" of audit.Run + audit.WriteJSON into path.
func jsonChild(o options, path string) error {
	snap := audit.SyntheticCluster(o.namespaces, o.broken, 1)
	tenants, err := audit.Tenants(snap, audit.TenantOptions{})
	if err != nil {
		return err
	}
	h := startHeapSampler()
	start := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	r, err := audit.Run(snap, tenants)
	if err != nil {
		return err
	}
	if err := audit.WriteJSON(f, r); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	wall := time.Since(start)
	heap := h.Stop()
	fmt.Printf("%.1f %.1f %.1f\n", float64(wall)/float64(time.Millisecond), heap, peakRSS())
	return nil
}

// peakRSS is VmHWM of this process in MiB, 0 where /proc is missing.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(rest), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

// measureHTML writes the page of r and opens it in headless Chromium.
func measureHTML(ctx context.Context, r *audit.Report, dir string) (outputFigures, error) {
	var fig outputFigures
	path := filepath.Join(dir, "audit.html")
	start := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return fig, err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	if err := audit.WriteHTML(w, r); err != nil {
		return fig, err
	}
	if err := w.Flush(); err != nil {
		return fig, err
	}
	if err := f.Close(); err != nil {
		return fig, err
	}
	fig.htmlWrite = time.Since(start)
	st, err := os.Stat(path)
	if err != nil {
		return fig, err
	}
	fig.htmlBytes = st.Size()
	fig.chromeDOM, fig.chromeInteract, fig.chromeErr = openInChromium(ctx, path)
	return fig, nil
}

// openInChromium measures navigate → DOMContentLoaded, and → the first
// findings group expanded and its first finding visible.
func openInChromium(ctx context.Context, path string) (dom, interactive time.Duration, err error) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		return 0, 0, fmt.Errorf("no %s (apt-get install -y chromium)", chromium)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	profile, err := os.MkdirTemp("", "bench-audit-chromium-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(profile)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(chromium), chromedp.Flag("headless", true),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true))
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(ctx)
	defer cancelTab()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil { // start the browser before the clock
		return 0, 0, err
	}
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+path)); err != nil {
		return 0, 0, err
	}
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](
		`performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd`))
	if err != nil {
		return 0, 0, err
	}
	dom = time.Duration(ms * float64(time.Millisecond))
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#findings details:not([open]) > summary")),
		chromedp.WaitVisible(chromedp.CSS("#findings details[open] .finding")),
	); err != nil {
		return dom, 0, fmt.Errorf("expand the first findings group: %w", err)
	}
	return dom, time.Since(start), nil
}

// reportOutput prints the costs of -o json and -o html.
func reportOutput(ctx context.Context, o options, r *audit.Report) error {
	dir, err := os.MkdirTemp("", "bench-audit-output-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	wall, heap, rss, size, err := measureJSON(o, dir)
	if err != nil {
		return err
	}
	fmt.Printf("-o json: audit.Run + streaming audit.WriteJSON to a file, in a child process over the synthetic snapshot: %s wall, peak heap %.0f MiB, peak RSS of the child %.0f MiB (snapshot generation included), %.1f MB\n",
		ms(wall), heap, rss, float64(size)/1e6)
	if o.skipHTML {
		return nil
	}
	fig, err := measureHTML(ctx, r, dir)
	if err != nil {
		return err
	}
	fmt.Printf("-o html: %.1f MB written in %s", float64(fig.htmlBytes)/1e6, ms(fig.htmlWrite))
	if fig.chromeErr != nil {
		fmt.Printf("; Chromium: %v\n", fig.chromeErr)
		return nil
	}
	fmt.Printf("; headless Chromium: DOMContentLoaded after %s, first findings group expanded after %s\n", ms(fig.chromeDOM), ms(fig.chromeInteract))
	return nil
}
