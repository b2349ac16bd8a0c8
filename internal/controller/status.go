package controller

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/verify"
)

func readyCondition(st *v1alpha1.TenantStatus) *metav1.Condition {
	return meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
}

func ready(st *v1alpha1.TenantStatus) bool {
	c := readyCondition(st)
	return c != nil && c.Status == metav1.ConditionTrue
}

// setCondition sets one condition and records a Warning Event when it turns
// to a bad state (so Events do not repeat while nothing changes).
func (r *TenantReconciler) setCondition(tn *v1alpha1.Tenant, st *v1alpha1.TenantStatus, c metav1.Condition, warnWhen metav1.ConditionStatus) {
	c.ObservedGeneration = tn.Generation
	old := meta.FindStatusCondition(tn.Status.Conditions, c.Type)
	if c.Status == warnWhen && (old == nil || old.Status != c.Status || old.Reason != c.Reason) {
		reason := c.Reason
		if c.Type == v1alpha1.ConditionVerified {
			reason = "VerificationFailed"
		}
		r.Recorder.Eventf(tn, corev1.EventTypeWarning, reason, "%s", c.Message)
	}
	meta.SetStatusCondition(&st.Conditions, c)
}

func (r *TenantReconciler) setReady(tn *v1alpha1.Tenant, st *v1alpha1.TenantStatus, status metav1.ConditionStatus, reason, msg string) {
	warn := metav1.ConditionFalse
	if reason == v1alpha1.ReasonOffboarding {
		warn = "" // expected, not a warning
	}
	r.setCondition(tn, st, metav1.Condition{Type: v1alpha1.ConditionReady, Status: status, Reason: reason, Message: msg}, warn)
}

// degraded says whether anything weakens the tenant's isolation now.
func (r *TenantReconciler) degraded(st *v1alpha1.TenantStatus, applyErr string) {
	c := metav1.Condition{Type: v1alpha1.ConditionDegraded, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonAsExpected,
		Message: "no failed check, no high or critical finding"}
	switch {
	case applyErr != "":
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, v1alpha1.ReasonApplyFailed, truncate(applyErr)
	case st.Verification != nil && st.Verification.Failed > 0:
		f := st.Verification.Failures[0]
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.ReasonVerificationFailed
		c.Message = fmt.Sprintf("%d of %d checks failed; first: %s %s in %q: expected %s, got %s",
			st.Verification.Failed, st.Verification.Failed+st.Verification.Passed, f.Member, f.Action, f.Namespace, f.Expected, f.Got)
	case st.Audit != nil && st.Audit.Critical+st.Audit.High > 0:
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.ReasonFindings
		c.Message = fmt.Sprintf("%d critical and %d high audit findings", st.Audit.Critical, st.Audit.High)
		if len(st.Audit.Top) > 0 {
			c.Message += "; worst: " + st.Audit.Top[0].Rule + ": " + st.Audit.Top[0].Message
		}
		c.Message = truncate(c.Message)
	}
	c.ObservedGeneration = st.ObservedGeneration
	meta.SetStatusCondition(&st.Conditions, c)
}

