package crd_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/controller"
)

// startController runs the Tenant controller in this process until ctx is
// done, the way `bulkhead controller` does (no metrics, probes, leader
// election or continuous audit: they play no part in reporting an invalid
// spec).
func (e *env) startController(t *testing.T, ctx context.Context) {
	t.Helper()
	ctrl.SetLogger(logr.Discard())
	mgr, err := controller.New(e.cfg, controller.Options{MetricsAddr: "0", ProbeAddr: "0", AuditDebounce: -1})
	if err != nil {
		t.Fatalf("controller: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("controller: %v", err)
		}
	})
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("controller: caches did not sync")
	}
}

// checkController creates the documents of a controller-only fixture for
// real and waits until the controller reports the expected problem on the
// tenant exp.tenant: Ready=False, reason Invalid, a message with exp.want.
// The objects are deleted again (and their deletion awaited) so that the
// next fixture may reuse the names.
func (e *env) checkController(t *testing.T, ctx context.Context, path string, exp expectation) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var created []*unstructured.Unstructured
	t.Cleanup(func() { e.deleteAll(t, created) })
	for _, doc := range splitYAML(t, data) {
		mapping, err := e.mapper.RESTMapping(doc.GroupVersionKind().GroupKind(), doc.GroupVersionKind().Version)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := e.dynamic.Resource(mapping.Resource).Create(ctx, doc, metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict})
		if err != nil {
			t.Fatalf("create %s %s: %v", doc.GetKind(), doc.GetName(), err)
		}
		created = append(created, obj)
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		tn, err := e.dynamic.Resource(tenantResource).Get(ctx, exp.tenant, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready := readyCondition(tn)
		if ready == nil {
			last = "no Ready condition"
			return false, nil
		}
		last = fmt.Sprintf("Ready=%s reason=%s: %s", ready.Status, ready.Reason, ready.Message)
		return ready.Status == metav1.ConditionFalse && ready.Reason == v1alpha1.ReasonInvalid, nil
	})
	if err != nil {
		t.Fatalf("tenant %s: want Ready=False reason=%s, last seen %s (%v)", exp.tenant, v1alpha1.ReasonInvalid, last, err)
	}
	for _, w := range exp.want {
		if !strings.Contains(last, w) {
			t.Errorf("tenant %s: the controller's message lacks %q:\n%s", exp.tenant, w, last)
		}
	}
}

var tenantResource = v1alpha1.SchemeGroupVersion.WithResource("tenants")

func readyCondition(tn *unstructured.Unstructured) *metav1.Condition {
	raw, _, _ := unstructured.NestedSlice(tn.Object, "status", "conditions")
	var conds []metav1.Condition
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		var c metav1.Condition
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &c); err == nil {
			conds = append(conds, c)
		}
	}
	return meta.FindStatusCondition(conds, v1alpha1.ConditionReady)
}

// deleteAll deletes objects, Tenants first (their finalizer needs the
// controller, which is still running), and waits until each is gone.
func (e *env) deleteAll(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, kind := range []string{v1alpha1.TenantKind, v1alpha1.TenantDefaultsKind} {
		for _, o := range objs {
			if o.GetKind() != kind {
				continue
			}
			mapping, err := e.mapper.RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
			if err != nil {
				t.Error(err)
				continue
			}
			res := e.dynamic.Resource(mapping.Resource)
			if err := res.Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("delete %s %s: %v", kind, o.GetName(), err)
				continue
			}
			err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
				_, err := res.Get(ctx, o.GetName(), metav1.GetOptions{})
				return apierrors.IsNotFound(err), nil
			})
			if err != nil {
				t.Errorf("%s %s not deleted: %v", kind, o.GetName(), err)
			}
		}
	}
}

// splitYAML decodes every document of a fixture that must decode.
func splitYAML(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		obj, err := decode(doc)
		if err != nil {
			t.Fatal(err)
		}
		if obj != nil {
			out = append(out, obj)
		}
	}
}
