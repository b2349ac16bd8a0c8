package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

// reconcileFlags are the flags apply and plan share: what to read, and how
// far the run may reach beyond the input's tenants.
type reconcileFlags struct {
	files        []string
	tenantSet    string
	prune        bool
	deleteData   bool
	adopt        bool
	workers      int
	retryTimeout time.Duration
}

func (o *reconcileFlags) add(cmd *cobra.Command, verb string) {
	specFlag(cmd, &o.files)
	cmd.Flags().StringVar(&o.tenantSet, "tenant-set", "", "name of the set of tenants this input declares (e.g. the lab or repository it comes from); "+
		"tenants "+verb+" are labelled "+v1alpha1.TenantSetLabel+"=NAME, and --prune offboards only tenants of this set")
	cmd.Flags().BoolVar(&o.prune, "prune", false, "offboard the tenants of --tenant-set that the input no longer declares: revoke credentials, remove bindings, cordon their namespaces")
	cmd.Flags().BoolVar(&o.deleteData, "delete-data", false, "with --prune: delete offboarded tenants' namespaces and everything in them")
	cmd.Flags().BoolVar(&o.adopt, "adopt", false, "take over existing objects that bulkhead does not manage")
	cmd.Flags().IntVar(&o.workers, "concurrency", apply.DefaultWorkers, "concurrent writes")
	cmd.Flags().DurationVar(&o.retryTimeout, "retry-timeout", 30*time.Second, "how long a request keeps retrying while the API server is unavailable or throttling (0: no retries)")
}

func (o *reconcileFlags) validate() error {
	if o.deleteData && !o.prune {
		return invalid("--delete-data needs --prune")
	}
	if o.prune && o.tenantSet == "" {
		return invalid("--prune needs --tenant-set NAME: it offboards only the tenants this input applied before under that name, never other inputs' tenants")
	}
	if o.tenantSet != "" {
		if errs := validation.IsValidLabelValue(o.tenantSet); len(errs) > 0 || o.tenantSet == "" {
			return invalid("--tenant-set %q is not a valid label value: %s", o.tenantSet, errs[0])
		}
		if o.tenantSet == v1alpha1.ControllerTenantSet {
			return invalid("--tenant-set %s is the bulkhead controller's own set; choose another name (the controller's tenants are changed through their Tenant objects)", o.tenantSet)
		}
	}
	if o.workers < 1 {
		return invalid("--concurrency must be at least 1, got %d", o.workers)
	}
	if o.retryTimeout < 0 {
		return invalid("--retry-timeout must not be negative, got %s", o.retryTimeout)
	}
	return nil
}

func (o *reconcileFlags) scope() apply.Scope {
	return apply.Scope{TenantSet: o.tenantSet, Prune: o.prune, DeleteData: o.deleteData}
}

type applyOptions struct {
	reconcileFlags
	dryRun bool
}

func newApplyCmd(s Streams, f *factory) *cobra.Command {
	o := &applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply -f PATH... [--tenant-set NAME [--prune]]",
		Short: "Make each tenant's namespace, ServiceAccounts, Roles, RoleBindings and guardrails exactly what its spec says",
		Long: `Each Tenant document is the complete declaration of that tenant: apply creates and
updates what its spec renders and removes what that tenant no longer has (a removed
or demoted member's RoleBinding, a removed ServiceAccount after revoking its tokens,
a Role level nobody holds, a guardrail turned off). Only objects labelled as the
tenant's are touched.

Whole tenants that left the input are offboarded only with --prune, and only among
the tenants this input applied before under the same --tenant-set name.`,
		Example: `  # Provision every tenant in a file, a directory, or standard input
  bulkhead apply -f examples/researchers.yaml
  bulkhead apply -f tenants/ --dry-run

  # Keep one lab's tenants in their own set; offboard those it no longer lists
  bulkhead apply -f labs/vision/ --tenant-set vision --prune`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd, s, f)
		},
	}
	o.add(cmd, "applied")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "have the API server check every change without persisting it")
	return cmd
}

func (o *applyOptions) run(cmd *cobra.Command, s Streams, f *factory) error {
	defer limitMemory()()
	tenants, err := loadSpec(o.files, s)
	if err != nil {
		return err
	}
	suffix := ""
	if o.dryRun {
		suffix = " (server dry run)"
	}
	start := time.Now()
	var bar *progress
	run, err := newReconcileRun(cmd, f, o.reconcileFlags, o.dryRun, func(c apply.Change) { bar.report(c) })
	if err != nil {
		return err
	}
	plan, err := run.plan(cmd, tenants)
	if err != nil {
		return err
	}
	bar = newProgress(s.ErrOut, plan.objects())
	sets := run.reconciler.Execute(cmd.Context(), plan.Plan)
	// In input order, whatever order the workers finished in, so that output
	// is stable and diffable; failures are listed once, in the error.
	t := tally(sets)
	for _, cs := range sets {
		for _, c := range cs.Changes {
			if c.Err == nil {
				fmt.Fprintln(s.Out, c.String()+suffix)
			}
		}
	}
	cordoned := ""
	if n := t[apply.Cordoned]; n > 0 {
		cordoned = fmt.Sprintf(", %d cordoned", n)
	}
	fmt.Fprintf(s.ErrOut, "%d tenants, %d objects: %d created, %d configured, %d unchanged, %d removed%s, %d failed%s in %s\n",
		len(tenants), t.total(), t[apply.Created], t[apply.Configured], t[apply.Unchanged], t.removed(), cordoned, t[apply.Failed],
		suffix, time.Since(start).Round(time.Millisecond))
	return failure(sets, t)
}

// specFlag registers -f the same way on every verb that reads tenants.
func specFlag(cmd *cobra.Command, files *[]string) {
	cmd.Flags().StringSliceVarP(files, "filename", "f", nil, "tenant spec files or directories (*.yaml, *.yml); - for standard input")
}

// loadSpec reads the tenants of -f, which the verb requires.
func loadSpec(files []string, s Streams) ([]spec.Tenant, error) {
	if len(files) == 0 {
		return nil, invalid("no tenant spec given: pass -f FILE, -f DIR or -f -")
	}
	return spec.Load(files, s.In)
}

// plain drops where each tenant came from; rendering needs only the tenant.
func plain(ts []spec.Tenant) []v1alpha1.Tenant {
	out := make([]v1alpha1.Tenant, len(ts))
	for i, t := range ts {
		out[i] = t.Tenant
	}
	return out
}
