package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/internal/access"
	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

type canOptions struct {
	snapshotOptions
	namespace string
	output    string
}

// matrixVerbs are the columns of can's matrix, as rakkess shows them.
var matrixVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

func newCanCmd(s Streams, f *factory) *cobra.Command {
	o := &canOptions{}
	cmd := &cobra.Command{
		Use:   "can SUBJECT [-n NAMESPACE] [-f PATH...]",
		Short: "Show what a subject may do: where it holds rights, or its matrix in one namespace",
		Long: `SUBJECT is system:serviceaccount:NAMESPACE:NAME (or serviceaccount:NAMESPACE/NAME),
user:NAME or group:NAME. A ServiceAccount carries its groups (system:serviceaccounts,
system:serviceaccounts:NAMESPACE, system:authenticated), a user system:authenticated;
other groups of a user come from its authenticator and are not known here.

Without -n: the namespaces where the subject holds rights, and through which
bindings. With -n: the resources × verbs matrix in that namespace (rows where
something is allowed), cluster-wide grants included.`,
		Example: `  # Where does bob's ServiceAccount hold rights?
  bulkhead can system:serviceaccount:bob:bob

  # What may alice do in namespace alice?
  bulkhead can user:alice -n alice`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if o.output != "table" && o.output != "json" {
				return invalid("--output must be table or json, got %q", o.output)
			}
			subject, user, err := access.ParseSubject(argv[0])
			if err != nil {
				return invalid("%v", err)
			}
			o.quiet = true
			snap, _, err := o.load(cmd.Context(), s, f)
			if err != nil {
				return err
			}
			e := access.New(&snap.Snapshot)
			if o.namespace == "" {
				return writeWhere(s, o.output, subject, user, e)
			}
			return writeMatrix(s, o.output, user, o.namespace, e)
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "", "show the matrix in this namespace")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "table or json")
	return cmd
}

type where struct {
	Namespace string `json:"namespace"` // "*" for cluster-wide
	Via       string `json:"via"`
	Subject   string `json:"subject"` // the subject or group the binding names
}

// writeWhere lists the bindings that apply to the subject's identity: its
// own and its groups'.
func writeWhere(s Streams, output string, subject access.Subject, user access.UserInfo, e *access.Engine) error {
	named := []access.Subject{subject}
	for _, g := range user.Groups {
		if group := (access.Subject{Kind: "Group", Name: g}); group != subject {
			named = append(named, group)
		}
	}
	var rows []where
	for _, n := range named {
		for _, g := range e.Grants(n) {
			if g.Inert || g.RoleMissing {
				continue
			}
			ns := g.Namespace
			if ns == "" {
				ns = "*"
			}
			rows = append(rows, where{Namespace: ns, Via: g.Binding.String(), Subject: n.String()})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Namespace < rows[j].Namespace })
	if output == "json" {
		return encodeJSON(s, struct {
			APIVersion string  `json:"apiVersion"`
			Kind       string  `json:"kind"`
			Subject    string  `json:"subject"`
			Grants     []where `json:"grants"`
		}{audit.APIVersion, "CanWhere", subject.String(), append([]where{}, rows...)})
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tAS\tVIA")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Namespace, r.Subject, r.Via)
	}
	return tw.Flush()
}

type matrixRow struct {
	Resource string          `json:"resource"`
	Verbs    map[string]bool `json:"verbs"`
}

func writeMatrix(s Streams, output string, user access.UserInfo, ns string, e *access.Engine) error {
	var rows []matrixRow
	for _, r := range e.Resources() {
		if r.Virtual || !r.Namespaced {
			continue
		}
		row := matrixRow{Resource: r.Name(), Verbs: map[string]bool{}}
		if r.Group != "" {
			row.Resource = r.Resource + "." + r.Group
			if r.Subresource != "" {
				row.Resource += "/" + r.Subresource
			}
		}
		any := false
		for _, v := range matrixVerbs {
			if !slices.Contains(r.Verbs, v) {
				continue
			}
			ok := e.Allowed(user, access.Attributes{Verb: v, Group: r.Group, Resource: r.Resource, Subresource: r.Subresource, Namespace: ns})
			row.Verbs[v] = ok
			any = any || ok
		}
		if any {
			rows = append(rows, row)
		}
	}
	// The Namespace object itself: requests for it carry its name as their
	// namespace, so a Role in it can grant them (and strip pod security).
	self := matrixRow{Resource: "namespaces/" + ns + " (the namespace itself)", Verbs: map[string]bool{}}
	selfAllowed := false
	for _, v := range []string{"get", "update", "patch", "delete"} {
		ok := e.Allowed(user, access.Attributes{Verb: v, Resource: "namespaces", Name: ns, Namespace: ns})
		self.Verbs[v] = ok
		selfAllowed = selfAllowed || ok
	}
	if selfAllowed {
		rows = append(rows, self)
	}
	if output == "json" {
		return encodeJSON(s, struct {
			APIVersion string      `json:"apiVersion"`
			Kind       string      `json:"kind"`
			Namespace  string      `json:"namespace"`
			Resources  []matrixRow `json:"resources"`
		}{audit.APIVersion, "CanMatrix", ns, append([]matrixRow{}, rows...)})
	}
	if len(rows) == 0 {
		fmt.Fprintf(s.ErrOut, "nothing is allowed in namespace %s\n", ns)
		return nil
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\t"+strings.ToUpper(strings.Join([]string{"get", "list", "watch", "create", "update", "patch", "delete", "delcol"}, "\t")))
	for _, r := range rows {
		cells := []string{r.Resource}
		for _, v := range matrixVerbs {
			ok, has := r.Verbs[v]
			switch {
			case !has:
				cells = append(cells, "")
			case ok:
				cells = append(cells, "yes")
			default:
				cells = append(cells, "no")
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func encodeJSON(s Streams, v any) error {
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
