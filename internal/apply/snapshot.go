package apply

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// Reading existing objects: one paginated LIST per kind is cheapest for many
// objects; for a few objects on a big cluster, a GET each is cheaper than
// listing every namespace or RoleBinding there is.
const (
	listPage     = 2000 // a thousand tenants take a few requests per kind
	getThreshold = 100  // up to this many objects of a kind, GET them
)

// snapshot reads the existing objects that objs name, every kind concurrently.
func (a *Applier) snapshot(ctx context.Context, objs []render.Object) (map[string]live, error) {
	wanted := map[string]map[string]bool{}
	for _, o := range objs {
		k := deref(o.GetKind())
		if _, ok := a.kinds[k]; !ok {
			return nil, fmt.Errorf("internal error: apply does not know kind %q", k)
		}
		if wanted[k] == nil {
			wanted[k] = map[string]bool{}
		}
		wanted[k][key(deref(o.GetNamespace()), deref(o.GetName()))] = true
	}
	var (
		mu   sync.Mutex
		out  = map[string]live{}
		errs []error
		wg   sync.WaitGroup
	)
	for k, names := range wanted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			read := listAll
			if len(names) <= getThreshold {
				read = a.getEach
			}
			found, err := read(ctx, a.kinds[k], names)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for n, l := range found {
				out[k+"/"+n] = l
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func toLive(k kind, obj metav1.Object) (live, error) {
	owned, err := k.extract(obj)
	return live{labels: obj.GetLabels(), owned: owned}, err
}

func listAll(ctx context.Context, k kind, names map[string]bool) (map[string]live, error) {
	var items []metav1.Object
	opts := metav1.ListOptions{Limit: listPage}
	for {
		page, next, err := k.list(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list %ss: %w", k.resource, err)
		}
		for _, it := range page {
			if names[key(it.GetNamespace(), it.GetName())] {
				items = append(items, it)
			}
		}
		if next == "" {
			break
		}
		opts.Continue = next
	}
	return extractAll(k, items)
}

// extractAll reads the owned fields of many objects on every core: decoding
// managed fields is the CPU cost of a no-op apply.
func extractAll(k kind, items []metav1.Object) (map[string]live, error) {
	lives := make([]live, len(items))
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(items); i += workers {
				lives[i], errs[i] = toLive(k, items[i])
			}
		}()
	}
	wg.Wait()
	found := make(map[string]live, len(items))
	for i, it := range items {
		if errs[i] != nil {
			return nil, errs[i]
		}
		found[key(it.GetNamespace(), it.GetName())] = lives[i]
	}
	return found, nil
}

func (a *Applier) getEach(ctx context.Context, k kind, names map[string]bool) (map[string]live, error) {
	var (
		mu    sync.Mutex
		found = map[string]live{}
		errs  []error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, a.opts.Workers)
	)
	for n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ns, name := splitKey(n)
			obj, err := k.get(ctx, ns, name)
			var l live
			if err == nil {
				l, err = toLive(k, obj)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				errs = append(errs, fmt.Errorf("get %s %s: %w", k.resource, n, err))
			default:
				found[n] = l
			}
		}()
	}
	wg.Wait()
	return found, errors.Join(errs...)
}
