package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/render"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

type applyOptions struct {
	files      []string
	dryRun     bool
	adopt      bool
	workers    int
	prune      bool
	deleteData bool
}

func newApplyCmd(s Streams, f *factory) *cobra.Command {
	o := &applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply -f PATH...",
		Short: "Create or update tenants' namespaces, ServiceAccounts, Roles and RoleBindings",
		Example: `  # Provision every tenant in a file, a directory, or standard input
  bulkhead apply -f examples/researchers.yaml
  bulkhead apply -f tenants/ --dry-run`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd, s, f)
		},
	}
	specFlag(cmd, &o.files)
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "have the API server check every change without persisting it")
	cmd.Flags().BoolVar(&o.adopt, "adopt", false, "take over existing objects that bulkhead does not manage")
	cmd.Flags().IntVar(&o.workers, "concurrency", apply.DefaultWorkers, "concurrent writes")
	cmd.Flags().BoolVar(&o.prune, "prune", false, "offboard what bulkhead manages and the spec no longer names: revoke credentials, remove bindings, cordon removed tenants' namespaces (the spec must list every tenant)")
	cmd.Flags().BoolVar(&o.deleteData, "delete-data", false, "with --prune: delete removed tenants' namespaces and everything in them")
	return cmd
}

func (o *applyOptions) validate() error {
	if o.deleteData && !o.prune {
		return invalid("--delete-data needs --prune")
	}
	if o.workers < 1 {
		return invalid("--concurrency must be at least 1, got %d", o.workers)
	}
	return nil
}

func (o *applyOptions) run(cmd *cobra.Command, s Streams, f *factory) error {
	tenants, err := loadSpec(o.files, s)
	if err != nil {
		return err
	}
	client, _, err := f.client()
	if err != nil {
		return err
	}
	objs := render.Tenants(plain(tenants))
	suffix := ""
	if o.dryRun {
		suffix = " (server dry run)"
	}
	start := time.Now()
	bar := newProgress(s.ErrOut, len(objs))
	applier := apply.New(client, apply.Options{DryRun: o.dryRun, Adopt: o.adopt, Workers: o.workers, Progress: bar.report})
	results, err := applier.Apply(cmd.Context(), objs)
	if err == nil && o.prune {
		var pruned []apply.Result
		pruned, err = applier.Prune(cmd.Context(), objs, apply.PruneOptions{DeleteData: o.deleteData, Now: time.Now()})
		results = append(results, pruned...)
	}
	// In input order, whatever order the workers finished in, so that output
	// is stable and diffable; failures are listed once, in the error.
	counts := map[apply.Action]int{}
	for _, r := range results {
		counts[r.Action]++
		if r.Err == nil {
			fmt.Fprintln(s.Out, r.String()+suffix)
		}
	}
	if results != nil {
		pruned := ""
		if o.prune {
			pruned = fmt.Sprintf(", %d revoked, %d deleted, %d cordoned", counts[apply.Revoked], counts[apply.Deleted]+counts[apply.Pruned], counts[apply.Cordoned])
		}
		fmt.Fprintf(s.ErrOut, "%d tenants, %d objects: %d created, %d configured, %d unchanged%s, %d failed%s in %s\n",
			len(tenants), len(objs), counts[apply.Created], counts[apply.Configured], counts[apply.Unchanged], pruned, counts[apply.Failed],
			suffix, time.Since(start).Round(time.Millisecond))
	}
	return err
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
