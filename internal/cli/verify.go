package cli

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
	"github.com/bulkhead-dev/bulkhead/internal/typo"
	"github.com/bulkhead-dev/bulkhead/internal/verify"
)

type verifyOptions struct {
	files   []string
	output  string
	others  int
	reviews bool
	only    []string // tenant names given as arguments
}

func newVerifyCmd(s Streams, f *factory) *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify [TENANT...] [-f PATH...] [--reviews]",
		Short: "Prove each member's isolation with the member's own credentials",
		Long: `For every member of every tenant, make real requests with that member's own
credentials (a 10-minute token for ServiceAccounts, impersonation for users and
groups): its own namespace must work, other tenants' namespaces, cluster-scoped
resources and its own guardrails must be forbidden. Writes are server-side dry
runs. Exits 1 if any expectation fails. Named tenants are the only ones
checked; every other tenant's namespace is still one they probe.

With --reviews, ask instead of prove: each check is a SubjectAccessReview for
the member's identity (what the controller runs continuously). No token is
issued and nothing is impersonated, but a review asks the authorizer only; the
checks that real requests leave to admission (Pod Security, the quota, the
admission policy on RoleBindings) become checks of the state that enforces them
(the namespace's labels, ResourceQuota bulkhead, the policy and its binding),
and their detail says so. Without --reviews the requests also go through
admission, so a guardrail that exists but does not work is caught too.`,
		Example: `  # Every tenant bulkhead manages on the cluster
  bulkhead verify

  # Only alice's members (they still probe the other tenants' namespaces)
  bulkhead verify alice

  # Only the tenants of a spec, as JSON
  bulkhead verify -f examples/researchers.yaml -o json

  # The same checks as SubjectAccessReviews: no tokens, no impersonation
  bulkhead verify --reviews`,
		RunE: func(cmd *cobra.Command, names []string) error {
			o.only = names
			if o.output != "table" && o.output != "json" {
				return invalid("--output must be table or json, got %q", o.output)
			}
			if o.others < 0 {
				return invalid("--others must be 0 (all) or more, got %d", o.others)
			}
			return o.run(cmd, s, f)
		},
	}
	cmd.Flags().StringSliceVarP(&o.files, "filename", "f", nil, "tenant spec files or directories; default: every bulkhead tenant on the cluster")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "table or json")
	cmd.Flags().BoolVar(&o.reviews, "reviews", false, "answer each check with a SubjectAccessReview (and state checks for admission) instead of a request with the member's credentials")
	cmd.Flags().IntVar(&o.others, "others", 20, "how many other tenants' namespaces each member probes (the next ones in name order, so every namespace is probed by that many others); 0 = all")
	return cmd
}

func (o *verifyOptions) run(cmd *cobra.Command, s Streams, f *factory) error {
	ctx := cmd.Context()
	var tenants []v1alpha1.Tenant
	if len(o.files) > 0 {
		ts, err := spec.Load(o.files, s.In)
		if err != nil {
			return err
		}
		tenants = plain(ts)
	}
	client, cfg, err := f.client()
	if err != nil {
		return err
	}
	if len(o.files) == 0 {
		if tenants, err = apply.Discover(ctx, client); err != nil {
			return err
		}
		if len(tenants) == 0 {
			return fmt.Errorf("no bulkhead tenants on this cluster: run `bulkhead apply -f SPEC` first, or pass -f")
		}
	}
	if err := namedAmong(o.only, tenants, len(o.files) > 0); err != nil {
		return err
	}
	opts := verify.Options{Others: o.others, Only: o.only}
	var report *verify.Report
	if o.reviews {
		report, err = verify.ReviewAll(ctx, client, tenants, opts)
	} else {
		report, err = verify.Run(ctx, cfg, tenants, opts)
	}
	if err != nil {
		return err
	}
	if o.output == "json" {
		err = report.JSON(s.Out)
	} else {
		err = report.Table(s.Out, isTerminal(s.Out))
	}
	if err != nil {
		return err
	}
	if !report.Passed() {
		return &exitError{code: ExitFailed, silent: o.output == "table",
			err: fmt.Errorf("%d of %d checks failed", len(report.Failures()), len(report.Checks))}
	}
	return nil
}

// namedAmong refuses a tenant name that is none of tenants (those of the
// spec files, or those bulkhead manages on the cluster).
func namedAmong(names []string, tenants []v1alpha1.Tenant, fromFiles bool) error {
	known := make([]string, 0, len(tenants))
	for _, t := range tenants {
		known = append(known, t.Name)
	}
	slices.Sort(known)
	where := "bulkhead manages no tenant of that name on this cluster"
	if fromFiles {
		where = "the spec files (-f) declare no tenant of that name"
	}
	for _, n := range names {
		if _, found := slices.BinarySearch(known, n); found {
			continue
		}
		if near := nearest(n, known); near != "" {
			return invalid("tenant %q: %s; did you mean %q?", n, where, near)
		}
		list := strings.Join(known, ", ")
		if len(known) > 10 {
			list = strings.Join(known[:10], ", ") + fmt.Sprintf(", … (%d in all)", len(known))
		}
		return invalid("tenant %q: %s; tenants: %s", n, where, list)
	}
	return nil
}

// nearest is the name among known within two edits of n (the closest,
// the first in order on a tie; two swapped letters are two edits), "" if
// none is.
func nearest(n string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := typo.Distance(n, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// isTerminal reports whether w is a terminal that should get colors.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && os.Getenv("NO_COLOR") == "" && term.IsTerminal(int(f.Fd()))
}
