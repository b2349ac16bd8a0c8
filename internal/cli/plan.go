package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// ExitChanges is plan's exit code when changes are pending, like terraform
// plan -detailed-exitcode.
const ExitChanges = 3

func newPlanCmd(s Streams, f *factory) *cobra.Command {
	var files []string
	var prune bool
	cmd := &cobra.Command{
		Use:   "plan -f PATH... [--prune]",
		Short: "Show what apply would create, change and prune, field by field (exit 3 when changes are pending)",
		Long: `Every change goes through the API server's dry run, so admission and validation
are checked too. Exit codes: 0 nothing to do, 3 changes pending, 1 the cluster
refused, 2 invalid input.`,
		Example: `  bulkhead plan -f tenants/ --prune`,
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tenants, err := loadSpec(files, s)
			if err != nil {
				return err
			}
			client, _, err := f.client()
			if err != nil {
				return err
			}
			objs := render.Tenants(plain(tenants))
			applier := apply.New(client, apply.Options{DryRun: true})
			results, err := applier.Apply(cmd.Context(), objs)
			if err != nil {
				return err
			}
			if prune {
				pruned, err := applier.Prune(cmd.Context(), objs, apply.PruneOptions{Now: time.Now()})
				if err != nil {
					return err
				}
				results = append(results, pruned...)
			}
			counts := map[apply.Action]int{}
			for _, r := range results {
				counts[r.Action]++
				switch r.Action {
				case apply.Created:
					fmt.Fprintf(s.Out, "+ %s (create)\n", apply.Describe(r.Object))
				case apply.Configured:
					fmt.Fprintf(s.Out, "~ %s (change)\n", apply.Describe(r.Object))
					for _, d := range r.Diff {
						fmt.Fprintf(s.Out, "    %s\n", d)
					}
				case apply.Pruned:
					fmt.Fprintf(s.Out, "- %s (prune)\n", apply.Describe(r.Object))
				}
			}
			changes := counts[apply.Created] + counts[apply.Configured] + counts[apply.Pruned]
			if changes == 0 {
				fmt.Fprintf(s.Out, "No changes: %d objects of %d tenants are up to date.\n", counts[apply.Unchanged], len(tenants))
				return nil
			}
			fmt.Fprintf(s.Out, "Plan: %d to create, %d to change, %d to prune; %d unchanged.\n",
				counts[apply.Created], counts[apply.Configured], counts[apply.Pruned], counts[apply.Unchanged])
			return &exitError{code: ExitChanges, silent: true, err: fmt.Errorf("%d changes pending", changes)}
		},
	}
	specFlag(cmd, &files)
	cmd.Flags().BoolVar(&prune, "prune", false, "also show what apply --prune would offboard")
	return cmd
}
