package audit

import (
	"context"
	"fmt"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// pageSize is the LIST page: large enough for few round trips, small enough
// that the API server never builds one huge response.
const pageSize = 500

// ReadCluster reads a snapshot of the cluster with paginated LISTs, all
// kinds at once, and asks discovery which resources exist so that "*"
// covers the cluster's CRDs too. Token Secrets are listed by type and
// their data dropped on arrival.
func ReadCluster(ctx context.Context, client kubernetes.Interface, source string) (*Snapshot, []string, error) {
	snap := &Snapshot{Source: source, Complete: true}
	var warnings []string
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := &group{cancel: cancel}
	all := metav1.ListOptions{}
	g.do(func() (err error) {
		snap.Namespaces, err = listAll(ctx, all, client.CoreV1().Namespaces().List, func(l *corev1.NamespaceList) ([]corev1.Namespace, string) { return l.Items, l.Continue })
		return wrapList(err, "namespaces")
	})
	g.do(func() (err error) {
		snap.ServiceAccounts, err = listAll(ctx, all, client.CoreV1().ServiceAccounts("").List, func(l *corev1.ServiceAccountList) ([]corev1.ServiceAccount, string) { return l.Items, l.Continue })
		return wrapList(err, "serviceaccounts")
	})
	g.do(func() error {
		opts := metav1.ListOptions{FieldSelector: "type=" + string(corev1.SecretTypeServiceAccountToken)}
		secrets, err := listAll(ctx, opts, client.CoreV1().Secrets("").List, func(l *corev1.SecretList) ([]corev1.Secret, string) {
			for i := range l.Items {
				l.Items[i] = tokenSecretMeta(l.Items[i])
			}
			return l.Items, l.Continue
		})
		snap.Secrets = secrets
		return wrapList(err, "secrets")
	})
	g.do(func() (err error) {
		snap.NetworkPolicies, err = listAll(ctx, all, client.NetworkingV1().NetworkPolicies("").List, func(l *networkingv1.NetworkPolicyList) ([]networkingv1.NetworkPolicy, string) {
			return l.Items, l.Continue
		})
		return wrapList(err, "networkpolicies")
	})
	g.do(func() (err error) {
		snap.ResourceQuotas, err = listAll(ctx, all, client.CoreV1().ResourceQuotas("").List, func(l *corev1.ResourceQuotaList) ([]corev1.ResourceQuota, string) { return l.Items, l.Continue })
		return wrapList(err, "resourcequotas")
	})
	g.do(func() (err error) {
		snap.Roles, err = listAll(ctx, all, client.RbacV1().Roles("").List, func(l *rbacv1.RoleList) ([]rbacv1.Role, string) { return l.Items, l.Continue })
		return wrapList(err, "roles")
	})
	g.do(func() (err error) {
		snap.ClusterRoles, err = listAll(ctx, all, client.RbacV1().ClusterRoles().List, func(l *rbacv1.ClusterRoleList) ([]rbacv1.ClusterRole, string) { return l.Items, l.Continue })
		return wrapList(err, "clusterroles")
	})
	g.do(func() (err error) {
		snap.RoleBindings, err = listAll(ctx, all, client.RbacV1().RoleBindings("").List, func(l *rbacv1.RoleBindingList) ([]rbacv1.RoleBinding, string) { return l.Items, l.Continue })
		return wrapList(err, "rolebindings")
	})
	g.do(func() (err error) {
		snap.ClusterRoleBindings, err = listAll(ctx, all, client.RbacV1().ClusterRoleBindings().List, func(l *rbacv1.ClusterRoleBindingList) ([]rbacv1.ClusterRoleBinding, string) {
			return l.Items, l.Continue
		})
		return wrapList(err, "clusterrolebindings")
	})
	g.do(func() error {
		bindings, err := listAll(ctx, all, client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().List,
			func(l *admissionregistrationv1.ValidatingAdmissionPolicyBindingList) ([]admissionregistrationv1.ValidatingAdmissionPolicyBinding, string) {
				return l.Items, l.Continue
			})
		snap.AdmissionPolicyBindings = bindings
		return wrapList(err, "validatingadmissionpolicybindings")
	})
	g.do(func() (err error) {
		snap.AdmissionPolicies, err = listAll(ctx, all, client.AdmissionregistrationV1().ValidatingAdmissionPolicies().List,
			func(l *admissionregistrationv1.ValidatingAdmissionPolicyList) ([]admissionregistrationv1.ValidatingAdmissionPolicy, string) {
				return l.Items, l.Continue
			})
		return wrapList(err, "validatingadmissionpolicies")
	})
	g.do(func() error {
		if v, err := client.Discovery().ServerVersion(); err == nil {
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
		snap.Resources = access.ResourcesFromDiscovery(lists)
		return nil
	})
	if err := g.wait(); err != nil {
		return nil, nil, err
	}
	return snap, warnings, nil
}

// listAll follows a LIST's continue tokens to the end.
func listAll[L any, T any](ctx context.Context, opts metav1.ListOptions, list func(context.Context, metav1.ListOptions) (*L, error), items func(*L) ([]T, string)) ([]T, error) {
	var out []T
	opts.Limit = pageSize
	for {
		l, err := list(ctx, opts)
		if err != nil {
			return nil, err
		}
		page, next := items(l)
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		opts.Continue = next
	}
}

func wrapList(err error, resource string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("listing %s: %w (audit needs list on namespaces, serviceaccounts, token secrets and every rbac.authorization.k8s.io kind cluster-wide; run it as a cluster admin)", resource, err)
}

// group runs the LISTs concurrently; the first failure cancels the rest.
type group struct {
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
	cancel context.CancelFunc
}

func (g *group) do(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, err)
			g.mu.Unlock()
			g.cancel()
		}
	}()
}

func (g *group) wait() error {
	g.wg.Wait()
	if len(g.errs) > 0 {
		return g.errs[0] // the others are usually "context canceled" because of it
	}
	return nil
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
