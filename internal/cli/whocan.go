package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/internal/access"
	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

type whoCanOptions struct {
	snapshotOptions
	namespace     string
	allNamespaces bool
	output        string
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
			if o.allNamespaces && o.namespace != "" {
				return invalid("give -n NAMESPACE or -A, not both")
			}
			if argv[0] == "" {
				return invalid("VERB is empty: give get, list, create, delete, impersonate, ... or *")
			}
			o.quiet = true
			snap, _, err := o.load(cmd.Context(), s, f)
			if err != nil {
				return err
			}
			e := access.New(&snap.Snapshot)
			attrs, err := e.ParseResource(argv[1])
			if err != nil {
				return invalid("%v", err)
			}
			attrs.Verb = argv[0]
			if len(argv) == 3 {
				attrs.Name = argv[2]
			}
			if err := o.scope(s, f, e, &attrs); err != nil {
				return err
			}
			if o.allNamespaces {
				return writeHolders(s, o.output, attrs, whoCanAnywhere(e, attrs))
			}
			return writeHolders(s, o.output, attrs, e.WhoCan(attrs))
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "", "the namespace of the question (default: the kubeconfig context's namespace for namespaced resources read from a cluster)")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "who can, in any namespace (RoleBindings everywhere and ClusterRoleBindings)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "table or json")
	return cmd
}

// scope places the question the way the API server would: no namespace for
// cluster-scoped resources, the namespace itself for namespaces/NAME, and
// for namespaced resources -n, -A or the kubeconfig's namespace.
func (o *whoCanOptions) scope(s Streams, f *factory, e *access.Engine, attrs *access.Attributes) error {
	namespaced, known := e.Namespaced(attrs.Group, attrs.Resource)
	switch {
	case !attrs.IsResourceRequest():
	case attrs.Group == "" && attrs.Resource == "namespaces" && attrs.Name != "":
		attrs.Namespace = attrs.Name // requests for a namespace carry its name as namespace
	case known && !namespaced:
		if o.namespace != "" || o.allNamespaces {
			fmt.Fprintf(s.ErrOut, "warning: resource %q is not namespace scoped; answering for the cluster\n", attrs.Resource)
		}
		o.allNamespaces = false
	case o.namespace != "":
		attrs.Namespace = o.namespace
	case o.allNamespaces:
	case len(o.files) > 0:
		return invalid("%s is namespaced: give -n NAMESPACE or -A", attrs.Resource)
	default:
		ns, _, err := f.clientConfig().Namespace()
		if err != nil {
			return err
		}
		attrs.Namespace = ns
	}
	return nil
}

// whoCanAnywhere merges WhoCan over the cluster scope and every namespace
// with RoleBindings.
func whoCanAnywhere(e *access.Engine, attrs access.Attributes) []access.Holder {
	at := map[access.Subject]int{}
	var out []access.Holder
	merge := func(hs []access.Holder) {
		for _, h := range hs {
			i, ok := at[h.Subject]
			if !ok {
				i = len(out)
				at[h.Subject] = i
				out = append(out, access.Holder{Subject: h.Subject})
			}
			for _, v := range h.Via {
				if !slices.Contains(out[i].Via, v) {
					out[i].Via = append(out[i].Via, v)
				}
			}
		}
	}
	attrs.Namespace = ""
	merge(e.WhoCan(attrs))
	for _, ns := range e.BindingNamespaces() {
		attrs.Namespace = ns
		merge(e.WhoCan(attrs))
	}
	slices.SortFunc(out, func(x, y access.Holder) int {
		return cmp.Or(cmp.Compare(x.Subject.Kind, y.Subject.Kind), cmp.Compare(x.Subject.Namespace, y.Subject.Namespace), cmp.Compare(x.Subject.Name, y.Subject.Name))
	})
	return out
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
			APIVersion string   `json:"apiVersion"`
			Kind       string   `json:"kind"`
			Request    string   `json:"request"`
			Holders    []holder `json:"holders"`
		}{APIVersion: audit.APIVersion, Kind: "WhoCan", Request: attrs.String(), Holders: []holder{}}
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