// verify runs the tenant's checks when they are due: after a change, when
// a Role or RoleBinding bulkhead does not manage appeared or changed in its
// namespace, and every VerifyInterval. It returns when to look again.
func (r *TenantReconciler) verify(ctx context.Context, tn *v1alpha1.Tenant, t v1alpha1.Tenant, st *v1alpha1.TenantStatus) time.Duration {
	now := r.Now()
	c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionVerified)
	changed := c == nil || c.Status == metav1.ConditionUnknown || c.ObservedGeneration != tn.Generation
	fp := r.rbacFingerprint(ctx, t.Spec.Namespace)
	r.mu.Lock()
	last, known := r.verified[tn.Name]
	r.mu.Unlock()
	rev := r.rbacRevision.Load()
	if v := st.Verification; v != nil && !changed && (!known || last.fingerprint == fp) && last.failures == 0 {
		interval := r.VerifyInterval
		if v.Failed > 0 {
			interval = retryFailing(0, r.VerifyInterval)
		}
		age := now.Sub(v.Time.Time)
		if age < interval {
			if !known {
				// First sight since this process started: what the last
				// verification saw is unknown; changes from here on count.
				r.remember(tn.Name, verifiedState{fingerprint: fp})
			}
			return wait.Jitter(interval-age, 0.1)
		}
		if known && last.revision == rev && v.Failed == 0 {
			// No Role or binding anywhere changed since: the authorizer
			// would answer every review the same.
			return wait.Jitter(r.VerifyInterval, 0.1)
		}
	}
	if known && last.failures > 0 && last.fingerprint == fp && c != nil && c.ObservedGeneration == tn.Generation && now.Before(last.retryAt) {
		return last.retryAt.Sub(now)
	}
	rep, err := r.Verify(ctx, t, r.others(ctx, t.Spec.Namespace))
	if err != nil {
		r.Metrics.verified("error")
		r.setCondition(tn, st, metav1.Condition{Type: v1alpha1.ConditionVerified, Status: metav1.ConditionUnknown,
			Reason: v1alpha1.ReasonVerifyError, Message: truncate(err.Error())}, metav1.ConditionUnknown)
		return time.Minute
	}
	failures := rep.Failures()
	reported := c != nil && c.Status == metav1.ConditionFalse
	if len(failures) == 0 {
		last.failures = 0
	} else {
		last.failures++
	}
	if last.failures == 1 && !reported {
		// The API server's authorizer follows RBAC objects through an
		// informer: a review right after a repair can still see the old
		// rules. A failure is reported once a second run confirms it.
		retry := retryFailing(0, r.VerifyInterval)
		r.remember(tn.Name, verifiedState{fingerprint: fp, revision: rev, failures: 1, retryAt: now.Add(retry)})
		r.setCondition(tn, st, metav1.Condition{Type: v1alpha1.ConditionVerified, Status: metav1.ConditionUnknown,
			Reason: v1alpha1.ReasonPending, Message: fmt.Sprintf("%d of %d checks failed; confirming in %s", len(failures), len(rep.Checks), retry)}, "")
		return retry
	}
	v := &v1alpha1.VerificationStatus{Time: metav1.NewTime(now), Passed: len(rep.Checks) - len(failures), Failed: len(failures)}
	for _, f := range failures {
		if len(v.Failures) == v1alpha1.MaxStatusItems {
			break
		}
		v.Failures = append(v.Failures, failure(f))
	}
	st.Verification = v
	c = &metav1.Condition{Type: v1alpha1.ConditionVerified, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonChecksPassed,
		Message: fmt.Sprintf("%d checks passed", v.Passed)}
	if v.Failed > 0 {
		r.Metrics.verified("failed")
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.ReasonChecksFailed
		c.Message = fmt.Sprintf("%d of %d checks failed; first: %s %s in %q: expected %s, got %s",
			v.Failed, v.Failed+v.Passed, v.Failures[0].Member, v.Failures[0].Action, v.Failures[0].Namespace, v.Failures[0].Expected, v.Failures[0].Got)
	} else {
		r.Metrics.verified("passed")
	}
	r.setCondition(tn, st, *c, metav1.ConditionFalse)
	next := wait.Jitter(r.VerifyInterval, 0.1)
	if last.failures > 0 {
		next = retryFailing(last.failures-1, r.VerifyInterval)
	}
	r.remember(tn.Name, verifiedState{fingerprint: fp, revision: rev, failures: last.failures, retryAt: now.Add(next)})
	return next
}

// retryFailing is how long a tenant whose checks fail waits for its next
// verification: 5 s after the first failure, doubling to at most 5 minutes
// (or the interval, when that is shorter), so a fix made by hand shows
// within minutes however it was made.
func retryFailing(n int, interval time.Duration) time.Duration {
	d := 5 * time.Second
	for ; n > 0 && d < 5*time.Minute; n-- {
		d *= 2
	}
	return min(d, 5*time.Minute, interval)
}

// verifiedState is what a tenant's last verification saw.
type verifiedState struct {
	fingerprint string // rbacFingerprint of its namespace
	revision    uint64 // rbacRevision
	failures    int    // consecutive verifications with failed checks
	retryAt     time.Time
}

