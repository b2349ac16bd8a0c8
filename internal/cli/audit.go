package cli

import (
	"fmt"
	"os"
	"runtime/debug"
	"slices"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

type auditOptions struct {
	snapshotOptions
	output   string
	failOn   string
	live     int
	liveSeed uint64
	k8sVer   string // --kubernetes-version
}

var auditOutputs = []string{"table", "json", "html"}

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

Exits 1 when a finding at or above --fail-on exists.`,
		Example: `  # The current cluster, as a table
  bulkhead audit

  # Manifests made by hand, failing only on critical findings
  bulkhead audit -f rbac/ --fail-on critical

  # A self-contained HTML report, with 200 answers checked by the API server
  bulkhead audit -o html --live 200 > audit.html`,
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
	cmd.Flags().StringVar(&o.k8sVer, "kubernetes-version", audit.DefaultKubernetesVersion, "the API server version manifests (-f) are judged for: up to v1.34 get on pods/exec or pods/attach is exec; a cluster's own version is read from discovery unless this is set")
	return cmd
}

func (o *auditOptions) run(cmd *cobra.Command, s Streams, f *factory, failOn audit.Severity) error {
	ctx := cmd.Context()
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(audit.GCPercent))
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
	report, err := audit.Run(snap, tenants)
	if err != nil {
		return err
	}
	if o.live > 0 {
		client, _, err := f.client()
		if err != nil {
			return err
		}
		if report.Live, err = audit.Live(ctx, client.AuthorizationV1(), snap, tenants, o.live, o.liveSeed); err != nil {
			return err
		}
	}
	switch o.output {
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
		return &exitError{code: ExitFailed, err: fmt.Errorf("%d %s at %s severity or above (--fail-on %s)", n, noun, failOn, failOn)}
	}
	if report.Live != nil && len(report.Live.Disagreements) > 0 {
		return &exitError{code: ExitFailed, err: fmt.Errorf("%d live checks disagree with the offline analysis", len(report.Live.Disagreements))}
	}
	return nil
}
