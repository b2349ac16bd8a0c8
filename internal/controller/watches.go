package controller

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// tenantHandler maps an object to the tenant its labels name, looking at
// both sides of an update: an object whose labels were edited away is
// still its tenant's to put back. A Role or RoleBinding bulkhead does not
// manage maps to the tenant owning its namespace, whose verification it
// may change.
type tenantHandler struct{ reader client.Reader }

func (h *tenantHandler) Create(ctx context.Context, e event.CreateEvent, q queue) {
	h.enqueue(ctx, q, e.Object)
}

func (h *tenantHandler) Update(ctx context.Context, e event.UpdateEvent, q queue) {
	h.enqueue(ctx, q, e.ObjectOld, e.ObjectNew)
}

func (h *tenantHandler) Delete(ctx context.Context, e event.DeleteEvent, q queue) {
	h.enqueue(ctx, q, e.Object)
}

func (h *tenantHandler) Generic(ctx context.Context, e event.GenericEvent, q queue) {
	h.enqueue(ctx, q, e.Object)
}

func (h *tenantHandler) enqueue(ctx context.Context, q queue, objs ...client.Object) {
	seen := map[string]bool{}
	for _, o := range objs {
		if o == nil {
			continue
		}
		for _, t := range append([]string{h.tenantOf(ctx, o)}, h.tenantsAffected(ctx, o)...) {
			if t != "" && !seen[t] {
				seen[t] = true
				q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: t}})
			}
		}
	}
}

func (h *tenantHandler) tenantOf(ctx context.Context, o client.Object) string {
	l := o.GetLabels()
	if l[v1alpha1.ManagedByLabel] == v1alpha1.ManagedByValue && l[v1alpha1.TenantLabel] != "" {
		return l[v1alpha1.TenantLabel]
	}
	return ""
}

// tenantsAffected are the controller's tenants whose verification an RBAC
// object bulkhead does not manage may change: the tenant owning its
// namespace and the tenants whose ServiceAccounts it names.
func (h *tenantHandler) tenantsAffected(ctx context.Context, o client.Object) []string {
	if o.GetLabels()[v1alpha1.ManagedByLabel] == v1alpha1.ManagedByValue {
		return nil
	}
	var namespaces []string
	switch b := o.(type) {
	case *rbacv1.Role:
		namespaces = []string{b.Namespace}
	case *rbacv1.RoleBinding:
		namespaces = append([]string{b.Namespace}, subjectNamespaces(b.Subjects)...)
	case *rbacv1.ClusterRoleBinding:
		namespaces = subjectNamespaces(b.Subjects)
	}
	var out []string
	for _, name := range namespaces {
		var ns corev1.Namespace
		if h.reader.Get(ctx, types.NamespacedName{Name: name}, &ns) == nil &&
			ns.Labels[v1alpha1.ManagedByLabel] == v1alpha1.ManagedByValue &&
			ns.Labels[v1alpha1.TenantSetLabel] == v1alpha1.ControllerTenantSet {
			out = append(out, ns.Labels[v1alpha1.TenantLabel])
		}
	}
	return out
}

// subjectNamespaces are the namespaces whose ServiceAccounts subjects name,
// one by one or as the group system:serviceaccounts:NS.
func subjectNamespaces(subjects []rbacv1.Subject) []string {
	var out []string
	for _, s := range subjects {
		switch {
		case s.Kind == rbacv1.ServiceAccountKind && s.Namespace != "":
			out = append(out, s.Namespace)
		case s.Kind == rbacv1.GroupKind && strings.HasPrefix(s.Name, serviceAccountsGroupPrefix):
			out = append(out, strings.TrimPrefix(s.Name, serviceAccountsGroupPrefix))
		}
	}
	return out
}

const serviceAccountsGroupPrefix = "system:serviceaccounts:"

// deleting passes updates that mark a Tenant for deletion.
type deleting struct{ predicate.Funcs }

func (deleting) Update(e event.UpdateEvent) bool {
	return e.ObjectNew != nil && !e.ObjectNew.GetDeletionTimestamp().IsZero()
}

func (deleting) Create(event.CreateEvent) bool   { return false }
func (deleting) Delete(event.DeleteEvent) bool   { return false }
func (deleting) Generic(event.GenericEvent) bool { return false }
