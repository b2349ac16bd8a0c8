package cli

import (
	"encoding/json"
	"fmt"
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
something is allowed), cluster-wide grants included: the standard verbs, then
under OTHER bind, escalate, impersonate, approve, sign and custom verbs rules
name; the built-in resources, the cluster's (or the input's) custom resources
and resources rules name without a definition (assumed namespaced); then the
non-resource URLs rules name. Subjects print as they are typed here.`,
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
			if cmd.Flags().Changed("namespace") {
				if err := validNamespace(o.namespace); err != nil {
					return err
				}
			}
			snap, err := loadAccessSnapshot(cmd.Context(), s, f, &o.snapshotOptions)
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
			rows = append(rows, where{Namespace: ns, Via: g.Binding.String(), Subject: access.SubjectArg(n)})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Namespace < rows[j].Namespace })
	if output == "json" {
		return encodeJSON(s, struct {
			APIVersion string  `json:"apiVersion"`
			Kind       string  `json:"kind"`
			Subject    string  `json:"subject"`
			Grants     []where `json:"grants"`
		}{audit.APIVersion, "CanWhere", access.SubjectArg(subject), append([]where{}, rows...)})
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
	// Named are verbs allowed only on the objects listed (resourceNames).
	Named map[string][]string `json:"named,omitempty"`
	// Assumed says the resource is not in the resource list (no
	// CustomResourceDefinition for it): rules name it, and it is taken to
	// be namespaced.
	Assumed bool `json:"assumedNamespaced,omitempty"`
}

type nonResourceRow struct {
	URL   string   `json:"url"`
	Verbs []string `json:"verbs"`
}

func writeMatrix(s Streams, output string, user access.UserInfo, ns string, e *access.Engine) error {
	m := e.Matrix(user, ns)
	rows := []matrixRow{}
	for _, r := range m.Rows {
		row := matrixRow{Resource: r.Resource.Name(), Verbs: r.Allowed, Named: r.Named, Assumed: r.FromRules}
		switch {
		case r.Self:
			row.Resource = "namespaces/" + ns + " (the namespace itself)"
		case r.Resource.Group != "":
			row.Resource = r.Resource.Resource + "." + r.Resource.Group
			if r.Resource.Subresource != "" {
				row.Resource += "/" + r.Resource.Subresource
			}
		}
		if !r.Resource.Namespaced && !r.Self {
			row.Resource += " (bind/escalate checks in this namespace)"
		}
		if r.FromRules {
			row.Resource += " (named in rules; assumed namespaced)"
		}
		rows = append(rows, row)
	}
	urls := []nonResourceRow{}
	for _, u := range m.NonResource {
		urls = append(urls, nonResourceRow{URL: u.URL, Verbs: u.Allowed})
	}
	if output == "json" {
		return encodeJSON(s, struct {
			APIVersion  string           `json:"apiVersion"`
			Kind        string           `json:"kind"`
			Namespace   string           `json:"namespace"`
			Resources   []matrixRow      `json:"resources"`
			NonResource []nonResourceRow `json:"nonResourceURLs"`
		}{audit.APIVersion, "CanMatrix", ns, rows, urls})
	}
	if len(rows) == 0 && len(urls) == 0 {
		fmt.Fprintf(s.ErrOut, "nothing is allowed in namespace %s\n", ns)
		return nil
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	if len(rows) > 0 {
		fmt.Fprintln(tw, "RESOURCE\tGET\tLIST\tWATCH\tCREATE\tUPDATE\tPATCH\tDELETE\tDELCOL\tOTHER")
		for i, r := range rows {
			cells := []string{r.Resource}
			for _, v := range access.MatrixVerbs() {
				ok, has := r.Verbs[v]
				switch {
				case len(r.Named[v]) > 0:
					cells = append(cells, "named")
				case !has:
					cells = append(cells, "")
				case ok:
					cells = append(cells, "yes")
				default:
					cells = append(cells, "no")
				}
			}
			cells = append(cells, otherVerbs(m.Rows[i]))
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
	}
	if len(urls) > 0 {
		if len(rows) > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw, "NON-RESOURCE URL\tVERBS")
		for _, u := range urls {
			fmt.Fprintf(tw, "%s\t%s\n", u.URL, strings.Join(u.Verbs, ","))
		}
	}
	return tw.Flush()
}

// otherVerbs is the OTHER cell: verbs beyond the standard ones, then every
// verb allowed only by name, as verb(name,...).
func otherVerbs(r access.MatrixRow) string {
	cells := r.Other()
	var named []string
	for v, names := range r.Named {
		named = append(named, v+"("+strings.Join(names, ",")+")")
	}
	sort.Strings(named)
	return strings.Join(append(cells, named...), ",")
}

func encodeJSON(s Streams, v any) error {
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "->" in bindings stays readable
	return enc.Encode(v)
}
