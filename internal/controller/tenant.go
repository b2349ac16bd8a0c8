package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
	"github.com/bulkhead-dev/bulkhead/internal/verify"
)

// Verifier checks a tenant's isolation; others are other tenants' namespaces.
type Verifier func(ctx context.Context, t v1alpha1.Tenant, others []string) (*verify.Report, error)

// Findings gives the continuous audit's latest findings of a tenant.
type Findings interface {
	Status(tenant string) (*v1alpha1.AuditStatus, bool)
}

// sharedKey is the request that reconciles the objects every tenant shares
// (the admission policy for tenant admins). It is no valid Tenant name.
const sharedKey = "bulkhead:shared"

// verifyDelay is how long after a change a tenant is verified: a second,
// or 20-30 s while many tenants are changing (a thousand Tenants created at
// once), so their reviews do not slow down the writes that make them Ready.
func (r *TenantReconciler) verifyDelay(changed bool) time.Duration {
	if changed {
		r.recentChanges.Add(1)
		time.AfterFunc(10*time.Second, func() { r.recentChanges.Add(-1) })
	}
	if r.recentChanges.Load() <= 20 {
		return time.Second
	}
	return wait.Jitter(20*time.Second, 0.5)
}

// TenantReconciler reconciles Tenant objects with the reconcile core.
type TenantReconciler struct {
	Client    client.Client // the manager's: reads from the cache
	Clientset kubernetes.Interface
	// Live writes and reads the API server; Cached plans against the cache;
	// Adopting is Live taking over existing objects bulkhead does not
	// manage, for Tenants annotated bulkhead.dev/adopt=true.
	Live, Cached, Adopting *apply.Reconciler
	Recorder               record.EventRecorder
	Verify                 Verifier
	Findings               Findings // nil: no continuous audit
	// VerifyInterval is how often a tenant is verified when nothing changed.
	VerifyInterval time.Duration
	// VerifyOthers bounds how many other tenants' namespaces are probed.
	VerifyOthers int
	Metrics      *Metrics
	Now          func() time.Time

	sharedDone atomic.Bool
	// recentChanges counts reconciles that wrote in the last 10 s.
	recentChanges atomic.Int64
	mu            sync.Mutex
	// verified remembers, per tenant, what the last verification saw, so
	// an RBAC change in its namespace triggers a new one.
	verified map[string]verifiedState
	// rbacRevision counts changes of Roles, ClusterRoles and their
	// bindings anywhere: while it stands still, a periodic verification
	// would get the same answers and is skipped.
	rbacRevision atomic.Uint64
}

var scope = apply.Scope{TenantSet: v1alpha1.ControllerTenantSet}

// Reconcile brings one Tenant to its spec and writes what it found to status.
func (r *TenantReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if req.Name == sharedKey {
		return ctrl.Result{}, r.reconcileShared(ctx, true)
	}
	var tn v1alpha1.Tenant
	if err := r.Client.Get(ctx, req.NamespacedName, &tn); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !tn.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, &tn)
	}
	if !controllerutil.ContainsFinalizer(&tn, v1alpha1.Finalizer) {
		patch := client.MergeFrom(tn.DeepCopy())
		controllerutil.AddFinalizer(&tn, v1alpha1.Finalizer)
		if err := r.Client.Patch(ctx, &tn, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer to tenant %s: %w", tn.Name, err)
		}
	}
	if err := r.reconcileShared(ctx, false); err != nil {
		return ctrl.Result{}, err
	}
	st := tn.Status.DeepCopy()
	st.ObservedGeneration = tn.Generation
	t, problem := r.resolve(ctx, &tn)
	st.Namespace = t.Spec.Namespace
	st.MemberCount = len(t.Spec.Members)
	if r.Findings != nil {
		if a, ok := r.Findings.Status(tn.Name); ok && !sameFindings(st.Audit, a) {
			st.Audit = a // a new run with the same findings is no reason to write
		}
	}
	if problem != "" {
		r.setReady(&tn, st, metav1.ConditionFalse, v1alpha1.ReasonInvalid, problem)
		r.degraded(st, "")
		return ctrl.Result{}, r.writeStatus(ctx, &tn, st)
	}
	cs := r.reconcileTenant(ctx, t)
	r.Metrics.changes(cs)
	var applyErr error
	switch conflicts := apply.Conflicts(cs.Err); {
	case len(conflicts) > 0:
		r.setReady(&tn, st, metav1.ConditionFalse, v1alpha1.ReasonConflict, conflictMessage(conflicts))
	case cs.Err != nil:
		applyErr = cs.Err
		r.setReady(&tn, st, metav1.ConditionFalse, v1alpha1.ReasonApplyFailed, truncate(cs.Err.Error()))
	default:
		st.Objects = managedObjects(cs)
		r.reportChanges(&tn, cs)
		r.setReady(&tn, st, metav1.ConditionTrue, v1alpha1.ReasonReconciled,
			fmt.Sprintf("%d objects in namespace %s match the spec", len(st.Objects), t.Spec.Namespace))
	}
	next := time.Duration(0)
	switch {
	case !ready(st):
	case cs.Pending() || tn.Generation != tn.Status.ObservedGeneration:
		// Ready is said first; the checks follow in the next pass, once
		// the cache has seen the writes.
		r.setCondition(&tn, st, metav1.Condition{Type: v1alpha1.ConditionVerified, Status: metav1.ConditionUnknown,
			Reason: v1alpha1.ReasonPending, Message: "the tenant changed; verification follows"}, "")
		next = r.verifyDelay(cs.Pending())
		r.changedAgain(tn.Name)
	default:
		next = r.verify(ctx, &tn, t, st)
	}
	r.degraded(st, errString(applyErr))
	if err := r.writeStatus(ctx, &tn, st); err != nil {
		return ctrl.Result{}, err
	}
	if applyErr != nil {
		return ctrl.Result{}, applyErr // retried with the controller's backoff
	}
	return ctrl.Result{RequeueAfter: next}, nil
}

