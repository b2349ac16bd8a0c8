package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/internal/install"
)

// installOptions are the flags of `bulkhead install`.
type installOptions struct {
	print  bool
	image  string
	dryRun string
}

func newInstallCmd(s Streams, f *factory) *cobra.Command {
	o := &installOptions{}
	cmd := &cobra.Command{
		Use:   "install [--print] [--image IMAGE] [--dry-run=server]",
		Short: "Install bulkhead's controller: its CRDs, RBAC, namespace and Deployment",
		Long: `Applies the manifests built into this binary (the kustomize tree config/default
of bulkhead's repository, the same objects "kubectl apply -k config/default"
applies) with server-side apply, field manager "bulkhead": the CRDs first,
then, once the API server serves them, the namespace bulkhead-system, the
controller's ServiceAccount and RBAC, and its Deployment. Running it again
changes only what differs. --print writes the manifests instead.`,
		Example: `  # Everything, with the controller image of this release
  bulkhead install

  # Another image (a registry mirror, a digest)
  bulkhead install --image registry.example.com/bulkhead:v0.2.0

  # Review first, or have the API server check without writing
  bulkhead install --print | less
  bulkhead install --dry-run=server`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd, s, f)
		},
	}
	cmd.Flags().BoolVar(&o.print, "print", false, "write the manifests to standard output instead of applying them")
	cmd.Flags().StringVar(&o.image, "image", "", "the controller image, NAME[:TAG][@DIGEST] (default: the one in config/manager/kustomization.yaml)")
	cmd.Flags().StringVar(&o.dryRun, "dry-run", "none", `"server": the API server validates and admits every object without persisting it`)
	return cmd
}

func (o *installOptions) validate() error {
	switch o.dryRun {
	case "none", "server":
	case "client":
		return invalid("--dry-run=client is not supported: use --print to see the manifests, or --dry-run=server to have the API server check them")
	default:
		return invalid("--dry-run must be none or server, not %q", o.dryRun)
	}
	if o.print && o.dryRun == "server" {
		return invalid("--print and --dry-run=server exclude each other: --print does not contact the cluster")
	}
	return nil
}

func (o *installOptions) run(cmd *cobra.Command, s Streams, f *factory) error {
	m, err := install.Render(install.Options{Image: o.image})
	if err != nil {
		return err
	}
	if o.print {
		_, err := s.Out.Write(m.YAML)
		return err
	}
	cfg, err := f.restConfig()
	if err != nil {
		return err
	}
	a, err := install.NewApplier(cfg)
	if err != nil {
		return err
	}
	_, err = a.Apply(cmd.Context(), m.Objects, install.ApplyOptions{
		DryRun:   o.dryRun == "server",
		Progress: func(r install.Result) { fmt.Fprintln(s.Out, r) },
	})
	return err
}
