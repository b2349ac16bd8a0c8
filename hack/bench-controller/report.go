package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/controller"
)

// Report is everything one run measured; -o json prints it as is.
type Report struct {
	Tenants   int    `json:"tenants"`
	Objects   int    `json:"objects"` // from bulkhead apply's summary
	CPUs      int    `json:"cpus"`
	LoadStart string `json:"load_avg_start"`
	LoadEnd   string `json:"load_avg_end"`
	SteadyFor string `json:"steady_for"`
	Reproduce string `json:"reproduce"`

	CLI        CLIRun        `json:"cli"`
	Controller ControllerRun `json:"controller"`
	Drift      *Drift        `json:"drift_repair,omitempty"`
	Steady     *Steady       `json:"steady_state,omitempty"`
	Audit      *Audit        `json:"continuous_audit,omitempty"`

	Ratios  Ratios   `json:"ratios"`
	Targets []Target `json:"targets"`
	// Problems are phases that did not do what they should; any makes the
	// program exit 1 after printing the figures.
	Problems []string `json:"problems"`
}

func (r *Report) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	logf("PROBLEM: %s", msg)
	r.Problems = append(r.Problems, msg)
}

// CLIRun is the baseline: bulkhead apply of the spec.
type CLIRun struct {
	Seconds   float64  `json:"seconds"`
	MaxRSSMiB float64  `json:"max_rss_mib"`
	Summary   *Summary `json:"summary"`
}

// ControllerRun is the same spec through the controller, in seconds from
// the first create.
type ControllerRun struct {
	CreateSeconds   float64 `json:"create_seconds"` // creating the Tenant objects
	ReadySeconds    float64 `json:"all_ready_seconds"`
	VerifiedSeconds float64 `json:"all_verified_seconds"`
	PollSeconds     float64 `json:"poll_seconds"` // the resolution of the two above
	// Work is the controller's, from before the first create to all Verified.
	Work Work `json:"work"`
}

// Ratios of the controller's times over the CLI's (lower is better).
type Ratios struct {
	ReadyOverCLI    float64 `json:"ready_over_cli"`
	VerifiedOverCLI float64 `json:"verified_over_cli"`
}

// Target is one goal, reported as information only.
type Target struct {
	Name     string `json:"name"`
	Want     string `json:"want"`
	Got      string `json:"got"`
	Measured bool   `json:"measured"`
	Met      bool   `json:"met"`
}

func (r *Report) finish() {
	if cli := r.CLI.Seconds; cli > 0 {
		r.Ratios.ReadyOverCLI = r.Controller.ReadySeconds / cli
		r.Ratios.VerifiedOverCLI = r.Controller.VerifiedSeconds / cli
	}
	r.Targets = []Target{{Name: "controller all Ready vs bulkhead apply", Want: "<= 1.5x", Got: fmt.Sprintf("%.2fx", r.Ratios.ReadyOverCLI),
		Measured: r.Ratios.ReadyOverCLI > 0, Met: r.Ratios.ReadyOverCLI > 0 && r.Ratios.ReadyOverCLI <= 1.5}}
	s := r.Steady
	if s == nil {
		s = &Steady{}
	}
	r.Targets = append(r.Targets,
		Target{Name: "steady state: writes", Want: "0", Got: fmt.Sprintf("%.0f", s.Writes), Measured: r.Steady != nil, Met: s.Writes == 0},
		Target{Name: "steady state: API requests", Want: "< 1/s", Got: fmt.Sprintf("%.3f/s", s.RequestsPerSecond),
			Measured: r.Steady != nil, Met: s.RequestsPerSecond < 1})
}

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