// resolve applies the named TenantDefaults and bulkhead's defaults and runs
// the CLI's validation; problem says what is wrong, "" when nothing is.
func (r *TenantReconciler) resolve(ctx context.Context, tn *v1alpha1.Tenant) (v1alpha1.Tenant, string) {
	t := v1alpha1.Tenant{TypeMeta: tn.TypeMeta, ObjectMeta: *tn.ObjectMeta.DeepCopy(), Spec: *tn.Spec.DeepCopy()}
	in := &spec.Input{Tenants: []spec.Tenant{{Tenant: t}}}
	if name := t.Spec.Defaults; name != "" {
		var d v1alpha1.TenantDefaults
		if err := r.Client.Get(ctx, types.NamespacedName{Name: name}, &d); err != nil {
			spec.Default(&t)
			if apierrors.IsNotFound(err) {
				return t, fmt.Sprintf("spec.defaults: TenantDefaults %q not found; create it or correct the name", name)
			}
			return t, fmt.Sprintf("spec.defaults: read TenantDefaults %q: %v", name, err)
		}
		in.Defaults = []spec.Defaults{{TenantDefaults: d}}
	}
	err := spec.ValidateInput(in)
	var defaults *v1alpha1.Guardrails
	if len(in.Defaults) > 0 {
		defaults = &in.Defaults[0].Spec
	}
	spec.DefaultWith(&t, defaults)
	if err != nil {
		var errs *spec.Errors
		if errors.As(err, &errs) {
			lines := make([]string, 0, len(*errs))
			for _, e := range *errs {
				e.File, e.Line = "", 0
				lines = append(lines, e.Error())
			}
			return t, truncate(strings.Join(lines, "; "))
		}
		return t, truncate(err.Error())
	}
	if other := r.namespaceClaimedBy(ctx, tn.Name, t.Spec.Namespace); other != "" {
		return t, fmt.Sprintf("spec.namespace: namespace %q is already claimed by Tenant %q; give this tenant another namespace", t.Spec.Namespace, other)
	}
	return t, ""
}

// namespaceClaimedBy returns the older Tenant object that wants ns.
func (r *TenantReconciler) namespaceClaimedBy(ctx context.Context, name, ns string) string {
	var list v1alpha1.TenantList
	if err := r.Client.List(ctx, &list, client.MatchingFields{namespaceIndex: ns}, client.UnsafeDisableDeepCopy); err != nil {
		return ""
	}
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i], list.Items[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
	for _, o := range list.Items {
		if o.Name != name && o.DeletionTimestamp.IsZero() {
			return o.Name
		}
		if o.Name == name {
			return ""
		}
	}
	return ""
}

