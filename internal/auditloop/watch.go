package auditloop

import (
	"context"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

// Objects returns one empty object of every kind the audit reads (those of
// audit.Lists) and the Tenant.
func Objects() []client.Object {
	var lists audit.Lists
	var out []client.Object
	for _, e := range lists.Each() {
		items := reflect.ValueOf(e.Object).Elem().FieldByName("Items")
		out = append(out, reflect.New(items.Type().Elem()).Interface().(client.Object))
	}
	return append(out, &v1alpha1.Tenant{})
}

// CacheByObject is what the manager's cache must hold for the audit, to
// merge into cache.Options.ByObject: every kind of Objects, whole, except
// Secrets: only those of type kubernetes.io/service-account-token, with
// their data and annotations dropped on arrival, so the cache never holds
// a token. (The controller then cannot read other Secrets from the cache;
// it reads them with the API reader.)
func CacheByObject() map[client.Object]cache.ByObject {
	out := map[client.Object]cache.ByObject{}
	for _, o := range Objects() {
		out[o] = cache.ByObject{}
		if _, ok := o.(*corev1.Secret); ok {
			out[o] = cache.ByObject{
				Field:     fields.OneTermEqualSelector("type", string(corev1.SecretTypeServiceAccountToken)),
				Transform: StripToken,
			}
		}
	}
	return out
}

// StripToken is the cache transform of Secrets: a Secret keeps what the
// audit reads (audit.TokenSecretMeta) and what the informer needs (UID,
// resourceVersion); its data, other annotations (a last-applied copy holds
// the data) and managed fields are dropped. Other objects pass unchanged.
func StripToken(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	out := audit.TokenSecretMeta(*s)
	out.UID, out.ResourceVersion, out.Generation = s.UID, s.ResourceVersion, s.Generation
	out.CreationTimestamp, out.DeletionTimestamp = s.CreationTimestamp, s.DeletionTimestamp
	out.OwnerReferences = s.OwnerReferences
	return &out, nil
}

// Watch registers handlers on the informers of every kind of Objects that
// call Trigger when an object is added, deleted or changed in a way the
// audit can see (a Tenant's status writes are not: only its namespace).
// It creates the informers if the manager's cache has none yet.
func (l *Loop) Watch(mgr manager.Manager) error {
	ctx := context.Background() // GetInformer blocks only once the cache runs, until it syncs
	for _, o := range Objects() {
		inf, err := mgr.GetCache().GetInformer(ctx, o)
		if err != nil {
			return fmt.Errorf("watching %T for the continuous audit: %w", o, err)
		}
		if _, err := inf.AddEventHandler(l.handler()); err != nil {
			return fmt.Errorf("watching %T for the continuous audit: %w", o, err)
		}
	}
	return nil
}

func (l *Loop) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { l.Trigger() },
		DeleteFunc: func(any) { l.Trigger() },
		UpdateFunc: func(old, cur any) {
			if relevantUpdate(old, cur) {
				l.Trigger()
			}
		},
	}
}

// relevantUpdate reports whether an update can change the audit: not a
// resync (same resourceVersion), not a Tenant's status or metadata write
// unless its namespace moved.
func relevantUpdate(old, cur any) bool {
	o, ok1 := old.(client.Object)
	c, ok2 := cur.(client.Object)
	if !ok1 || !ok2 {
		return true
	}
	if o.GetResourceVersion() == c.GetResourceVersion() {
		return false
	}
	if ot, ok := o.(*v1alpha1.Tenant); ok {
		ct, ok := c.(*v1alpha1.Tenant)
		return !ok || ot.Spec.Namespace != ct.Spec.Namespace || ot.Status.Namespace != ct.Status.Namespace
	}
	return true
}
