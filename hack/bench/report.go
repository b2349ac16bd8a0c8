package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Report is everything one run measured; -o json prints it as is.
type Report struct {
	Tenants          int     `json:"tenants"`
	Objects          int     `json:"objects"` // per tool run, from bulkhead's summary
	ObjectsPerTenant float64 `json:"objects_per_tenant"`
	SpecForm         string  `json:"spec_form"`
	CPUs             int     `json:"cpus"`
	LoadStart        string  `json:"load_avg_start"`
	LoadEnd          string  `json:"load_avg_end"`

	BulkheadFresh Run  `json:"bulkhead_fresh"`
	BulkheadNoop  Run  `json:"bulkhead_noop"`
	Capacity      *Run `json:"server_capacity,omitempty"`
	Render        *Run `json:"bulkhead_render,omitempty"` // kubectl's input, not part of kubectl's time
	KubectlFresh  *Run `json:"kubectl_fresh,omitempty"`
	KubectlNoop   *Run `json:"kubectl_noop,omitempty"`

	Ratios  Ratios   `json:"ratios"`
	Targets []Target `json:"targets"`
	// Problems are runs that did not do what they should; any makes the
	// program exit 1 after printing the figures.
	Problems []string `json:"problems"`
}

func (r *Report) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	logf("PROBLEM: %s", msg)
	r.Problems = append(r.Problems, msg)
}

// Run is one measured command (or the capacity client).
type Run struct {
	Seconds          float64  `json:"seconds"`
	Objects          int      `json:"objects"`
	ObjectsPerSecond float64  `json:"objects_per_second"`
	Summary          *Summary `json:"summary,omitempty"` // bulkhead apply's own counts
	// MaxRSSMiB is the peak resident memory of the measured process.
	MaxRSSMiB float64 `json:"max_rss_mib,omitempty"`
}

func newRun(seconds float64, objects int) Run {
	r := Run{Seconds: seconds, Objects: objects}
	if seconds > 0 {
		r.ObjectsPerSecond = float64(objects) / seconds
	}
	return r
}

// Ratios: kubectl's time over bulkhead's for the same objects (higher is
// better for bulkhead), and raw-create throughput over bulkhead's fresh
// throughput (1.0 would mean bulkhead is as fast as plain creates).
type Ratios struct {
	KubectlOverBulkheadFresh float64 `json:"kubectl_over_bulkhead_fresh,omitempty"`
	KubectlOverBulkheadNoop  float64 `json:"kubectl_over_bulkhead_noop,omitempty"`
	CapacityOverBulkhead     float64 `json:"capacity_over_bulkhead_fresh,omitempty"`
}

// Target is one goal from the issue, reported as information only.
type Target struct {
	Name     string `json:"name"`
	Want     string `json:"want"`
	Got      string `json:"got"`
	Measured bool   `json:"measured"`
	Met      bool   `json:"met"`
}

// finish computes ratios and targets from the runs.
func (r *Report) finish() {
	bf, bn := r.BulkheadFresh.Seconds, r.BulkheadNoop.Seconds
	if r.KubectlFresh != nil && bf > 0 {
		r.Ratios.KubectlOverBulkheadFresh = r.KubectlFresh.Seconds / bf
	}
	if r.KubectlNoop != nil && bn > 0 {
		r.Ratios.KubectlOverBulkheadNoop = r.KubectlNoop.Seconds / bn
	}
	if r.Capacity != nil && r.BulkheadFresh.ObjectsPerSecond > 0 {
		r.Ratios.CapacityOverBulkhead = r.Capacity.ObjectsPerSecond / r.BulkheadFresh.ObjectsPerSecond
	}
	r.Targets = []Target{
		{Name: "fresh apply", Want: "<= 20 s", Got: secs(bf), Measured: true, Met: bf <= 20},
		{Name: "fresh apply vs kubectl", Want: ">= 5x faster", Got: times(r.Ratios.KubectlOverBulkheadFresh),
			Measured: r.KubectlFresh != nil, Met: r.Ratios.KubectlOverBulkheadFresh >= 5},
		{Name: "no-op re-apply", Want: "<= 3 s", Got: secs(bn), Measured: true, Met: bn <= 3},
	}
}

func secs(s float64) string { return fmt.Sprintf("%.1f s", s) }

func times(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", x)
}

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

func (r *Report) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "bulkhead apply vs kubectl apply --server-side: %d tenants, %d objects per run (%.1f per tenant, %s)\n",
		r.Tenants, r.Objects, r.ObjectsPerTenant, r.SpecForm)
	fmt.Fprintf(w, "%d CPUs, load average %s at start, %s at end\n\n", r.CPUs, r.LoadStart, r.LoadEnd)

	const rowf = "%-36s %8s %8s %10s %9s  %s\n"
	fmt.Fprintf(w, rowf, "run", "seconds", "objects", "objects/s", "peak RSS", "ratio")
	row := func(name string, run *Run, ratio string) {
		if run == nil {
			fmt.Fprintf(w, rowf, name, "-", "-", "-", "-", "not run")
			return
		}
		rss := "-"
		if run.MaxRSSMiB > 0 {
			rss = fmt.Sprintf("%.0f MiB", run.MaxRSSMiB)
		}
		fmt.Fprintf(w, rowf, name, fmt.Sprintf("%.2f", run.Seconds), fmt.Sprint(run.Objects),
			fmt.Sprintf("%.0f", run.ObjectsPerSecond), rss, ratio)
	}
	row("bulkhead apply, fresh", &r.BulkheadFresh, "")
	row("bulkhead apply, no-op", &r.BulkheadNoop, "")
	row("kubectl apply --server-side, fresh", r.KubectlFresh, ratioText(r.Ratios.KubectlOverBulkheadFresh, "bulkhead's fresh time"))
	row("kubectl apply --server-side, no-op", r.KubectlNoop, ratioText(r.Ratios.KubectlOverBulkheadNoop, "bulkhead's no-op time"))
	row("server capacity: plain creates", r.Capacity, ratioText(r.Ratios.CapacityOverBulkhead, "bulkhead's fresh rate"))
	if r.Render != nil {
		fmt.Fprintf(w, "\nkubectl's input came from `bulkhead render` (%.2f s, not counted in kubectl's time).\n", r.Render.Seconds)
	}
	fmt.Fprintf(w, "server capacity: client-go POSTs, %d workers, QPS %d, protobuf, no reads: the server's throughput with the least client work.\n",
		capacityWorkers, capacityQPS)

	fmt.Fprintln(w, "\ntargets from the issue (information, not a pass/fail of this program):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range r.Targets {
		status := "not met"
		switch {
		case !t.Measured:
			status, t.Got = "not measured", "-"
		case t.Met:
			status = "met"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.Name, t.Want, t.Got, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Tenants != 1000 {
		fmt.Fprintf(w, "  (the targets are stated for 1000 tenants; this run has %d)\n", r.Tenants)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "\nPROBLEM: %s\n", p)
	}
	return nil
}

func ratioText(x float64, of string) string {
	if x == 0 {
		return ""
	}
	return strings.TrimSpace(fmt.Sprintf("%.1fx %s", x, of))
}
