package audit

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/internal/access"
	"github.com/bulkhead-dev/bulkhead/internal/read"
)

// ReadCluster reads a snapshot of the cluster with paginated LISTs, all
// kinds at once, and asks discovery which resources exist so that "*"
// covers the cluster's CRDs too. Token Secrets are listed by type and
// their data dropped on arrival.
func ReadCluster(ctx context.Context, client kubernetes.Interface, source string) (*Snapshot, []string, error) {
	var l Lists
	var resources []access.APIResource
	var warnings []string
	var version string // the API server's, for the verbs that changed upstream
	// The first failure cancels the other reads.
	g, ctx := errgroup.WithContext(ctx)
	all := metav1.ListOptions{}
	g.Go(func() (err error) {
		l.Namespaces.Items, err = listTrimmed[corev1.Namespace](ctx, client.CoreV1().Namespaces().List, all)
		return wrapList(err, "namespaces")
	})
	g.Go(func() (err error) {
		l.ServiceAccounts.Items, err = listTrimmed[corev1.ServiceAccount](ctx, client.CoreV1().ServiceAccounts("").List, all)
		return wrapList(err, "serviceaccounts")
	})
	g.Go(func() error {
		opts := metav1.ListOptions{FieldSelector: "type=" + string(corev1.SecretTypeServiceAccountToken)}
		var secrets []corev1.Secret
		err := read.EachPage(ctx, nil, client.CoreV1().Secrets("").List, opts, read.Whole, func(s *corev1.Secret) error {
			secrets = append(secrets, TokenSecretMeta(*s))
			return nil
		})
		l.Secrets.Items = secrets
		return wrapList(err, "secrets")
	})
	g.Go(func() (err error) {
		l.NetworkPolicies.Items, err = listTrimmed[networkingv1.NetworkPolicy](ctx, client.NetworkingV1().NetworkPolicies("").List, all)
		return wrapList(err, "networkpolicies")
	})
	g.Go(func() (err error) {
		l.ResourceQuotas.Items, err = listTrimmed[corev1.ResourceQuota](ctx, client.CoreV1().ResourceQuotas("").List, all)
		return wrapList(err, "resourcequotas")
	})
	g.Go(func() (err error) {
		l.Roles.Items, err = listTrimmed[rbacv1.Role](ctx, client.RbacV1().Roles("").List, all)
		return wrapList(err, "roles")
	})
	g.Go(func() (err error) {
		l.ClusterRoles.Items, err = listTrimmed[rbacv1.ClusterRole](ctx, client.RbacV1().ClusterRoles().List, all)
		return wrapList(err, "clusterroles")
	})
	g.Go(func() (err error) {
		l.RoleBindings.Items, err = listTrimmed[rbacv1.RoleBinding](ctx, client.RbacV1().RoleBindings("").List, all)
		return wrapList(err, "rolebindings")
	})
	g.Go(func() (err error) {
		l.ClusterRoleBindings.Items, err = listTrimmed[rbacv1.ClusterRoleBinding](ctx, client.RbacV1().ClusterRoleBindings().List, all)
		return wrapList(err, "clusterrolebindings")
	})
	g.Go(func() (err error) {
		l.AdmissionPolicyBindings.Items, err = listTrimmed[admissionregistrationv1.ValidatingAdmissionPolicyBinding](ctx, client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().List, all)
		return wrapList(err, "validatingadmissionpolicybindings")
	})
	g.Go(func() (err error) {
		l.AdmissionPolicies.Items, err = listTrimmed[admissionregistrationv1.ValidatingAdmissionPolicy](ctx, client.AdmissionregistrationV1().ValidatingAdmissionPolicies().List, all)
		return wrapList(err, "validatingadmissionpolicies")
	})
	g.Go(func() error {
		if v, err := client.Discovery().ServerVersion(); err == nil {
			version = v.GitVersion
			if w := baselineVersionWarning(v.GitVersion); w != "" {
				warnings = append(warnings, w)
			}
		}
		lists, err := client.Discovery().ServerPreferredResources()
		if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
			return fmt.Errorf("discovering the cluster's resources: %w", err)
		}
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("discovery: %v; \"*\" rules are expanded without those groups", err))
		}
		resources = access.ResourcesFromDiscovery(lists)
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	snap := l.Snapshot(source, resources)
	snap.KubernetesVersion = version
	return snap, warnings, nil
}

// listTrimmed lists every object of a kind and drops, page by page, what
// the audit never reads and a cluster's objects carry a lot of: their
// managedFields and kubectl's last-applied-configuration annotation (a
// copy of the whole object). At 50,000 RoleBindings that is most of the
// snapshot's memory.
func listTrimmed[T any, PT interface {
	*T
	metav1.Object
}, L runtime.Object](ctx context.Context, list read.List[L], opts metav1.ListOptions) ([]T, error) {
	var out []T
	// The snapshot keeps every object anyway: one response per kind
	// (read.Whole).
	err := read.EachPage(ctx, nil, list, opts, read.Whole, func(item *T) error {
		m := PT(item)
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a != nil {
			delete(a, corev1.LastAppliedConfigAnnotation)
		}
		out = append(out, *item)
		return nil
	})
	return out, err
}

func wrapList(err error, resource string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("listing %s: %w (audit needs list on namespaces, serviceaccounts, token secrets and every rbac.authorization.k8s.io kind cluster-wide; run it as a cluster admin)", resource, err)
}

// baselineVersionWarning says when the cluster's minor version is not the
// one whose bootstrap policy is embedded: system: roles that changed between
// versions then count as modified.
func baselineVersionWarning(server string) string {
	base, err := loadBaseline()
	// v0.0.0 is an API server built without version stamps (as from the
	// Go module proxy): nothing to compare.
	if err != nil || minor(server) == "" || strings.HasPrefix(server, "v0.0.0") || minor(server) == minor(base.version) {
		return ""
	}
	return fmt.Sprintf("the cluster runs %s; the bootstrap policy audit compares with is %s's, so system: roles changed between "+
		"the two may be reported as modified", server, base.version)
}

// minor is "v1.34" of "v1.34.4".
func minor(version string) string {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "." + parts[1]
}
