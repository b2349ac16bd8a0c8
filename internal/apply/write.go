package apply

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/credentials"
	"github.com/bulkhead-dev/bulkhead/internal/transient"
)

// carryOut makes one change and records its outcome in c.
func (r *Reconciler) carryOut(ctx context.Context, p *Plan, c *Change) {
	k := r.kinds[c.Object.Kind]
	var err error
	switch {
	case c.lock:
		if err = r.claim(ctx, k, c); len(Conflicts(err)) > 0 {
			c.Action, c.Err = Failed, err
			return
		}
	case c.Action == Created, c.Action == Configured:
		if r.opts.DryRun && p.pendingNS[c.Object.Namespace] {
			return // its namespace does not exist yet: nothing to send
		}
		err = r.do(ctx, func(ctx context.Context) error { return k.apply(ctx, c.desired, r.applyOptions()) })
	case c.Action == Revoked:
		if r.opts.DryRun {
			err = r.remove(ctx, k, c.Object)
			break
		}
		err = r.do(ctx, func(ctx context.Context) error {
			_, err := credentials.Revoke(ctx, r.client.CoreV1(), c.Object.Namespace, c.Object.Name, nil, false)
			return err
		})
	case c.Action == Removed, c.Action == Deleted:
		err = r.remove(ctx, k, c.Object)
	case c.Action == Cordoned:
		if !r.opts.DryRun {
			err = r.do(ctx, func(ctx context.Context) error { return r.cordon(ctx, c.Object.Name, p.scope) })
		}
	}
	if err != nil {
		c.Action, c.Err = Failed, classify(c.Object, err)
	}
}

// remove deletes one object; one that is already gone is fine.
func (r *Reconciler) remove(ctx context.Context, k kind, ref Ref) error {
	err := r.do(ctx, func(ctx context.Context) error { return k.delete(ctx, ref.Namespace, ref.Name, r.deleteOptions()) })
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// classify types a failed request's error.
func classify(ref Ref, err error) error {
	switch {
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsForbidden(err), apierrors.IsMethodNotSupported(err):
		return &InvalidError{Object: ref, Err: err}
	case isTransient(err):
		return &TransientError{Object: ref, Err: err}
	}
	return fmt.Errorf("%s: %w", ref, err)
}

// isTransient reports an error that running again may not see: the API
// server away or overloaded, after Options.Retry gave up.
func isTransient(err error) bool {
	var away *transient.ServerAwayError
	return errors.As(err, &away) || transient.IsTransient(err) || errors.Is(err, context.DeadlineExceeded)
}

// cordon marks a removed tenant's namespace and stops new pods in it,
// through bulkhead's own field manager so that a later apply of the tenant
// undoes it. It reads the namespace again, so a retry sees what is there.
func (r *Reconciler) cordon(ctx context.Context, name string, scope Scope) error {
	c := r.client.CoreV1()
	ns, err := c.Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	quota := corev1ac.ResourceQuota(v1alpha1.GuardrailName, name).
		WithLabels(v1alpha1.OwnershipLabels(ns.Labels[v1alpha1.TenantLabel])).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}))
	opts := r.applyOptions()
	if _, err := c.ResourceQuotas(name).Apply(ctx, quota, opts); err != nil {
		return err
	}
	cur, err := corev1ac.ExtractNamespace(ns, v1alpha1.FieldManager)
	if err != nil {
		return err
	}
	reason := scope.Reason
	if reason == "" {
		reason = "tenant offboarded"
	}
	cur.WithLabels(map[string]string{v1alpha1.StateLabel: v1alpha1.StateCordoned}).
		// The namespace is no longer what was applied: its digest says so.
		WithAnnotations(map[string]string{
			v1alpha1.CordonedAnnotation: r.opts.Now().UTC().Format(time.RFC3339) + " " + reason,
			v1alpha1.AppliedAnnotation:  v1alpha1.StateCordoned,
		})
	_, err = c.Namespaces().Apply(ctx, cur, opts)
	return err
}
