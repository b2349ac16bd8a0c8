package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

type whoCanOptions struct {
	snapshotOptions
	namespace string
	output    string
}

func newWhoCanCmd(s Streams, f *factory) *cobra.Command {
	o := &whoCanOptions{}
	cmd := &cobra.Command{
		Use:   "who-can VERB RESOURCE [NAME] [-n NAMESPACE] [-f PATH...]",
		Short: "List the subjects that may do VERB on RESOURCE, and the bindings that let them",
		Long: `Answer from the RBAC objects of the cluster (or of manifests with -f), with the
API server's semantics: wildcards, subresources, resourceNames, RoleBindings to
ClusterRoles, aggregated ClusterRoles. Without -n the question is about the
cluster scope, which only ClusterRoleBindings grant. Groups are listed as bound:
every member of a listed group can.`,
		Example: `  # Who can read secrets in namespace alice?
  bulkhead who-can get secrets -n alice

  # Who can exec into pods of bob, from hand-made manifests?
  bulkhead who-can create pods/exec -n bob -f rbac/`,
		Args: args(cobra.RangeArgs(2, 3)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if o.output != "table" && o.output != "json" {
				return invalid("--output must be table or json, got %q", o.output)
			}
			snap, _, err := o.load(cmd.Context(), s, f)
			if err != nil {
				return err
			}
			e := access.New(&snap.Snapshot)
			attrs, err := e.ParseResource(argv[1])
			if err != nil {
				return invalid("%v", err)
			}
			attrs.Verb, attrs.Namespace = argv[0], o.namespace
			if len(argv) == 3 {
				attrs.Name = argv[2]
			}
			return writeHolders(s, o.output, attrs, e.WhoCan(attrs))
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "", "the namespace of the question (default: the cluster scope)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "table or json")
	return cmd
}

func writeHolders(s Streams, output string, attrs access.Attributes, holders []access.Holder) error {
	if output == "json" {
		type holder struct {
			Kind      string   `json:"kind"`
			Namespace string   `json:"namespace,omitempty"`
			Name      string   `json:"name"`
			Via       []string `json:"via"`
		}
		out := struct {
			Request string   `json:"request"`
			Holders []holder `json:"holders"`
		}{Request: attrs.String(), Holders: []holder{}}
		for _, h := range holders {
			var via []string
			for _, v := range h.Via {
				via = append(via, v.String())
			}
			out.Holders = append(out.Holders, holder{h.Subject.Kind, h.Subject.Namespace, h.Subject.Name, via})
		}
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(holders) == 0 {
		fmt.Fprintf(s.ErrOut, "no subject can %s\n", attrs)
		return nil
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAMESPACE\tNAME\tVIA")
	for _, h := range holders {
		var via []string
		for _, v := range h.Via {
			via = append(via, v.String())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Subject.Kind, dash(h.Subject.Namespace), h.Subject.Name, strings.Join(via, "; "))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
