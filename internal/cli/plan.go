package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/internal/apply"
)

// ExitChanges is plan's exit code when changes are pending, like terraform
// plan -detailed-exitcode.
const ExitChanges = 3

func newPlanCmd(s Streams, f *factory) *cobra.Command {
	var o reconcileFlags
	cmd := &cobra.Command{
		Use:   "plan -f PATH... [--tenant-set NAME [--prune]]",
		Short: "Show what apply would create, change and remove, field by field (exit 3 when changes are pending)",
		Long: `Every write goes through the API server's dry run, so admission and validation
are checked too. Removals are listed with "-": objects of the input's tenants
that their specs no longer produce and, with --prune, the tenants of --tenant-set
the input no longer declares. Exit codes: 0 nothing to do, 3 changes pending,
1 the cluster refused, 2 invalid input.`,
		Example: `  bulkhead plan -f tenants/
  bulkhead plan -f labs/vision/ --tenant-set vision --prune`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			defer limitMemory()()
			tenants, err := loadSpec(o.files, s)
			if err != nil {
				return err
			}
			run, err := newReconcileRun(cmd, f, o, true, nil)
			if err != nil {
				return err
			}
			plan, err := run.plan(cmd, tenants)
			if err != nil {
				return err
			}
			sets := run.reconciler.Execute(cmd.Context(), plan.Plan)
			t := tally(sets)
			if err := failure(sets, t); err != nil {
				return err
			}
			for _, cs := range sets {
				for _, c := range cs.Changes {
					printPlanned(s, c)
				}
			}
			changes := t.total() - t[apply.Unchanged]
			if changes == 0 {
				fmt.Fprintf(s.Out, "No changes: %d objects of %d tenants are up to date.\n", t[apply.Unchanged], len(tenants))
				return nil
			}
			cordon := ""
			if n := t[apply.Cordoned]; n > 0 {
				cordon = fmt.Sprintf(", %d to cordon", n)
			}
			fmt.Fprintf(s.Out, "Plan: %d to create, %d to change, %d to remove%s; %d unchanged.\n",
				t[apply.Created], t[apply.Configured], t.removed(), cordon, t[apply.Unchanged])
			return &exitError{code: ExitChanges, silent: true, err: fmt.Errorf("%d changes pending", changes)}
		},
	}
	o.add(cmd, "planned")
	return cmd
}

func printPlanned(s Streams, c apply.Change) {
	switch c.Action {
	case apply.Created:
		fmt.Fprintf(s.Out, "+ %s (create)\n", c.Object)
	case apply.Configured:
		fmt.Fprintf(s.Out, "~ %s (change)\n", c.Object)
		for _, d := range c.Diff {
			fmt.Fprintf(s.Out, "    %s\n", d)
		}
	case apply.Removed:
		fmt.Fprintf(s.Out, "- %s (remove)\n", c.Object)
	case apply.Revoked:
		fmt.Fprintf(s.Out, "- %s (remove, revoking its tokens)\n", c.Object)
	case apply.Cordoned:
		fmt.Fprintf(s.Out, "- %s (cordon: keep its data, refuse new pods)\n", c.Object)
	case apply.Deleted:
		fmt.Fprintf(s.Out, "- %s (delete with all its data)\n", c.Object)
	}
}