func (r *Report) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "bulkhead controller vs bulkhead apply: %d tenants, %d objects (TenantDefaults with every guardrail)\n", r.Tenants, r.Objects)
	fmt.Fprintf(w, "%d CPUs, load average %s at start, %s at end; each side on a fresh local control plane of its own\n\n",
		r.CPUs, r.LoadStart, r.LoadEnd)

	const rowf = "%-62s %8s  %s\n"
	fmt.Fprintf(w, rowf, "provisioning", "seconds", "vs CLI")
	fmt.Fprintf(w, rowf, fmt.Sprintf("bulkhead apply -f spec.yaml (peak RSS %.0f MiB)", r.CLI.MaxRSSMiB), fmt.Sprintf("%.2f", r.CLI.Seconds), "")
	fmt.Fprintf(w, rowf, fmt.Sprintf("controller: %d Tenant objects created (client-go, %d workers)", r.Tenants, createWorkers),
		fmt.Sprintf("%.2f", r.Controller.CreateSeconds), "")
	fmt.Fprintf(w, rowf, "controller: all Ready=True, from the first create", fmt.Sprintf("%.2f", r.Controller.ReadySeconds),
		fmt.Sprintf("%.2fx", r.Ratios.ReadyOverCLI))
	fmt.Fprintf(w, rowf, "controller: all Verified=True, from the first create", fmt.Sprintf("%.2f", r.Controller.VerifiedSeconds),
		fmt.Sprintf("%.2fx", r.Ratios.VerifiedOverCLI))
	fmt.Fprintf(w, "(Ready and Verified are seen by a LIST of Tenants every %s: that is their resolution.)\n",
		time.Duration(r.Controller.PollSeconds*float64(time.Second)))
	if cw := r.Controller.Work; cw.Reconciles > 0 {
		fmt.Fprintf(w, "controller's work until all Verified: %.0f reconciles (%.0f ms each on average, %d at once), %.2f CPU s,\n",
			cw.Reconciles, 1000*cw.ReconcileSeconds/cw.Reconciles, controller.DefaultWorkers, cw.CPUSeconds)
		fmt.Fprintf(w, "  %.0f API requests (%s)\n", cw.Requests, cw.methods())
	}

	if d := r.Drift; d != nil {
		fmt.Fprintf(w, "\ndrift repair: %d managed RoleBindings deleted one at a time, delete call to the recreated object on a watch:\n", d.Count)
		fmt.Fprintf(w, "  median %.0f ms, max %.0f ms\n", d.MedianMs, d.MaxMs)
	}
	if s := r.Steady; s != nil {
		fmt.Fprintf(w, "\nsteady state: %.0f s with nothing changing, after the queues were idle (the controller's own client-go metrics and /proc):\n", s.Seconds)
		fmt.Fprintf(w, "  API requests  %.3f/s: reads %.3f/s, writes %.3f/s (%s)\n", s.RequestsPerSecond, s.ReadsPerSecond, s.WritesPerSecond, s.methods())
		fmt.Fprintf(w, "  reconciles    %.0f\n", s.Reconciles)
		fmt.Fprintf(w, "  CPU           %.2f s (%.2f%% of one core)\n", s.CPUSeconds, s.CPUPercent)
		fmt.Fprintf(w, "  memory        RSS %.0f MiB; peak over the whole run (VmHWM) %.0f MiB\n", s.RSSMiB, s.HWMMiB)
	}
	if a := r.Audit; a != nil {
		fmt.Fprintln(w, "\ncontinuous audit per RBAC change (bulkhead_audit_duration_seconds, hand-made RoleBindings created one at a time):")
		if !a.Available {
			fmt.Fprintln(w, "  not available: this controller does not export bulkhead_audit_duration_seconds")
		} else {
			lat := make([]string, len(a.LatencySeconds))
			for i, l := range a.LatencySeconds {
				lat[i] = fmt.Sprintf("%.2f", l)
			}
			fmt.Fprintf(w, "  %d changes, %.0f audit runs, %.0f ms per run on average\n", a.Changes, a.Runs, 1000*a.MeanSeconds)
			fmt.Fprintf(w, "  change to audit done (includes --audit-debounce): %s s\n", strings.Join(lat, ", "))
		}
	}

	fmt.Fprintln(w, "\ntargets (information, not a pass/fail of this program):")
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
	fmt.Fprintf(w, "\nreproduce: %s\n", r.Reproduce)
	for _, p := range r.Problems {
		fmt.Fprintf(w, "\nPROBLEM: %s\n", p)
	}
	return nil
}
