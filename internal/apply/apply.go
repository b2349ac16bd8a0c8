// Package apply writes rendered objects to a cluster with server-side apply
// under one field manager. It reads what exists with one paginated LIST per
// kind, refuses to take over objects bulkhead does not manage, skips objects
// whose bulkhead-owned fields already match, and writes the rest concurrently.
package apply

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// FieldManager is the one field manager every bulkhead write uses.
const FieldManager = v1alpha1.FieldManager

// Action is what apply did (or, in a dry run, would do) to one object.
type Action string

const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Failed     Action = "failed"
	// Prune's actions.
	Revoked  Action = "revoked" // ServiceAccount and its token Secrets deleted
	Deleted  Action = "deleted"
	Cordoned Action = "cordoned" // namespace kept, new pods refused
	Pruned   Action = "pruned"   // in a plan: would be removed
)

// Result is the outcome for one object.
type Result struct {
	Object render.Object
	Action Action
	Err    error
	// Diff lists the changed fields of a Configured object.
	Diff []string
}

// String reads like kubectl: `role.rbac.authorization.k8s.io/bulkhead-edit in bob configured`.
func (r Result) String() string {
	s := Describe(r.Object)
	if r.Err != nil {
		return fmt.Sprintf("%s %s: %v", s, r.Action, r.Err)
	}
	return s + " " + string(r.Action)
}

// Describe names an object the way messages name it.
func Describe(o render.Object) string {
	s := resourceName(deref(o.GetKind())) + "/" + deref(o.GetName())
	if ns := deref(o.GetNamespace()); ns != "" {
		s += " in " + ns
	}
	return s
}

func resourceName(k string) string {
	switch k {
	case "Role", "RoleBinding":
		return strings.ToLower(k) + ".rbac.authorization.k8s.io"
	case "NetworkPolicy":
		return "networkpolicy.networking.k8s.io"
	case "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
		return strings.ToLower(k) + ".admissionregistration.k8s.io"
	}
	return strings.ToLower(k)
}

// Options tune an Applier.
type Options struct {
	// DryRun asks the API server to validate and admit every write without
	// persisting it.
	DryRun bool
	// Adopt takes over existing objects that bulkhead does not manage.
	Adopt bool
	// Workers bounds concurrent writes; 0 means DefaultWorkers.
	Workers int
	// Progress, when set, is called once per object as it completes, from one
	// goroutine at a time.
	Progress func(Result)
}

// DefaultWorkers keeps the local API server busy without queueing in it.
const DefaultWorkers = 32

// Applier applies rendered objects to one cluster.
type Applier struct {
	client   kubernetes.Interface
	kinds    map[string]kind
	opts     Options
	reportMu sync.Mutex // Progress is called from one goroutine at a time
}

// New returns an Applier writing through client.
func New(client kubernetes.Interface, opts Options) *Applier {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	return &Applier{client: client, kinds: kinds(client), opts: opts}
}

// ConflictError lists objects that exist and that bulkhead may not change.
// Apply returns it before writing anything.
type ConflictError struct{ Conflicts []string }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%d existing object(s) not managed by this tenant; nothing was written:\n  %s",
		len(e.Conflicts), strings.Join(e.Conflicts, "\n  "))
}