// reconcileTenant plans against the cache and goes to the API server only
// when that plan finds work (or a conflict, which the server confirms).
func (r *TenantReconciler) reconcileTenant(ctx context.Context, t v1alpha1.Tenant) apply.ChangeSet {
	if p, err := r.Cached.Plan(ctx, []v1alpha1.Tenant{t}, false, scope); err == nil && len(p.Sets) == 1 &&
		p.Sets[0].Err == nil && !p.Sets[0].Pending() {
		return p.Sets[0]
	}
	if t.Annotations[v1alpha1.AdoptAnnotation] == "true" && r.Adopting != nil {
		return r.Adopting.Reconcile(ctx, t, scope)
	}
	return r.Live.Reconcile(ctx, t, scope)
}

// reconcileShared applies the shared objects once per process, and again
// whenever their watch says they changed (force).
func (r *TenantReconciler) reconcileShared(ctx context.Context, force bool) error {
	if !force && r.sharedDone.Load() {
		return nil
	}
	if p, err := r.Cached.Plan(ctx, nil, true, apply.Scope{}); err == nil && len(p.Sets) == 1 && p.Sets[0].Err == nil && !p.Sets[0].Pending() {
		r.sharedDone.Store(true)
		return nil
	}
	cs := r.Live.ReconcileShared(ctx)
	if cs.Err != nil {
		return fmt.Errorf("apply the shared admission policy: %w", cs.Err)
	}
	r.sharedDone.Store(true)
	return nil
}

// finalize offboards a deleted Tenant the controller reconciled (or, with
// the release annotation, hands its namespace over untouched) and lets the
// object go.
func (r *TenantReconciler) finalize(ctx context.Context, tn *v1alpha1.Tenant) error {
	if !controllerutil.ContainsFinalizer(tn, v1alpha1.Finalizer) {
		return nil
	}
	nsName := tn.Status.Namespace
	if nsName == "" {
		nsName = tn.Spec.Namespace
	}
	if nsName == "" {
		nsName = tn.Name
	}
	var ns corev1.Namespace
	err := r.Client.Get(ctx, types.NamespacedName{Name: nsName}, &ns)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return err
	case ns.Labels[v1alpha1.TenantSetLabel] != v1alpha1.ControllerTenantSet || ns.Labels[v1alpha1.TenantLabel] != tn.Name:
		// Never reconciled by the controller (a conflict): not ours to offboard.
	case tn.Annotations[v1alpha1.ReleaseAnnotation] == "true":
		patch := []byte(`{"metadata":{"labels":{"` + v1alpha1.TenantSetLabel + `":null}}}`)
		if _, err := r.Clientset.CoreV1().Namespaces().Patch(ctx, nsName, types.MergePatchType, patch,
			metav1.PatchOptions{FieldManager: v1alpha1.FieldManager}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("release namespace %s of tenant %s: %w", nsName, tn.Name, err)
		}
		r.Recorder.Eventf(tn, corev1.EventTypeNormal, "Released",
			"namespace %s released to the bulkhead CLI with its access unchanged", nsName)
	default:
		st := tn.Status.DeepCopy()
		r.setReady(tn, st, metav1.ConditionFalse, v1alpha1.ReasonOffboarding, "offboarding: credentials revoked, bindings removed, namespace "+
			map[bool]string{true: "deleted", false: "cordoned with its data kept"}[tn.Spec.DeletionPolicy == v1alpha1.DeletionDelete])
		if err := r.writeStatus(ctx, tn, st); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		off := scope
		off.DeleteData = tn.Spec.DeletionPolicy == v1alpha1.DeletionDelete
		off.Reason = "Tenant object " + tn.Name + " deleted"
		cs := r.Live.Offboard(ctx, tn.Name, off)
		r.Metrics.changes(cs)
		if cs.Err != nil {
			r.Recorder.Eventf(tn, corev1.EventTypeWarning, "OffboardFailed", "%s", truncate(cs.Err.Error()))
			return fmt.Errorf("offboard tenant %s: %w", tn.Name, cs.Err)
		}
		what := "cordoned, data kept"
		if off.DeleteData {
			what = "deleted with its data"
		}
		if cs.Pending() { // not again when a stale cache brings the object back once more
			r.Recorder.Eventf(tn, corev1.EventTypeNormal, "Offboarded",
				"credentials revoked (%d), bindings and roles removed (%d), namespace %s %s",
				cs.Count(apply.Revoked), cs.Count(apply.Removed), nsName, what)
		}
	}
	patch := client.MergeFrom(tn.DeepCopy())
	controllerutil.RemoveFinalizer(tn, v1alpha1.Finalizer)
	if err := r.Client.Patch(ctx, tn, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer of tenant %s: %w", tn.Name, err)
	}
	r.forget(tn.Name)
	return nil
}

