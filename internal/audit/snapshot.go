package audit

import (
	"fmt"
	"sort"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// Snapshot is what an audit reads: the RBAC objects the engine needs, plus
// the objects the other rules look at. Token Secrets carry metadata and
// type only: the readers drop their data, so no token is ever held.
type Snapshot struct {
	access.Snapshot
	Secrets []corev1.Secret // type kubernetes.io/service-account-token only
	// NetworkPolicies and ResourceQuotas tell whether a tenant's namespace
	// is isolated on the network and capped (PROCEDURE.md's open networks
	// and unbounded GPUs).
	NetworkPolicies []networkingv1.NetworkPolicy
	ResourceQuotas  []corev1.ResourceQuota
	// AdmissionPolicies and AdmissionPolicyBindings are the
	// ValidatingAdmissionPolicies and their bindings; bulkhead's
	// bulkhead-tenant-rolebindings limits what tenant admins can bind.
	AdmissionPolicies       []admissionregistrationv1.ValidatingAdmissionPolicy
	AdmissionPolicyBindings []admissionregistrationv1.ValidatingAdmissionPolicyBinding

	// KubernetesVersion is the API server's version ("v1.34.4"): the
	// cluster's, or what manifests are assumed to be applied to; "" means
	// DefaultKubernetesVersion. Verbs that changed upstream follow it.
	KubernetesVersion string

	// Source says where the snapshot came from, for the report.
	Source string
	// Complete is set when the snapshot is a whole cluster: an object that
	// is absent really does not exist. Manifests may be partial, so rules
	// that report missing objects only trust namespaces they saw populated.
	Complete bool
	// Origins maps "Kind namespace/name" to where a manifest defined it
	// ("file.yaml:12"), for messages.
	Origins map[string]string
}

// Tenant is a namespace audit treats as one tenant's.
type Tenant struct {
	Name      string
	Namespace string
	Managed   bool // labelled by bulkhead apply
}

// TenantOptions say which namespaces are tenants. Without names or a
// selector: the namespaces bulkhead manages, or, when there are none,
// every namespace that is not a system namespace.
type TenantOptions struct {
	Names    []string
	Selector labels.Selector
}

// Tenants picks the tenants of snap.
func Tenants(snap *Snapshot, opts TenantOptions) ([]Tenant, error) {
	nsLabels := map[string]map[string]string{}
	for _, ns := range snap.Namespaces {
		nsLabels[ns.Name] = ns.Labels
	}
	all := namespaceNames(snap)
	managed := func(ns string) bool {
		l := nsLabels[ns]
		return l[v1alpha1.ManagedByLabel] == v1alpha1.ManagedByValue && l[v1alpha1.TenantLabel] != ""
	}
	tenant := func(ns string) Tenant {
		t := Tenant{Name: ns, Namespace: ns, Managed: managed(ns)}
		if t.Managed {
			t.Name = nsLabels[ns][v1alpha1.TenantLabel]
		}
		return t
	}
	var out []Tenant
	switch {
	case len(opts.Names) > 0:
		known := map[string]bool{}
		for _, ns := range all {
			known[ns] = true
		}
		picked := map[string]bool{}
		for _, n := range opts.Names {
			if picked[n] {
				continue
			}
			picked[n] = true
			if !known[n] {
				return nil, fmt.Errorf("tenant namespace %q is not in the snapshot; the namespaces are: %s", n, Abbreviate(all, 10))
			}
			out = append(out, tenant(n))
		}
	case opts.Selector != nil:
		for _, ns := range all {
			if opts.Selector.Matches(labels.Set(nsLabels[ns])) {
				out = append(out, tenant(ns))
			}
		}
	default:
		for _, ns := range all {
			if managed(ns) {
				out = append(out, tenant(ns))
			}
		}
		if len(out) == 0 {
			for _, ns := range all {
				if !SystemNamespace(ns) {
					out = append(out, tenant(ns))
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out, nil
}

// SystemNamespace reports whether ns belongs to the cluster rather than to a
// tenant: default and the kube- namespaces.
func SystemNamespace(ns string) bool {
	return ns == "default" || strings.HasPrefix(ns, "kube-")
}

// namespaceNames lists every namespace the snapshot knows of: Namespace
// objects, and namespaces that manifests only mention.
func namespaceNames(snap *Snapshot) []string {
	seen := map[string]bool{}
	add := func(ns string) {
		if ns != "" {
			seen[ns] = true
		}
	}
	for _, ns := range snap.Namespaces {
		add(ns.Name)
	}
	for _, sa := range snap.ServiceAccounts {
		add(sa.Namespace)
	}
	for _, r := range snap.Roles {
		add(r.Namespace)
	}
	for _, rb := range snap.RoleBindings {
		add(rb.Namespace)
	}
	for _, s := range snap.Secrets {
		add(s.Namespace)
	}
	out := make([]string, 0, len(seen))
	for ns := range seen {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// Abbreviate joins the first n items of list and counts the rest, for
// messages: "a, b and 3 more".
func Abbreviate(list []string, n int) string {
	if len(list) <= n {
		return strings.Join(list, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(list[:n], ", "), len(list)-n)
}
