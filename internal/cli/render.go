package cli

import (
	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/internal/render"
)

func newRenderCmd(s Streams) *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "render -f PATH...",
		Short: "Print the objects apply would write, as YAML, without contacting a cluster",
		Example: `  # Review the objects, or hand them to another tool
  bulkhead render -f examples/researchers.yaml | kubectl apply --server-side -f -`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tenants, err := loadSpec(files, s)
			if err != nil {
				return err
			}
			out, err := render.YAML(render.Tenants(plain(tenants)))
			if err != nil {
				return err
			}
			_, err = s.Out.Write(out)
			return err
		},
	}
	specFlag(cmd, &files)
	return cmd
}