// writeStatus writes st when it differs from what the object holds.
func (r *TenantReconciler) writeStatus(ctx context.Context, tn *v1alpha1.Tenant, st *v1alpha1.TenantStatus) error {
	if equality.Semantic.DeepEqual(&tn.Status, st) {
		return nil
	}
	patch := client.MergeFrom(tn.DeepCopy())
	tn.Status = *st
	if err := r.Client.Status().Patch(ctx, tn, patch); err != nil {
		return fmt.Errorf("write status of tenant %s: %w", tn.Name, err)
	}
	return nil
}

// reportChanges records what a reconcile did as Events: the first
// reconcile creates, a spec change updates, anything else repaired drift.
func (r *TenantReconciler) reportChanges(tn *v1alpha1.Tenant, cs apply.ChangeSet) {
	if !cs.Pending() {
		return
	}
	var changed []string
	for _, c := range cs.Changes {
		if c.Action != apply.Unchanged {
			changed = append(changed, string(c.Action)+" "+c.Object.Kind+" "+c.Object.Name)
		}
	}
	list := strings.Join(changed, ", ")
	if len(changed) > 8 {
		list = strings.Join(changed[:8], ", ") + fmt.Sprintf(" and %d more", len(changed)-8)
	}
	wasReady := readyCondition(&tn.Status) != nil && readyCondition(&tn.Status).Status == metav1.ConditionTrue
	switch {
	case tn.Status.ObservedGeneration == 0 || (!wasReady && cs.Count(apply.Created) == len(changed)):
		r.Recorder.Eventf(tn, corev1.EventTypeNormal, "Created", "%s", list)
	case tn.Status.ObservedGeneration == tn.Generation && wasReady:
		r.Recorder.Eventf(tn, corev1.EventTypeWarning, "DriftRepaired", "put back what was changed by hand: %s", list)
	default:
		r.Recorder.Eventf(tn, corev1.EventTypeNormal, "Updated", "%s", list)
	}
}

func (r *TenantReconciler) forget(tenant string) {
	r.mu.Lock()
	delete(r.verified, tenant)
	r.mu.Unlock()
}

func conflictMessage(conflicts []*apply.ConflictError) string {
	msgs := make([]string, 0, len(conflicts))
	for _, c := range conflicts {
		msgs = append(msgs, c.Error()+": "+conflictHint(c))
	}
	return truncate(strings.Join(msgs, "; "))
}

// conflictHint says how to resolve a conflict from the controller's side.
func conflictHint(c *apply.ConflictError) string {
	switch c.Reason {
	case apply.OtherTenantSet:
		return fmt.Sprintf("the controller leaves it alone; to hand it to the controller: kubectl label namespace %s %s=%s --overwrite",
			c.Object.Name, v1alpha1.TenantSetLabel, v1alpha1.ControllerTenantSet)
	case apply.OtherTenant:
		return fmt.Sprintf("give tenant %q another namespace or remove tenant %q first", c.Tenant, c.Owner)
	}
	return fmt.Sprintf("rename the tenant or member, delete the object so the controller can create its own, or take it over: kubectl annotate tenant %s %s=true",
		c.Tenant, v1alpha1.AdoptAnnotation)
}

func managedObjects(cs apply.ChangeSet) []v1alpha1.ManagedObject {
	var out []v1alpha1.ManagedObject
	for _, c := range cs.Changes {
		if c.Action.Removal() || c.Action == apply.Failed {
			continue
		}
		out = append(out, v1alpha1.ManagedObject{Kind: c.Object.Kind, Name: c.Object.Name, Namespace: c.Object.Namespace})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out
}

// truncate keeps condition messages and Events readable and small.
func truncate(s string) string {
	const max = 1024
	if len(s) <= max {
		return s
	}
	return s[:max-3] + "..."
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// sameFindings compares two audit summaries but for when they were made.
func sameFindings(a, b *v1alpha1.AuditStatus) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	x.Time, y.Time = metav1.Time{}, metav1.Time{}
	return equality.Semantic.DeepEqual(x, y)
}
