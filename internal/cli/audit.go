package cli

import (
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"time"

	"k8s.io/klog/v2"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/internal/audit"
	"github.com/bulkhead-dev/bulkhead/internal/version"
)

type auditOptions struct {
	snapshotOptions
	output   string
	failOn   string
	live     int
	liveSeed uint64
	baseline string // an earlier -o json report
	ignore   string // the suppressions file
	k8sVer   string // --kubernetes-version
}

var auditOutputs = []string{"table", "json", "html", "sarif"}

func newAuditCmd(s Streams, f *factory) *cobra.Command {
	o := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit [-f PATH...]",
		Short: "Find every way one tenant can reach another or lift its own guardrails",
		Long: `Read the cluster (or manifests with -f) and report, for every tenant, each way
isolation breaks: the 20 patterns of docs/isolation.md, from cross-tenant bindings and
escalation paths (creating pods, minting tokens, reading token Secrets,
impersonating) to dangling role references and missing pod security. The API
server's own bootstrap policy is the baseline, not a finding.

-o sarif writes SARIF 2.1.0 for GitHub code scanning and GitLab, with the file
and line of each offending manifest object. --baseline REPORT.json reports (and
fails on) only the findings an earlier -o json report did not have, and lists
the resolved ones. --ignore-file FILE suppresses accepted findings until each
entry's expiry date; an expired entry is itself a finding (docs/audit-ci.md).

Exits 1 when a finding at or above --fail-on exists (with --baseline: a new one).`,
		Example: `  # The current cluster, as a table
  bulkhead audit

  # Manifests made by hand, failing only on critical findings
  bulkhead audit -f rbac/ --fail-on critical

  # A self-contained HTML report, with 200 answers checked by the API server
  bulkhead audit -o html --live 200 > audit.html

  # In CI: SARIF for code scanning, failing only on findings new since main's report
  bulkhead audit -f manifests/ -o sarif --baseline main-audit.json --ignore-file .bulkhead-ignore.yaml > audit.sarif`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(auditOutputs, o.output) {
				return invalid("--output must be %s, got %q", joinOr(auditOutputs), o.output)
			}
			failOn, err := audit.ParseSeverity(o.failOn)
			if err != nil {
				return invalid("--fail-on: %v", err)
			}
			if o.live < 0 {
				return invalid("--live must be a number of reviews (0 = off), got %d", o.live)
			}
			if o.live > 0 && len(o.files) > 0 {
				return invalid("--live asks the cluster; it cannot check manifests given with -f")
			}
			if !audit.ValidKubernetesVersion(o.k8sVer) {
				return invalid("--kubernetes-version must read like v1.34 or 1.35.2, got %q", o.k8sVer)
			}
			return o.run(cmd, s, f, failOn)
		},
	}
	o.addFlags(cmd)
	o.addTenantFlags(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", joinOr(auditOutputs))
	cmd.Flags().StringVar(&o.failOn, "fail-on", "high", "exit 1 when a finding at or above this severity exists: low, medium, high or critical")
	cmd.Flags().IntVar(&o.live, "live", 0, "also ask the cluster this many SubjectAccessReviews and compare them with the offline answers")
	cmd.Flags().Uint64Var(&o.liveSeed, "live-seed", 1, "seed of the --live sample (another seed asks other questions)")
	cmd.Flags().StringVar(&o.baseline, "baseline", "", "an earlier bulkhead audit -o json report: report and fail on only the findings it does not have, and list the resolved ones")
	cmd.Flags().StringVar(&o.ignore, "ignore-file", "", "a YAML file of accepted findings (rule, object, reason, expires) to suppress until they expire")
	cmd.Flags().StringVar(&o.k8sVer, "kubernetes-version", audit.DefaultKubernetesVersion, "the API server version manifests (-f) are judged for: up to v1.34 get on pods/exec or pods/attach is exec; a cluster's own version is read from discovery unless this is set")
	return cmd
}

func (o *auditOptions) run(cmd *cobra.Command, s Streams, f *factory, failOn audit.Severity) error {
	ctx := cmd.Context()
	// Both files are read before the cluster: a typo in them is exit 2
	// without waiting for an audit.
	var suppressions []audit.Suppression
	if o.ignore != "" {
		var err error
		if suppressions, err = audit.ReadSuppressions(o.ignore); err != nil {
			return asInvalid(err)
		}
	}
	var base *audit.Report
	if o.baseline != "" {
		var err error
		if base, err = audit.ReadReport(o.baseline); err != nil {
			return asInvalid(err)
		}
	}
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(audit.GCPercent))
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(audit.MemoryLimit))
	}
	snap, tenants, err := o.load(ctx, s, f)
	if err != nil {
		return err
	}
	if err := o.requireTenants(s, tenants); err != nil {
		return err
	}
	if len(o.files) > 0 || cmd.Flags().Changed("kubernetes-version") {
		snap.KubernetesVersion = o.k8sVer
		fmt.Fprintf(s.ErrOut, "audit: judging for Kubernetes %s (--kubernetes-version)\n", o.k8sVer)
	}
	started := time.Now()
	report, err := audit.Run(snap, tenants)
	if err != nil {
		return err
	}
	klog.V(2).Infof("audit: %d tenants, %d findings, %d questions in %s", len(tenants), len(report.Findings), report.Summary.Questions, time.Since(started).Round(time.Millisecond))
	if o.live > 0 {
		client, _, err := f.client()
		if err != nil {
			return err
		}
		if report.Live, err = audit.Live(ctx, client.AuthorizationV1(), snap, tenants, o.live, o.liveSeed); err != nil {
			return err
		}
	}
	if o.ignore != "" {
		for _, u := range audit.Suppress(report, suppressions, time.Now()) {
			fmt.Fprintf(s.ErrOut, "warning: %s: the entry for %s on %s matched no finding; remove it or correct its rule and object\n", u.At, u.Rule, u.Object)
		}
	}
	if base != nil {
		audit.CompareBaseline(report, base, o.baseline)
	}
	started = time.Now()
	defer func() {
		klog.V(2).Infof("audit: wrote -o %s in %s", o.output, time.Since(started).Round(time.Millisecond))
	}()
	switch o.output {
	case "sarif":
		err = audit.WriteSARIF(s.Out, report, audit.SARIFOptions{ToolVersion: version.Read().Version})
	case "json":
		err = audit.WriteJSON(s.Out, report)
	case "html":
		err = audit.WriteHTML(s.Out, report)
	default:
		err = audit.WriteTable(s.Out, report)
	}
	if err != nil {
		return err
	}
	if n := report.Count(failOn); n > 0 {
		noun := "findings"
		if n == 1 {
			noun = "finding"
		}
		which := ""
		if base != nil {
			which = " new since the baseline"
		}
		return &exitError{code: ExitFailed, err: fmt.Errorf("%d %s%s at %s severity or above (--fail-on %s)", n, noun, which, failOn, failOn)}
	}
	if report.Live != nil && len(report.Live.Disagreements) > 0 {
		return &exitError{code: ExitFailed, err: fmt.Errorf("%d live checks disagree with the offline analysis", len(report.Live.Disagreements))}
	}
	return nil
}

// asInvalid marks an error in a file the user gave (an ignore file, a
// baseline) as invalid input: exit 2.
func asInvalid(err error) error {
	return &exitError{code: ExitInvalid, err: err}
}
