package install

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// Action is what applying did to one object, in kubectl's words.
type Action string

const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
)

// Result is one applied object.
type Result struct {
	// Object is kubectl's name for it: kind.group/name.
	Object string
	Action Action
	DryRun bool
	// Unchecked says why a dry run could not send the object: its
	// namespace is one this install creates, so the server has no
	// namespace to admit it into yet.
	Unchecked string
}

// String is kubectl apply's line for the object.
func (r Result) String() string {
	switch {
	case r.Unchecked != "":
		return fmt.Sprintf("%s %s (server dry run; not checked: %s)", r.Object, r.Action, r.Unchecked)
	case r.DryRun:
		return fmt.Sprintf("%s %s (server dry run)", r.Object, r.Action)
	}
	return fmt.Sprintf("%s %s", r.Object, r.Action)
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// DryRun has the API server validate and admit every object without
	// persisting it. CRDs are then never Established, so nothing waits.
	DryRun bool
	// EstablishTimeout bounds the wait for each CRD; 0 means one minute.
	EstablishTimeout time.Duration
	// Progress, when set, is called after each object is applied.
	Progress func(Result)
}

// Applier applies manifests through the dynamic client, finding each
// kind's resource through discovery.
type Applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

// NewApplier makes an Applier for the cluster cfg points at.
func NewApplier(cfg *rest.Config) (*Applier, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

var crdKind = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

// Apply server-side applies objs with bulkhead's field manager, taking over
// fields another manager set (an installer owns what it installs). The
// CRDs go first and are waited for until Established, so a controller
// started by the rest finds its kinds served; the others follow in the
// order given. It stops at the first object the server refuses and returns
// the results so far.
func (a *Applier) Apply(ctx context.Context, objs []*unstructured.Unstructured, o ApplyOptions) ([]Result, error) {
	if o.EstablishTimeout <= 0 {
		o.EstablishTimeout = time.Minute
	}
	var crds, rest []*unstructured.Unstructured
	for _, u := range objs {
		if u.GroupVersionKind().GroupKind() == crdKind {
			crds = append(crds, u)
		} else {
			rest = append(rest, u)
		}
	}
	var out []Result
	newNamespaces := map[string]bool{} // created by this dry run only
	for _, u := range crds {
		r, err := a.apply(ctx, u, o, newNamespaces)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	if !o.DryRun {
		for _, u := range crds {
			if err := a.waitEstablished(ctx, u.GetName(), o.EstablishTimeout); err != nil {
				return out, err
			}
		}
		if len(crds) > 0 {
			a.mapper.Reset() // discovery now serves the new kinds
		}
	}
	for _, u := range rest {
		r, err := a.apply(ctx, u, o, newNamespaces)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (a *Applier) apply(ctx context.Context, u *unstructured.Unstructured, o ApplyOptions, newNamespaces map[string]bool) (Result, error) {
	name := ObjectName(u)
	if ns := u.GetNamespace(); o.DryRun && newNamespaces[ns] {
		r := Result{Object: name, Action: Created, DryRun: true, Unchecked: "namespace " + ns + " does not exist yet"}
		if o.Progress != nil {
			o.Progress(r)
		}
		return r, nil
	}
	gvk := u.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return Result{}, fmt.Errorf("%s: the cluster does not serve %s: %w", name, gvk, err)
	}
	var ri dynamic.ResourceInterface = a.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = a.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	before, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		before = nil
	case err != nil:
		return Result{}, fmt.Errorf("read %s: %w", name, err)
	}
	opts := metav1.ApplyOptions{FieldManager: v1alpha1.FieldManager, Force: true}
	if o.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	after, err := ri.Apply(ctx, u.GetName(), u, opts)
	if err != nil {
		return Result{}, fmt.Errorf("apply %s: %w", name, err)
	}
	r := Result{Object: name, Action: Created, DryRun: o.DryRun}
	if before != nil {
		r.Action = Configured
		if sameObject(before, after) {
			r.Action = Unchanged
		}
	}
	if o.DryRun && r.Action == Created && gvk.GroupKind() == (schema.GroupKind{Kind: "Namespace"}) {
		newNamespaces[u.GetName()] = true
	}
	if o.Progress != nil {
		o.Progress(r)
	}
	return r, nil
}

// sameObject compares an object before and after an apply, leaving out
// what the apply itself or the object's controllers change: the resource
// version, the times in managedFields and status. A real apply that changes
// nothing keeps the resource version; a dry run does either way, so the
// content is what tells.
func sameObject(before, after *unstructured.Unstructured) bool {
	strip := func(u *unstructured.Unstructured) map[string]any {
		c := u.DeepCopy()
		c.SetResourceVersion("")
		mf := c.GetManagedFields()
		for i := range mf {
			mf[i].Time = nil
		}
		c.SetManagedFields(mf)
		delete(c.Object, "status")
		return c.Object
	}
	return equality.Semantic.DeepEqual(strip(before), strip(after))
}

// waitEstablished waits until the API server serves the CRD's kind.
func (a *Applier) waitEstablished(ctx context.Context, name string, timeout time.Duration) error {
	gvr := schema.GroupVersionResource{Group: crdKind.Group, Version: "v1", Resource: "customresourcedefinitions"}
	var last string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		crd, err := a.dyn.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			switch {
			case cm["type"] == "Established" && cm["status"] == "True":
				return true, nil
			case cm["type"] == "NamesAccepted" && cm["status"] == "False":
				return false, fmt.Errorf("customresourcedefinition %s: names not accepted: %v", name, cm["message"])
			}
		}
		last = fmt.Sprint(conds)
		return false, nil
	})
	if err != nil && ctx.Err() == nil && wait.Interrupted(err) {
		return fmt.Errorf("customresourcedefinition %s is not Established after %s (conditions: %s): check the API server's log", name, timeout, last)
	}
	if err != nil {
		return fmt.Errorf("wait for customresourcedefinition %s: %w", name, err)
	}
	return nil
}
