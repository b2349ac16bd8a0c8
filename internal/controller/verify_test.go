package controller

import (
	"context"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/verify"
)

// A failed check right after a change can be the API server's authorizer
// still seeing the old rules: it is reported once a second run confirms
// it, and a failing tenant is checked again soon (5 s, then 10 s, doubling) rather
// than after the 6 h interval, so a fix shows within minutes.
func TestFailedChecksAreConfirmedAndRetried(t *testing.T) {
	scheme, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	bySubject := func(o client.Object) []string {
		switch b := o.(type) {
		case *rbacv1.RoleBinding:
			return subjectNamespaces(b.Subjects)
		case *rbacv1.ClusterRoleBinding:
			return subjectNamespaces(b.Subjects)
		}
		return nil
	}
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithIndex(&rbacv1.RoleBinding{}, subjectIndex, bySubject).
		WithIndex(&rbacv1.ClusterRoleBinding{}, subjectIndex, bySubject).Build()
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	results := []bool{false, false, false, true} // what each run finds: ok or not
	runs := 0
	rec := record.NewFakeRecorder(10)
	r := &TenantReconciler{Client: c, Recorder: rec, VerifyInterval: 6 * time.Hour, Now: func() time.Time { return now },
		Verify: func(context.Context, v1alpha1.Tenant, []string) (*verify.Report, error) {
			ok := results[min(runs, len(results)-1)]
			runs++
			return &verify.Report{Checks: []verify.Check{
				{Member: "ServiceAccount/worker", Action: "create pods", Namespace: "a", Expect: "allowed", Got: "allowed", OK: true},
				{Member: "ServiceAccount/worker", Action: "create rolebindings", Namespace: "a", Expect: "forbidden", Got: map[bool]verify.Outcome{true: "forbidden", false: "allowed"}[ok], OK: ok},
			}}, nil
		}}
	tn := &v1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "a", Generation: 1}}
	spec := v1alpha1.Tenant{Spec: v1alpha1.TenantSpec{Namespace: "a"}}
	step := func(want metav1.ConditionStatus, wantNext time.Duration) {
		t.Helper()
		st := tn.Status.DeepCopy()
		next := r.verify(context.Background(), tn, spec, st)
		cond := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionVerified)
		if cond == nil || cond.Status != want {
			t.Fatalf("run %d: Verified %v, want %s", runs, cond, want)
		}
		if wantNext > 0 && next != wantNext {
			t.Fatalf("run %d: next verification in %s, want %s", runs, next, wantNext)
		}
		tn.Status = *st
		now = now.Add(next)
	}
	tn.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionVerified, Status: metav1.ConditionUnknown, Reason: v1alpha1.ReasonPending, ObservedGeneration: 1}}
	step(metav1.ConditionUnknown, 5*time.Second) // a first failure is confirmed before it is said
	if len(rec.Events) != 0 {
		t.Fatalf("an unconfirmed failure raised an Event: %s", <-rec.Events)
	}
	step(metav1.ConditionFalse, 10*time.Second) // confirmed: reported, an Event
	if len(rec.Events) != 1 {
		t.Fatalf("a confirmed failure raised %d Events, want 1", len(rec.Events))
	}
	before := runs
	now = now.Add(-time.Second) // a reconcile for another reason, 9 s after
	if next := r.verify(context.Background(), tn, spec, tn.Status.DeepCopy()); runs != before || next != time.Second {
		t.Fatalf("a reconcile before the retry is due ran the checks (%d runs) or waits %s", runs-before, next)
	}
	now = now.Add(time.Second)
	step(metav1.ConditionFalse, 20*time.Second) // still failing: the wait doubles, no second Event
	if len(rec.Events) != 1 {
		t.Fatalf("a failure that did not change raised another Event")
	}
	step(metav1.ConditionTrue, 0) // fixed: passes, back to the interval
	if tn.Status.Verification.Failed != 0 {
		t.Fatalf("status keeps %d failures after a passing run", tn.Status.Verification.Failed)
	}
	if got := retryFailing(10, 6*time.Hour); got != 5*time.Minute {
		t.Fatalf("retries back off to %s, want at most 5m", got)
	}
}