// changedAgain starts a tenant's count of failed verifications anew: it
// changed, so its next failure needs confirming again.
func (r *TenantReconciler) changedAgain(tenant string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.verified[tenant]; ok {
		s.failures, s.retryAt = 0, time.Time{}
		r.verified[tenant] = s
	}
}

func (r *TenantReconciler) remember(tenant string, s verifiedState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.verified == nil {
		r.verified = map[string]verifiedState{}
	}
	r.verified[tenant] = s
}

func failure(c verify.Check) v1alpha1.VerificationFailure {
	return v1alpha1.VerificationFailure{Member: c.Member, Action: c.Action, Namespace: c.Namespace,
		Expected: string(c.Expect), Got: string(c.Got), Detail: truncate(c.Detail)}
}

// rbacFingerprint sums up the RBAC objects bulkhead does not manage that
// concern the tenant of namespace ns: Roles and RoleBindings in it, and
// RoleBindings and ClusterRoleBindings anywhere that name its
// ServiceAccounts (its own objects are covered by the reconcile's changes).
func (r *TenantReconciler) rbacFingerprint(ctx context.Context, ns string) string {
	var keys []string
	add := func(prefix string, o client.Object) {
		if o.GetLabels()[v1alpha1.ManagedByLabel] != v1alpha1.ManagedByValue {
			keys = append(keys, prefix+o.GetNamespace()+"/"+o.GetName()+"/"+o.GetResourceVersion())
		}
	}
	var rbs, named rbacv1.RoleBindingList
	var roles rbacv1.RoleList
	var crbs rbacv1.ClusterRoleBindingList
	if r.Client.List(ctx, &rbs, client.InNamespace(ns), client.UnsafeDisableDeepCopy) != nil || r.Client.List(ctx, &roles, client.InNamespace(ns), client.UnsafeDisableDeepCopy) != nil ||
		r.Client.List(ctx, &named, client.MatchingFields{subjectIndex: ns}, client.UnsafeDisableDeepCopy) != nil ||
		r.Client.List(ctx, &crbs, client.MatchingFields{subjectIndex: ns}, client.UnsafeDisableDeepCopy) != nil {
		return ""
	}
	for i := range rbs.Items {
		add("rb/", &rbs.Items[i])
	}
	for i := range named.Items {
		add("rb/", &named.Items[i])
	}
	for i := range roles.Items {
		add("r/", &roles.Items[i])
	}
	for i := range crbs.Items {
		add("crb/", &crbs.Items[i])
	}
	sort.Strings(keys)
	h := fnv.New64a()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%x", h.Sum64())
}

// others picks the other tenants' namespaces a tenant's members probe: the
// next VerifyOthers bulkhead namespaces after its own in name order, so
// every namespace is probed by as many neighbours.
func (r *TenantReconciler) others(ctx context.Context, own string) []string {
	var list corev1.NamespaceList
	if err := r.Client.List(ctx, &list, client.MatchingLabels{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue}, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	var names []string
	for _, ns := range list.Items {
		if ns.Labels[v1alpha1.TenantLabel] != "" && ns.Name != own && ns.Labels[v1alpha1.StateLabel] != v1alpha1.StateCordoned {
			names = append(names, ns.Name)
		}
	}
	sort.Strings(names)
	if r.VerifyOthers <= 0 || len(names) <= r.VerifyOthers {
		return names
	}
	start := sort.SearchStrings(names, own)
	out := make([]string, 0, r.VerifyOthers)
	for i := 0; i < r.VerifyOthers; i++ {
		out = append(out, names[(start+i)%len(names)])
	}
	// Wherever a RoleBinding bulkhead did not make names the tenant's
	// ServiceAccounts, that namespace is probed too: that is where a
	// hand-made grant lets them in.
	var named rbacv1.RoleBindingList
	if r.Client.List(ctx, &named, client.MatchingFields{subjectIndex: own}, client.UnsafeDisableDeepCopy) == nil {
		for _, rb := range named.Items {
			if rb.Labels[v1alpha1.ManagedByLabel] != v1alpha1.ManagedByValue && rb.Namespace != own {
				if _, ok := slices.BinarySearch(names, rb.Namespace); ok && !slices.Contains(out, rb.Namespace) {
					out = append(out, rb.Namespace)
				}
			}
		}
	}
	return out
}
