package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bulkhead-dev/bulkhead/internal/apply"
)

// cacheLister lets the reconcile core plan against the informer cache.
// The cache indexes no fields, so field selectors (the core uses
// metadata.name and a Secret's type) are evaluated here.
func cacheLister(reader client.Reader) apply.Lister {
	return func(ctx context.Context, list runtime.Object, namespace string, opts metav1.ListOptions) error {
		ol, ok := list.(client.ObjectList)
		if !ok {
			return fmt.Errorf("internal error: %T is not a list", list)
		}
		// The cache's own objects are listed and filtered here; only what
		// is kept is copied (a lookup by name among a thousand namespaces
		// copies one).
		lo := []client.ListOption{client.InNamespace(namespace), client.UnsafeDisableDeepCopy}
		if opts.LabelSelector != "" {
			sel, err := labels.Parse(opts.LabelSelector)
			if err != nil {
				return err
			}
			lo = append(lo, client.MatchingLabelsSelector{Selector: sel})
		}
		if err := reader.List(ctx, ol, lo...); err != nil {
			return err
		}
		sel := fields.Everything()
		if opts.FieldSelector != "" {
			var err error
			if sel, err = fields.ParseSelector(opts.FieldSelector); err != nil {
				return err
			}
		}
		items, err := apimeta.ExtractList(ol)
		if err != nil {
			return err
		}
		kept := make([]runtime.Object, 0, len(items))
		for _, item := range items {
			if sel.Matches(objectFields(item)) {
				kept = append(kept, item.DeepCopyObject())
			}
		}
		return apimeta.SetList(ol, kept)
	}
}

// objectFields are the fields the core selects on.
func objectFields(obj runtime.Object) fields.Set {
	set := fields.Set{}
	if m, err := apimeta.Accessor(obj); err == nil {
		set["metadata.name"] = m.GetName()
		set["metadata.namespace"] = m.GetNamespace()
	}
	if s, ok := obj.(*corev1.Secret); ok {
		set["type"] = string(s.Type)
	}
	return set
}