// Apply makes the cluster hold objs. It returns one Result per object, in
// input order, and an error when listing failed, when objects conflict
// (nothing is written then) or when some writes failed.
func (a *Applier) Apply(ctx context.Context, objs []render.Object) ([]Result, error) {
	existing, err := a.snapshot(ctx, objs)
	if err != nil {
		return nil, err
	}
	wants := make([]any, len(objs))
	for i, o := range objs {
		if wants[i], err = normalize(o); err != nil {
			return nil, fmt.Errorf("encode %s: %w", Describe(o), err)
		}
	}
	if err := a.preflight(objs, wants, existing); err != nil {
		return nil, err
	}

	results := make([]Result, len(objs))
	var todo []int
	for i, o := range objs {
		results[i] = Result{Object: o, Action: Created}
		cur, ok := existing[kindKey(o)]
		if !ok {
			todo = append(todo, i)
			continue
		}
		results[i].Action = Configured
		if reflect.DeepEqual(wants[i], cur.owned) {
			results[i].Action = Unchanged
			a.report(results[i])
			continue
		}
		results[i].Diff = diff(cur.owned, wants[i])
		todo = append(todo, i)
	}

	// Namespaces first: nothing can be created in a namespace that does not exist yet.
	var cluster, namespaced []int
	for _, i := range todo {
		if deref(objs[i].GetNamespace()) == "" {
			cluster = append(cluster, i)
		} else {
			namespaced = append(namespaced, i)
		}
	}
	a.write(ctx, objs, results, cluster, nil)
	var pending map[string]bool // namespaces a dry run would create
	if a.opts.DryRun {
		pending = map[string]bool{}
		for _, i := range cluster {
			if deref(objs[i].GetKind()) == "Namespace" && results[i].Action == Created && results[i].Err == nil {
				pending[deref(objs[i].GetName())] = true
			}
		}
	}
	a.write(ctx, objs, results, namespaced, pending)

	var failed []string
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.String())
		}
	}
	if len(failed) > 0 {
		return results, fmt.Errorf("%d of %d objects failed:\n  %s", len(failed), len(objs), strings.Join(failed, "\n  "))
	}
	return results, nil
}

// write applies objs[idx...] with a bounded pool of workers. In a dry run,
// objects in namespaces the run would create cannot be sent to the server (the
// namespace does not exist there); they are reported as created.
func (a *Applier) write(ctx context.Context, objs []render.Object, results []Result, idx []int, pending map[string]bool) {
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if a.opts.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(a.opts.Workers, len(idx)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				o := objs[i]
				if !pending[deref(o.GetNamespace())] {
					if err := a.kinds[deref(o.GetKind())].apply(ctx, o, opts); err != nil {
						results[i].Action, results[i].Err = Failed, err
					}
				}
				a.report(results[i])
			}
		}()
	}
	for _, i := range idx {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

func (a *Applier) report(r Result) {
	if a.opts.Progress == nil {
		return
	}
	a.reportMu.Lock()
	defer a.reportMu.Unlock()
	a.opts.Progress(r)
}

// preflight refuses, all at once, objects that exist and are not this
// tenant's: someone else's namespace or Role must never silently become ours.
func (a *Applier) preflight(objs []render.Object, wants []any, existing map[string]live) error {
	var conflicts []string
	for i, o := range objs {
		cur, ok := existing[kindKey(o)]
		if !ok {
			continue
		}
		tenant := labelOf(wants[i], v1alpha1.TenantLabel)
		switch {
		case cur.labels[v1alpha1.ManagedByLabel] != v1alpha1.ManagedByValue:
			if !a.opts.Adopt {
				conflicts = append(conflicts, fmt.Sprintf("%s exists and is not managed by bulkhead: rename the tenant or member, delete the object, or pass --adopt to take it over", Describe(o)))
			}
		case cur.labels[v1alpha1.TenantLabel] != tenant:
			conflicts = append(conflicts, fmt.Sprintf("%s belongs to bulkhead tenant %q, not %q: give tenant %q another namespace or remove tenant %q first",
				Describe(o), cur.labels[v1alpha1.TenantLabel], tenant, tenant, cur.labels[v1alpha1.TenantLabel]))
		}
	}
	if len(conflicts) > 0 {
		sort.Strings(conflicts)
		return &ConflictError{Conflicts: conflicts}
	}
	return nil
}

func kindKey(o render.Object) string {
	return deref(o.GetKind()) + "/" + key(deref(o.GetNamespace()), deref(o.GetName()))
}

// labelOf reads a label of a normalized object.
func labelOf(obj any, name string) string {
	m, _ := obj.(map[string]any)
	meta, _ := m["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	v, _ := labels[name].(string)
	return v
}
