package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/read"
	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// Two runs that reconcile one tenant from different specs at once must
// not leave a mixture of both (one adds a member while the other removes
// another: each writes its own change, and the tenant ends up as neither
// spec says). A tenant's Namespace carries a digest of everything its spec
// renders (TenantDigestAnnotation), so it changes whenever the spec does,
// and it is the tenant's lock:
//
//   - claim: before writing anything else of an existing tenant, a run
//     applies its Namespace with the resourceVersion its plan read. The
//     first run to do so wins; the other gets 409 Conflict and, unless the
//     winner applies the same spec (same digest), writes nothing of the
//     tenant and reports a ConflictError with reason Concurrent.
//   - check: once every change is made, a run reads the Namespace again.
//     A digest other than its own says another run applied a different spec
//     while this one was writing (it read the tenant after this run's claim):
//     the tenant may hold a mixture, reported the same way.
//
// Either way the run that lost says so; running it again reconciles the
// tenant to its spec.

// TenantDigestAnnotation, on a tenant's Namespace, is a digest of every
// object the tenant's spec renders.
const TenantDigestAnnotation = "bulkhead.dev/tenant-digest"

// Concurrent: another run reconciled the tenant from a different spec
// while this one did.
const Concurrent ConflictReason = "Concurrent"

// tenantDigest digests what render produces for a tenant.
func tenantDigest(objs []render.Object) (string, error) {
	b, err := json.Marshal(objs)
	if err != nil {
		return "", fmt.Errorf("encode the objects of the tenant: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16]), nil
}

// withDigest annotates the tenant's Namespace among objs with their digest.
func withDigest(objs []render.Object) error {
	d, err := tenantDigest(objs)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if ns, ok := o.(*corev1ac.NamespaceApplyConfiguration); ok {
			ns.WithAnnotations(map[string]string{TenantDigestAnnotation: d})
		}
	}
	return nil
}

// digestOf is the digest a desired Namespace carries.
func digestOf(c *Change) string {
	if ns, ok := c.desired.(*corev1ac.NamespaceApplyConfiguration); ok && ns.ObjectMetaApplyConfiguration != nil {
		return ns.Annotations[TenantDigestAnnotation]
	}
	return ""
}

// lockNamespaces marks, for every tenant of the plan that has something to
// write, its Namespace change as the tenant's lock: it is sent first (even
// when unchanged), with the resourceVersion the plan read if it existed.
func (r *Reconciler) lockNamespaces(p *Plan) {
	if r.opts.DryRun {
		return
	}
	for si := range p.Sets {
		cs := &p.Sets[si]
		if cs.Tenant == "" || cs.Offboarded || !cs.Pending() || len(Conflicts(cs.Err)) > 0 {
			continue
		}
		for ci := range cs.Changes {
			if c := &cs.Changes[ci]; c.Object.Kind == "Namespace" && c.desired != nil && digestOf(c) != "" {
				c.lock = true
			}
		}
	}
}

// claim sends a tenant's Namespace on the resourceVersion its plan read. A
// 409 means another run wrote it since: that is a conflict unless that run
// applied the same spec.
func (r *Reconciler) claim(ctx context.Context, k kind, c *Change) error {
	if ns, ok := c.desired.(*corev1ac.NamespaceApplyConfiguration); ok && c.liveRV != "" {
		ns.WithResourceVersion(c.liveRV)
	}
	err := r.do(ctx, func(ctx context.Context) error { return k.apply(ctx, c.desired, r.applyOptions()) })
	if !apierrors.IsConflict(err) {
		return err
	}
	if other, err := r.liveDigest(ctx, c.Object.Name); err != nil {
		return err
	} else if other == digestOf(c) {
		return nil // the same spec, written by another run (or by this one's retried request)
	}
	return &ConflictError{Object: c.Object, Tenant: c.tenant, Reason: Concurrent}
}

// overtaken is the error of a locked tenant whose Namespace carries
// another digest once the run is done with it: another run applied a
// different spec meanwhile, so the tenant may mix both runs' specs.
func overtaken(c *Change, live string) error {
	if live == digestOf(c) {
		return nil
	}
	return &ConflictError{Object: c.Object, Tenant: c.tenant, Reason: Concurrent, Overtaken: true}
}

// listLocksOver: when a run locked more tenants than this, one LIST of
// bulkhead's Namespaces reads their digests back instead of a GET each.
const listLocksOver = 16

// checkLocks reads the Namespace of every tenant this run locked and wrote
// again, and fails the tenants another run overtook. A read that fails
// leaves a tenant as it is: not known to be overtaken is not this run's
// failure.
func (r *Reconciler) checkLocks(ctx context.Context, p *Plan) {
	var locked []*Change
	for si := range p.Sets {
		for ci := range p.Sets[si].Changes {
			if c := &p.Sets[si].Changes[ci]; c.lock && c.Err == nil {
				locked = append(locked, c)
			}
		}
	}
	mark := func(c *Change, live string) {
		if err := overtaken(c, live); err != nil {
			c.Action, c.Err = Failed, err
		}
	}
	if len(locked) > listLocksOver {
		live := map[string]string{}
		sel := metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector}
		err := read.Each(ctx, r.opts.Retry, r.client.CoreV1().Namespaces().List, sel, func(ns *corev1.Namespace) error {
			live[ns.Name] = ns.Annotations[TenantDigestAnnotation]
			return nil
		})
		if err == nil {
			for _, c := range locked {
				if d, ok := live[c.Object.Name]; ok {
					mark(c, d)
				}
			}
			return
		}
	}
	r.parallel(ctx, len(locked), func(i int) {
		if d, err := r.liveDigest(ctx, locked[i].Object.Name); err == nil {
			mark(locked[i], d)
		}
	})
}

func (r *Reconciler) liveDigest(ctx context.Context, name string) (string, error) {
	var digest string
	err := r.do(ctx, func(ctx context.Context) error {
		ns, err := r.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		digest = ns.Annotations[TenantDigestAnnotation]
		return nil
	})
	return digest, err
}
