package audit

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// Lists are the API lists a cluster snapshot is made of, one per kind an
// audit reads. ReadCluster fills them with paginated LISTs; a controller
// fills them from its informer cache (Each names them). Both then call
// Snapshot, so the two see the same kinds and hold tokens the same way.
type Lists struct {
	Namespaces          corev1.NamespaceList
	ServiceAccounts     corev1.ServiceAccountList
	Secrets             corev1.SecretList // only type kubernetes.io/service-account-token is kept
	NetworkPolicies     networkingv1.NetworkPolicyList
	ResourceQuotas      corev1.ResourceQuotaList
	Roles               rbacv1.RoleList
	ClusterRoles        rbacv1.ClusterRoleList
	RoleBindings        rbacv1.RoleBindingList
	ClusterRoleBindings rbacv1.ClusterRoleBindingList
	AdmissionPolicies   admissionregistrationv1.ValidatingAdmissionPolicyList
	// AdmissionPolicyBindings are the ValidatingAdmissionPolicyBindings.
	AdmissionPolicyBindings admissionregistrationv1.ValidatingAdmissionPolicyBindingList
}

// List is one of Lists: the resource it holds ("rolebindings", for
// messages) and the list object to fill.
type List struct {
	Resource string
	Object   runtime.Object // *corev1.NamespaceList, ...
}

// Each returns every list of l, in a fixed order.
func (l *Lists) Each() []List {
	return []List{
		{"namespaces", &l.Namespaces},
		{"serviceaccounts", &l.ServiceAccounts},
		{"secrets", &l.Secrets},
		{"networkpolicies", &l.NetworkPolicies},
		{"resourcequotas", &l.ResourceQuotas},
		{"roles", &l.Roles},
		{"clusterroles", &l.ClusterRoles},
		{"rolebindings", &l.RoleBindings},
		{"clusterrolebindings", &l.ClusterRoleBindings},
		{"validatingadmissionpolicies", &l.AdmissionPolicies},
		{"validatingadmissionpolicybindings", &l.AdmissionPolicyBindings},
	}
}

// Snapshot returns the snapshot of a whole cluster made of l's items (not
// copies: the snapshot shares them with l). Secrets other than
// ServiceAccount tokens are dropped, and tokens keep only their metadata,
// whatever the lists held. resources is what "*" expands to (nil: the
// built-in resources).
func (l *Lists) Snapshot(source string, resources []access.APIResource) *Snapshot {
	snap := &Snapshot{
		Source:                  source,
		Complete:                true,
		NetworkPolicies:         l.NetworkPolicies.Items,
		ResourceQuotas:          l.ResourceQuotas.Items,
		AdmissionPolicies:       l.AdmissionPolicies.Items,
		AdmissionPolicyBindings: l.AdmissionPolicyBindings.Items,
	}
	snap.Namespaces = l.Namespaces.Items
	snap.ServiceAccounts = l.ServiceAccounts.Items
	snap.Roles = l.Roles.Items
	snap.ClusterRoles = l.ClusterRoles.Items
	snap.RoleBindings = l.RoleBindings.Items
	snap.ClusterRoleBindings = l.ClusterRoleBindings.Items
	snap.Resources = resources
	for _, s := range l.Secrets.Items {
		if s.Type == corev1.SecretTypeServiceAccountToken {
			snap.Secrets = append(snap.Secrets, TokenSecretMeta(s))
		}
	}
	return snap
}
