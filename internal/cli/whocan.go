package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/bulkhead-dev/bulkhead/internal/access"
	"github.com/bulkhead-dev/bulkhead/internal/audit"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

type whoCanOptions struct {
	snapshotOptions
	namespace     string
	namespaceSet  bool // -n given, even as -n ''
	allNamespaces bool
	clusterScope  bool
	hideBootstrap bool
	output        string
}

func newWhoCanCmd(s Streams, f *factory) *cobra.Command {
	o := &whoCanOptions{}
	cmd := &cobra.Command{
		Use:   "who-can VERB RESOURCE [NAME] [-n NAMESPACE | -A | --cluster-scope] [-f PATH...]",
		Short: "List the subjects that may do VERB on RESOURCE, and the bindings that let them",
		Long: `Answer from the RBAC objects of the cluster (or of manifests with -f), with the
API server's semantics: wildcards, subresources, resourceNames, RoleBindings to
ClusterRoles, aggregated ClusterRoles. Groups are listed as bound: every member
of a listed group can. SUBJECT is printed as can takes it.

Where the question is asked, as in a SubjectAccessReview:
  -n NAMESPACE     in that namespace: ClusterRoleBindings and its RoleBindings.
                   Kept for every resource, cluster-scoped ones included: the
                   API server asks "bind clusterroles NAME" and "escalate" in
                   the namespace of the RoleBinding being written.
  -A               in any namespace: whoever can somewhere (RoleBindings of every
                   namespace, and ClusterRoleBindings).
  --cluster-scope  with no namespace: only ClusterRoleBindings grant.
  (none)           cluster-scoped resources: the cluster scope; namespaces NAME:
                   that namespace; namespaced resources: the kubeconfig context's
                   namespace (with -f there is none: say which).

Whether a resource is namespaced comes from discovery, or with -f from the
built-in list and the CustomResourceDefinitions in the input.`,
		Example: `  # Who can read secrets in namespace alice?
  bulkhead who-can get secrets -n alice

  # Who can bind the ClusterRole admin with a RoleBinding in namespace bob?
  bulkhead who-can bind clusterroles admin -n bob

  # Who can exec into pods of bob, from hand-made manifests, leaving out the
  # bootstrap policy's controllers?
  bulkhead who-can create pods/exec -n bob -f rbac/ --hide-bootstrap`,
		Args: args(cobra.RangeArgs(2, 3)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			o.namespaceSet = cmd.Flags().Changed("namespace")
			if err := o.validate(argv); err != nil {
				return err
			}
			snap, err := loadAccessSnapshot(cmd.Context(), s, f, &o.snapshotOptions)
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
			any, err := o.place(s, f, e, &attrs)
			if err != nil {
				return err
			}
			holders := e.WhoCan(attrs)
			if any {
				holders = e.WhoCanAnyNamespace(attrs)
			}
			hidden := 0
			if o.hideBootstrap {
				boot, err := audit.UntouchedBootstrapBindings(snap)
				if err != nil {
					return err
				}
				holders, hidden = withoutBootstrap(holders, boot)
			}
			return writeHolders(s, o.output, question(attrs, any), holders, hidden)
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "", "ask in this namespace, for any resource (default: the kubeconfig context's namespace for namespaced resources read from a cluster)")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "ask in any namespace: who can somewhere (RoleBindings of every namespace, and ClusterRoleBindings)")
	cmd.Flags().BoolVar(&o.clusterScope, "cluster-scope", false, "ask with no namespace: what only ClusterRoleBindings grant")
	cmd.Flags().BoolVar(&o.hideBootstrap, "hide-bootstrap", false, "leave out what only the untouched bootstrap policy grants (controllers, nodes, discovery)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "table or json")
	return cmd
}

// validate checks the flags alone; it needs no snapshot.
func (o *whoCanOptions) validate(argv []string) error {
	if o.output != "table" && o.output != "json" {
		return invalid("--output must be table or json, got %q", o.output)
	}
	n := 0
	for _, set := range []bool{o.namespaceSet, o.allNamespaces, o.clusterScope} {
		if set {
			n++
		}
	}
	if n > 1 {
		return invalid("give one of -n NAMESPACE, -A (any namespace) and --cluster-scope (no namespace)")
	}
	if o.namespaceSet {
		if err := validNamespace(o.namespace); err != nil {
			return err
		}
	}
	if argv[0] == "" {
		return invalid("VERB is empty: give get, list, create, delete, bind, escalate, impersonate, ... or *")
	}
	return nil
}

// validNamespace refuses what cannot be a namespace, with the flag meant.
func validNamespace(ns string) error {
	switch {
	case ns == "":
		return invalid("-n '' names no namespace: give --cluster-scope to ask with no namespace, or -A for any namespace")
	case ns == "*":
		return invalid("-n '*' is not a namespace (RBAC has no wildcard namespace): give -A to ask in any namespace, or --cluster-scope to ask with no namespace")
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return invalid("-n %q is not a namespace name: %s", ns, strings.Join(errs, "; "))
	}
	return nil
}

// place puts the question where the API server would ask it (see the
// command's help) and reports whether it is asked in any namespace. Notes
// about assumptions go to stderr.
func (o *whoCanOptions) place(s Streams, f *factory, e *access.Engine, attrs *access.Attributes) (any bool, err error) {
	namespaced, known := e.Namespaced(attrs.Group, attrs.Resource)
	res := resourceName(*attrs)
	clusterScoped := attrs.IsResourceRequest() && known && !namespaced
	// A namespace on a cluster-scoped resource is what the API server asks
	// for bind and escalate (from a RoleBinding's namespace) and for a
	// Namespace's own requests; for anything else a real request carries
	// none, so say that the answer is the review's, not a request's.
	noteScope := func(where string) {
		if clusterScoped && attrs.Verb != "bind" && attrs.Verb != "escalate" && !(attrs.Group == "" && attrs.Resource == "namespaces") {
			fmt.Fprintf(s.ErrOut, "note: %s is cluster-scoped: requests for it carry no namespace except in the API server's own checks; answering %s as asked (--cluster-scope asks about the request itself)\n", res, where)
		}
	}
	switch {
	case !attrs.IsResourceRequest():
		if o.namespaceSet || o.allNamespaces {
			fmt.Fprintf(s.ErrOut, "note: non-resource URLs carry no namespace; -n and -A do not apply\n")
		}
	case o.clusterScope:
	case o.namespaceSet:
		attrs.Namespace = o.namespace
		noteScope("in namespace " + o.namespace)
	case o.allNamespaces:
		noteScope("in any namespace")
		return true, nil
	case attrs.Group == "" && attrs.Resource == "namespaces" && attrs.Name != "":
		attrs.Namespace = attrs.Name // requests for a namespace carry its name as namespace
	case clusterScoped:
	case !known && len(o.files) > 0:
		return false, invalid("resource %s is neither built in nor defined by a CustomResourceDefinition in the input, so whether it is namespaced is not known: "+
			"give -n NAMESPACE or -A if it is, --cluster-scope if it is not, or add its CustomResourceDefinition to -f", res)
	case len(o.files) > 0:
		return false, invalid("%s is namespaced: give -n NAMESPACE, or -A for any namespace", res)
	default:
		ns, _, err := f.clientConfig().Namespace()
		if err != nil {
			return false, err
		}
		if !known {
			fmt.Fprintf(s.ErrOut, "note: the cluster does not serve %s; assuming it is namespaced, in the context's namespace %s (--cluster-scope if it is not)\n", res, ns)
		}
		attrs.Namespace = ns
	}
	return false, nil
}

func resourceName(a access.Attributes) string {
	r := a.Resource
	if a.Group != "" {
		r += "." + a.Group
	}
	if a.Subresource != "" {
		r += "/" + a.Subresource
	}
	return r
}

// question renders the asked request: "in NS", "at cluster scope" or
// "in any namespace".
func question(a access.Attributes, any bool) string {
	ns := a.Namespace
	a.Namespace = ""
	q := strings.TrimSuffix(a.String(), " cluster-wide")
	switch {
	case !a.IsResourceRequest():
		return q
	case any:
		return q + " in any namespace"
	case ns != "":
		return q + " in " + ns
	}
	return q + " at cluster scope"
}

// withoutBootstrap drops the bindings in boot from every holder, and the
// holders left with none; it returns how many holders it dropped.
func withoutBootstrap(holders []access.Holder, boot map[access.BindingRef]bool) ([]access.Holder, int) {
	out := holders[:0:0]
	hidden := 0
	for _, h := range holders {
		var via []access.BindingRef
		for _, v := range h.Via {
			if !boot[v] {
				via = append(via, v)
			}
		}
		if len(via) == 0 {
			hidden++
			continue
		}
		h.Via = via
		out = append(out, h)
	}
	return out, hidden
}

func writeHolders(s Streams, output, request string, holders []access.Holder, hidden int) error {
	if output == "json" {
		type holder struct {
			Subject   string   `json:"subject"` // as can and who-can take it
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
			// HiddenBootstrap counts the holders --hide-bootstrap left out.
			HiddenBootstrap int `json:"hiddenBootstrap,omitempty"`
		}{APIVersion: audit.APIVersion, Kind: "WhoCan", Request: request, Holders: []holder{}, HiddenBootstrap: hidden}
		for _, h := range holders {
			var via []string
			for _, v := range h.Via {
				via = append(via, v.String())
			}
			out.Holders = append(out.Holders, holder{access.SubjectArg(h.Subject), h.Subject.Kind, h.Subject.Namespace, h.Subject.Name, via})
		}
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // "->" in bindings stays readable
		return enc.Encode(out)
	}
	if hidden > 0 {
		defer fmt.Fprintf(s.ErrOut, "%s held only through the untouched bootstrap policy not shown (--hide-bootstrap)\n", plural(hidden, "subject"))
	}
	if len(holders) == 0 {
		fmt.Fprintf(s.ErrOut, "no subject can %s\n", request)
		return nil
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBJECT\tVIA")
	for _, h := range holders {
		var via []string
		for _, v := range h.Via {
			via = append(via, v.String())
		}
		fmt.Fprintf(tw, "%s\t%s\n", access.SubjectArg(h.Subject), strings.Join(via, "; "))
	}
	return tw.Flush()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// loadAccessSnapshot reads what who-can and can answer from, without
// progress: the cluster (resources from discovery), or manifests, whose
// CustomResourceDefinitions add to the built-in resources.
func loadAccessSnapshot(ctx context.Context, s Streams, f *factory, o *snapshotOptions) (*audit.Snapshot, error) {
	if len(o.files) == 0 {
		o.quiet = true
		snap, _, err := o.load(ctx, s, f)
		return snap, err
	}
	files, err := spec.ReadFiles(o.files, s.In)
	if errs, ok := err.(*spec.Errors); ok {
		return nil, &audit.ManifestErrors{Errs: *errs}
	} else if err != nil {
		return nil, err
	}
	snap, _, err := audit.ParseFiles(files) // other kinds grant nothing: no word about them
	if err != nil {
		return nil, err
	}
	if crds := crdResources(files); len(crds) > 0 {
		if snap.Resources == nil {
			snap.Resources = access.StandardResources()
		}
		snap.Resources = append(snap.Resources, crds...)
	}
	return snap, nil
}

// crdResources reads the CustomResourceDefinitions among the documents (also
// inside Lists) as the resources, and status and scale subresources, they serve.
func crdResources(files []spec.File) []access.APIResource {
	type crd struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Items      []json.RawMessage `json:"items"`
		Spec       struct {
			Group string `json:"group"`
			Names struct {
				Plural string `json:"plural"`
			} `json:"names"`
			Scope    string `json:"scope"`
			Versions []struct {
				Subresources struct {
					Status json.RawMessage `json:"status"`
					Scale  json.RawMessage `json:"scale"`
				} `json:"subresources"`
			} `json:"versions"`
		} `json:"spec"`
	}
	crud := []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	var out []access.APIResource
	var add func(doc crd)
	add = func(doc crd) {
		if doc.Kind == "List" || strings.HasSuffix(doc.Kind, "List") && len(doc.Items) > 0 {
			for _, raw := range doc.Items {
				var item crd
				if json.Unmarshal(raw, &item) == nil {
					add(item)
				}
			}
			return
		}
		if doc.Kind != "CustomResourceDefinition" || !strings.HasPrefix(doc.APIVersion, "apiextensions.k8s.io/") || doc.Spec.Names.Plural == "" {
			return
		}
		r := access.APIResource{Group: doc.Spec.Group, Resource: doc.Spec.Names.Plural, Namespaced: doc.Spec.Scope != "Cluster", Verbs: crud}
		out = append(out, r)
		status, scale := false, false
		for _, v := range doc.Spec.Versions {
			status = status || v.Subresources.Status != nil
			scale = scale || v.Subresources.Scale != nil
		}
		if status {
			out = append(out, access.APIResource{Group: r.Group, Resource: r.Resource, Subresource: "status", Namespaced: r.Namespaced, Verbs: []string{"get", "patch", "update"}})
		}
		if scale {
			out = append(out, access.APIResource{Group: r.Group, Resource: r.Resource, Subresource: "scale", Namespaced: r.Namespaced, Verbs: []string{"get", "patch", "update"}})
		}
	}
	for _, file := range files {
		for _, c := range spec.Documents(file.Data) {
			var doc crd
			if yaml.Unmarshal(c.Text, &doc) == nil {
				add(doc)
			}
		}
	}
	return out
}
