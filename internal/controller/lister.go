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
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
)

// The reconcile core looks up a tenant's Namespace by name and by tenant
// label on every reconcile; among thousands of Namespaces a scan of the
// cache each time is quadratic work, so the cache indexes both.
const (
	nsNameIndex   = "metadata.name"
	nsTenantIndex = "metadata.labels.tenant"
)

// namespaceIndexes are the cache indexes of Namespaces cacheLister uses.
var namespaceIndexes = map[string]client.IndexerFunc{
	nsNameIndex: func(o client.Object) []string { return []string{o.GetName()} },
	nsTenantIndex: func(o client.Object) []string {
		if t := o.GetLabels()[v1alpha1.TenantLabel]; t != "" {
			return []string{t}
		}
		return nil
	},
}

// indexNamespaces registers namespaceIndexes with the cache.
func indexNamespaces(ctx context.Context, idx client.FieldIndexer) error {
	for field, fn := range namespaceIndexes {
		if err := idx.IndexField(ctx, &corev1.Namespace{}, field, fn); err != nil {
			return fmt.Errorf("index namespaces by %s: %w", field, err)
		}
	}
	return nil
}

// cacheLister lets the reconcile core plan against the informer cache.
// Field selectors (the core uses metadata.name and a Secret's type) are
// evaluated here; Namespaces wanted by name or tenant label are found
// through the cache's indexes (indexNamespaces).
func cacheLister(reader client.Reader) apply.Lister {
	return func(ctx context.Context, list runtime.Object, namespace string, opts metav1.ListOptions) error {
		ol, ok := list.(client.ObjectList)
		if !ok {
			return fmt.Errorf("internal error: %T is not a list", list)
		}
		// The cache's own objects are listed and filtered here; only what
		// is kept is copied.
		lo := []client.ListOption{client.InNamespace(namespace), client.UnsafeDisableDeepCopy}
		var labelSel labels.Selector
		if opts.LabelSelector != "" {
			var err error
			if labelSel, err = labels.Parse(opts.LabelSelector); err != nil {
				return err
			}
			lo = append(lo, client.MatchingLabelsSelector{Selector: labelSel})
		}
		sel := fields.Everything()
		if opts.FieldSelector != "" {
			var err error
			if sel, err = fields.ParseSelector(opts.FieldSelector); err != nil {
				return err
			}
		}
		var items []runtime.Object
		if nl, ok := ol.(*corev1.NamespaceList); ok && namespace == "" {
			if index, keys := namespaceLookup(sel, labelSel); index != "" {
				for _, k := range keys {
					var part corev1.NamespaceList
					if err := reader.List(ctx, &part, append(lo, client.MatchingFields{index: k})...); err != nil {
						return err
					}
					for i := range part.Items {
						items = append(items, &part.Items[i])
					}
				}
				return setKept(nl, items, sel)
			}
		}
		if err := reader.List(ctx, ol, lo...); err != nil {
			return err
		}
		items, err := apimeta.ExtractList(ol)
		if err != nil {
			return err
		}
		return setKept(ol, items, sel)
	}
}

// namespaceLookup is the index and its keys that find every Namespace a
// selector can match: by name (metadata.name=X) or by tenant label (tenant
// in (...), tenant=X); "" when neither narrows it.
func namespaceLookup(fieldSel fields.Selector, labelSel labels.Selector) (string, []string) {
	if name, ok := fieldSel.RequiresExactMatch("metadata.name"); ok {
		return nsNameIndex, []string{name}
	}
	if labelSel == nil {
		return "", nil
	}
	reqs, _ := labelSel.Requirements()
	for _, r := range reqs {
		if r.Key() != v1alpha1.TenantLabel {
			continue
		}
		switch r.Operator() {
		case selection.In, selection.Equals, selection.DoubleEquals:
			return nsTenantIndex, r.Values().List()
		}
	}
	return "", nil
}

// setKept sets list to copies of the items sel matches.
func setKept(list runtime.Object, items []runtime.Object, sel fields.Selector) error {
	kept := make([]runtime.Object, 0, len(items))
	for _, item := range items {
		if sel.Matches(objectFields(item)) {
			kept = append(kept, item.DeepCopyObject())
		}
	}
	return apimeta.SetList(list, kept)
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
