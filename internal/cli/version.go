package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/version"
)

func newVersionCmd(s Streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version [-o json]",
		Short: "Print what this binary was built from; needs no cluster",
		Long: `Print bulkhead's version, the git commit it was built from (for builds in a
git clone), the Go and client-go versions, and the Kubernetes minor version it
targets: the Pod Security version it pins on tenant namespaces and the bootstrap
RBAC policy audit compares a cluster with.`,
		Example: `  bulkhead version
  bulkhead version -o json`,
		Args: args(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			if output != "" && output != "json" {
				return invalid("--output must be json, or omitted for the human-readable form; got %q", output)
			}
			info := version.Read()
			if output == "json" {
				return writeVersionJSON(s, info)
			}
			return writeVersion(s, info)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "json, or omitted for the human-readable form")
	return cmd
}

func writeVersionJSON(s Streams, info version.Info) error {
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		version.Info
	}{v1alpha1.SchemeGroupVersion.String(), "Version", info})
}

func writeVersion(s Streams, info version.Info) error {
	commit := "unknown (stamped only by builds in a git clone)"
	if info.GitCommit != "" {
		commit = fmt.Sprintf("%s (%s, %s)", info.GitCommit, info.GitTreeState, info.GitCommitTime)
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 1, ' ', 0)
	fmt.Fprintf(tw, "bulkhead Version:\t%s\n", info.Version)
	fmt.Fprintf(tw, "Git Commit:\t%s\n", commit)
	fmt.Fprintf(tw, "Go Version:\t%s %s\n", info.GoVersion, info.Platform)
	fmt.Fprintf(tw, "client-go Version:\t%s\n", info.ClientGo)
	fmt.Fprintf(tw, "Target Kubernetes Version:\t%s\n", info.Kubernetes)
	return tw.Flush()
}
