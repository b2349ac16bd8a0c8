// Package read is bulkhead's one way to read a cluster: paginated LISTs
// through client-go's pager, handed to the caller page by page so memory
// stays bounded however many objects exist, apply, prune, discovery and audit read
// through it; a caller that has an informer cache can pass its own List.
package read

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/pager"
)

// PageSize is the LIST page: large enough for few round trips, small
// enough that the API server never builds one huge response.
const PageSize = 500

// Whole is the page size of a reader that keeps every object it lists
// (audit's snapshot): one LIST without a limit, as an informer's first
// LIST is, which the API server answers from its watch cache. Paginated,
// every continuation costs the server a request's fixed work and may be
// read from etcd: at 50,000 RoleBindings on the local control plane one
// response took 0.45 s, pages of 5,000 0.66-0.88 s, pages of 500 2.1 s.
const Whole = 0

// List is one typed client's List call, e.g. client.RbacV1().RoleBindings("").List.
type List[L runtime.Object] func(ctx context.Context, opts metav1.ListOptions) (L, error)

// Retry runs one request, retrying it while it fails transiently; nil runs
// it once.
type Retry func(ctx context.Context, fn func(context.Context) error) error

// Each calls fn for every item of a LIST, page by page; a page is dropped
// once fn has seen its items, so fn must copy what it keeps. T is the item
// type (corev1.Namespace), L its list (*corev1.NamespaceList).
func Each[T any, L runtime.Object](ctx context.Context, retry Retry, list List[L], opts metav1.ListOptions, fn func(*T) error) error {
	return EachPage(ctx, retry, list, opts, PageSize, fn)
}

// EachPage is Each with pages of pageSize objects; Whole asks for one
// response.
func EachPage[T any, L runtime.Object](ctx context.Context, retry Retry, list List[L], opts metav1.ListOptions, pageSize int64, fn func(*T) error) error {
	page := func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		var out L
		err := do(ctx, retry, func(ctx context.Context) (err error) {
			out, err = list(ctx, opts)
			return err
		})
		return out, err
	}
	p := pager.New(page)
	p.PageSize = pageSize
	p.PageBufferSize = 1
	return p.EachListItem(ctx, opts, func(obj runtime.Object) error {
		item, ok := any(obj).(*T)
		if !ok {
			return fmt.Errorf("internal error: list returned %T", obj)
		}
		return fn(item)
	})
}

// All collects every item of a LIST.
func All[T any, L runtime.Object](ctx context.Context, retry Retry, list List[L], opts metav1.ListOptions) ([]T, error) {
	var out []T
	err := Each(ctx, retry, list, opts, func(item *T) error {
		out = append(out, *item)
		return nil
	})
	return out, err
}

func do(ctx context.Context, retry Retry, fn func(context.Context) error) error {
	if retry == nil {
		return fn(ctx)
	}
	return retry(ctx, fn)
}
