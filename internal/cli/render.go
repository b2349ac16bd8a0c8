package cli

import (
	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/internal/render"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
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
			if len(files) == 0 {
				return invalid("no tenant spec given: pass -f FILE, -f DIR or -f -")
			}
			tenants, err := spec.Load(files, s.In)
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
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "tenant spec files or directories (*.yaml, *.yml); - for standard input")
	return cmd
}
