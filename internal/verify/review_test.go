package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

// defaulted builds a tenant as spec.Load returns it, with members
// "Kind/role/name" (MemberLine's form).
func defaulted(name string, members ...string) v1alpha1.Tenant {
	t := v1alpha1.Tenant{}
	t.Name = name
	t.Spec.Members = v1alpha1.ParseMembers(strings.Join(members, "\n"))
	spec.Default(&t)
	return t
}

// applied reconciles the tenants and the objects they share, as `bulkhead
// apply` and the controller do.
func applied(t *testing.T, c kubernetes.Interface, ts ...v1alpha1.Tenant) {
	t.Helper()
	r := apply.New(c, apply.Options{})
	if cs := r.ReconcileShared(t.Context()); cs.Err != nil {
		t.Fatalf("reconcile shared objects: %v", cs.Err)
	}
	for _, tn := range ts {
		if cs := r.Reconcile(t.Context(), tn, apply.Scope{}); cs.Err != nil {
			t.Fatalf("reconcile tenant %s: %v", tn.Name, cs.Err)
		}
	}
}

// line is a check without its verdict: what Run and Review must both list.
func line(c Check) string {
	return strings.Join([]string{c.Tenant, c.Member, c.Role, string(c.Scope), c.Namespace, c.Action, string(c.Expect)}, " ")
}

// verdict is a check's line with what was found.
func verdict(c Check) string {
	ok := "ok"
	if !c.OK {
		ok = "FAIL"
	}
	return line(c) + " => " + string(c.Got) + " " + ok
}

func verdicts(r *Report) []string {
	out := make([]string, len(r.Checks))
	for i, c := range r.Checks {
		out[i] = verdict(c)
	}
	return out
}

// sameVerdicts fails t unless run and review hold the same checks, in the
// same order, with the same verdicts.
func sameVerdicts(t *testing.T, run, review *Report) {
	t.Helper()
	a, b := verdicts(run), verdicts(review)
	if slices.Equal(a, b) {
		return
	}
	t.Errorf("Run and Review differ (%d and %d checks):", len(a), len(b))
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			t.Errorf("  Run:    %s\n  Review: %s", x, y)
		}
	}
}

// failures lists the failed checks' verdicts.
func failures(r *Report) []string {
	var out []string
	for _, c := range r.Failures() {
		out = append(out, verdict(c)+" ("+c.Detail+")")
	}
	return out
}

// TestReviewMatchesRun: on healthy tenants Review passes, with the checks
// of Run one to one and the same verdicts, and asks no member's
// credentials; its state checks say so.
func TestReviewMatchesRun(t *testing.T) {
	cfg, c := needCluster(t)
	tenants := []v1alpha1.Tenant{
		defaulted("rv-lab", "ServiceAccount/edit/ana", "ServiceAccount/view/ben"),
		defaulted("rv-team", "User/admin/lead@example.com", "Group/view/rv-readers", "ServiceAccount/edit/bot"),
		defaulted("rv-solo"),
	}
	applied(t, c, tenants...)

	run := runPassing(t, cfg, tenants)
	var n counter
	rc, err := kubernetes.NewForConfig(n.wrap(cfg))
	if err != nil {
		t.Fatal(err)
	}
	review, err := ReviewAll(t.Context(), rc, tenants, Options{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !run.Passed() {
		t.Errorf("Run failed healthy tenants:\n%s", strings.Join(failures(run), "\n"))
	}
	if !review.Passed() {
		t.Errorf("Review failed healthy tenants:\n%s", strings.Join(failures(review), "\n"))
	}
	sameVerdicts(t, run, review)
	n.reviews(t)

	// Every kind of check is there, and the admission ones are state checks.
	kinds := map[string]bool{}
	for _, c := range review.Checks {
		kinds[string(c.Scope)+" "+string(c.Got)] = true
		if c.Expect == Rejected && !strings.HasPrefix(c.Detail, "state check") {
			t.Errorf("%s: detail %q does not say it is a state check", verdict(c), c.Detail)
		}
	}
	for _, want := range []string{"own allowed", "own forbidden", "other forbidden", "cluster forbidden", "guardrail forbidden", "guardrail rejected"} {
		if !kinds[want] {
			t.Errorf("no %q check in Review's report", want)
		}
	}
	for _, want := range []string{
		"rv-lab ServiceAccount/ana edit guardrail rv-lab create privileged pods rejected",
		"rv-lab ServiceAccount/ana edit guardrail rv-lab create pods with 1 nvidia.com/gpu rejected",
		"rv-team User/lead@example.com admin guardrail rv-team bind a clusterrole rejected",
		"rv-team Group/rv-readers view own rv-team create pods forbidden",
	} {
		if !slices.ContainsFunc(review.Checks, func(c Check) bool { return line(c) == want }) {
			t.Errorf("Review lacks check %q", want)
		}
	}
}

// runPassing runs Run until it passes, for a minute at most, and returns
// its last report: an admission policy just created takes effect once the
// API server has loaded it, which only a request shows.
func runPassing(t *testing.T, cfg *rest.Config, tenants []v1alpha1.Tenant) *Report {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		r, err := Run(t.Context(), cfg, tenants, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Passed() || time.Now().After(deadline) {
			return r
		}
	}
}

// of keeps the checks of one tenant.
func of(r *Report, tenant string) *Report {
	out := &Report{}
	for _, c := range r.Checks {
		if c.Tenant == tenant {
			out.Checks = append(out.Checks, c)
		}
	}
	return out
}

// reviewCounted reviews t against others, counting the requests.
func reviewCounted(t *testing.T, cfg *rest.Config, tn v1alpha1.Tenant, others []string) (*Report, *counter) {
	t.Helper()
	n := &counter{}
	c, err := kubernetes.NewForConfig(n.wrap(cfg))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Review(t.Context(), c, tn, others, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r, n
}

// A RoleBinding made by hand in tenant A's namespace that gives tenant B's
// ServiceAccount edit fails B's checks of A's namespace, in Review as in
// Run. The SubjectAccessReviews of a 2-member tenant with 3 others are
// counted: the controller's steady-state budget.
func TestReviewFindsCrossTenantGrant(t *testing.T) {
	cfg, c := needCluster(t)
	tenants := []v1alpha1.Tenant{
		defaulted("rx-a"),
		defaulted("rx-b", "ServiceAccount/edit/bob", "ServiceAccount/view/bea"),
		defaulted("rx-c"),
		defaulted("rx-d"),
	}
	applied(t, c, tenants...)
	b, others := tenants[1], []string{"rx-c", "rx-d", "rx-a"} // Run's ring order

	healthy, n := reviewCounted(t, cfg, b, others)
	if !healthy.Passed() {
		t.Fatalf("Review failed healthy tenant rx-b:\n%s", strings.Join(failures(healthy), "\n"))
	}
	// Per member: own 3, others 3 each, cluster 3, guardrails 6 + create
	// rolebindings; the edit member's admission checks (privileged,
	// hostPath, over-quota pods) share its own "create pods" review.
	const want = 2 * (3 + 3*3 + 3 + 6 + 1)
	sars := n.reviews(t)
	if sars != want {
		t.Errorf("Review of a 2-member tenant with 3 others made %d SubjectAccessReviews, want %d", sars, want)
	}
	t.Logf("Review of rx-b (2 members, 3 others): %d checks, %d SubjectAccessReviews, reads %v", len(healthy.Checks), sars, n.reads())
	if reads := n.reads(); len(reads) != 3 {
		t.Errorf("Review read %v, want the namespace, its RoleBindings and its ResourceQuota", reads)
	}

	grant := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "hand-made-grant", Namespace: "rx-a"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "bob", Namespace: "rx-b"}},
	}
	if _, err := c.RbacV1().RoleBindings("rx-a").Create(t.Context(), grant, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.RbacV1().RoleBindings("rx-a").Delete(context.Background(), grant.Name, metav1.DeleteOptions{})
	})

	review, _ := reviewCounted(t, cfg, b, others)
	got := failures(review)
	wantFails := []string{
		"rx-b ServiceAccount/bob edit other rx-a list pods forbidden => allowed FAIL",
		"rx-b ServiceAccount/bob edit other rx-a get secrets forbidden => allowed FAIL",
		"rx-b ServiceAccount/bob edit other rx-a create pods forbidden => allowed FAIL",
	}
	if len(got) != len(wantFails) {
		t.Errorf("Review of rx-b after the grant fails\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(wantFails, "\n  "))
	}
	for i, w := range wantFails {
		if i < len(got) && !strings.HasPrefix(got[i], w) {
			t.Errorf("failure %d: %s, want %s", i, got[i], w)
		}
	}
	if fs := review.Failures(); len(fs) > 0 && !strings.Contains(fs[0].Detail, "hand-made-grant") {
		t.Errorf("the failure's detail %q does not name the RoleBinding that allowed it", fs[0].Detail)
	}
	run, err := Run(t.Context(), cfg, tenants, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameVerdicts(t, of(run, "rx-b"), review)
}

// A demoted member loses its old role's rights: after edit → view is
// applied, Review refuses what edit gave; a leftover edit binding made by
// hand fails both the member's checks and the leftover's, as in Run.
func TestReviewAfterDemotion(t *testing.T) {
	cfg, c := needCluster(t)
	before := defaulted("rd-lab", "ServiceAccount/edit/ana", "ServiceAccount/view/ben")
	applied(t, c, before)
	createPods := "rd-lab ServiceAccount/ana %s own rd-lab create pods %s => %s ok"
	r, _ := reviewCounted(t, cfg, before, nil)
	if !r.Passed() || !slices.Contains(verdicts(r), fmt.Sprintf(createPods, "edit", "allowed", "allowed")) {
		t.Fatalf("before the demotion ana may not create pods:\n%s", strings.Join(verdicts(r), "\n"))
	}

	after := defaulted("rd-lab", "ServiceAccount/view/ana", "ServiceAccount/view/ben")
	applied(t, c, after)
	r, _ = reviewCounted(t, cfg, after, nil)
	if !r.Passed() {
		t.Errorf("Review failed after the demotion:\n%s", strings.Join(failures(r), "\n"))
	}
	for _, want := range []string{
		fmt.Sprintf(createPods, "view", "forbidden", "forbidden"),
		"rd-lab ServiceAccount/ana view own rd-lab list secrets forbidden => forbidden ok",
	} {
		if !slices.Contains(verdicts(r), want) {
			t.Errorf("Review after the demotion lacks %q:\n%s", want, strings.Join(verdicts(r), "\n"))
		}
	}
	run, err := Run(t.Context(), cfg, []v1alpha1.Tenant{after}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameVerdicts(t, run, r)

	// The old binding back, as an older apply left it.
	old := v1alpha1.Member{Kind: v1alpha1.ServiceAccountMember, Name: "ana", Role: v1alpha1.EditRole}
	leftover := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.BindingName(old), Namespace: "rd-lab", Labels: v1alpha1.OwnershipLabels("rd-lab")},
		RoleRef:    roleRef("Role", v1alpha1.RoleObjectName(v1alpha1.EditRole)),
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "ana", Namespace: "rd-lab"}},
	}
	if _, err := c.RbacV1().RoleBindings("rd-lab").Create(t.Context(), leftover, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// apply renders no bulkhead-edit Role for a team of viewers.
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.RoleObjectName(v1alpha1.EditRole), Namespace: "rd-lab"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"create", "get", "list"}, APIGroups: []string{""}, Resources: []string{"pods", "secrets"}}}}
	if _, err := c.RbacV1().Roles("rd-lab").Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.RbacV1().RoleBindings("rd-lab").Delete(context.Background(), leftover.Name, metav1.DeleteOptions{})
		_ = c.RbacV1().Roles("rd-lab").Delete(context.Background(), role.Name, metav1.DeleteOptions{})
	})
	r, n := reviewCounted(t, cfg, after, nil)
	got := failures(r)
	wantFails := []string{
		"rd-lab ServiceAccount/ana view own rd-lab create pods forbidden => allowed FAIL",
		"rd-lab ServiceAccount/ana view own rd-lab list secrets forbidden => allowed FAIL",
		"rd-lab ServiceAccount/ana view own rd-lab create pods forbidden => allowed FAIL", // the leftover's
		"rd-lab ServiceAccount/ana view own rd-lab get secrets forbidden => allowed FAIL",
	}
	if len(got) != len(wantFails) {
		t.Errorf("Review with ana's edit binding left fails\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(wantFails, "\n  "))
	}
	for i, w := range wantFails {
		if i < len(got) && !strings.HasPrefix(got[i], w) {
			t.Errorf("failure %d: %s, want %s", i, got[i], w)
		}
	}
	if fs := r.Failures(); len(fs) == 4 && !strings.Contains(fs[2].Detail, "RoleBinding rd-lab/"+leftover.Name+", labelled as bulkhead's, gives it edit, but its role as a member is view") {
		t.Errorf("the leftover's detail %q does not say why", fs[2].Detail)
	}
	// The leftover asks ana's identity what her member checks asked, but
	// for "get secrets": one review more.
	if got, want := n.reviews(t), 2*(3+3+6+1)+1; got != want {
		t.Errorf("%d SubjectAccessReviews with the leftover, want %d", got, want)
	}
	run, err = Run(t.Context(), cfg, []v1alpha1.Tenant{after}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameVerdicts(t, run, r)
}

// The state checks fail when the state that makes admission refuse is
// gone, as Run's requests are then admitted.
func TestReviewStateChecks(t *testing.T) {
	cfg, c := needCluster(t)
	tn := defaulted("rs-lab", "ServiceAccount/edit/ana")
	applied(t, c, tn)
	patch := []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`)
	if _, err := c.CoreV1().Namespaces().Patch(t.Context(), "rs-lab", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CoreV1().ResourceQuotas("rs-lab").Delete(t.Context(), v1alpha1.GuardrailName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r, _ := reviewCounted(t, cfg, tn, nil)
	got := failures(r)
	want := []string{
		"rs-lab ServiceAccount/ana edit guardrail rs-lab create privileged pods rejected => allowed FAIL (state check, no request made: namespace rs-lab enforces Pod Security level \"privileged\", so admission would admit it)",
		"rs-lab ServiceAccount/ana edit guardrail rs-lab create hostPath pods rejected => allowed FAIL (state check, no request made: namespace rs-lab enforces Pod Security level \"privileged\", so admission would admit it)",
		"rs-lab ServiceAccount/ana edit guardrail rs-lab create pods with 1 nvidia.com/gpu rejected => allowed FAIL (state check, no request made: ResourceQuota rs-lab/bulkhead does not exist, so admission would admit it)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Review without Pod Security and quota fails\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	run, err := Run(t.Context(), cfg, []v1alpha1.Tenant{tn}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameVerdicts(t, run, r)

	// Without the admission policy's binding an admin could bind anyone.
	admin := defaulted("rs-team", "User/admin/lead@example.com")
	applied(t, c, admin)
	policy := v1alpha1.RoleBindingPolicyName
	if err := c.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(t.Context(), policy, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // the other tests need it back
		if cs := apply.New(c, apply.Options{}).ReconcileShared(context.Background()); cs.Err != nil {
			t.Errorf("restore the admission policy: %v", cs.Err)
		}
	})
	r, _ = reviewCounted(t, cfg, admin, nil)
	var binds []string
	for _, c := range r.Failures() {
		if strings.HasPrefix(c.Action, "bind ") {
			binds = append(binds, c.Action+": "+c.Detail)
		}
	}
	if len(binds) != 3 || !strings.Contains(binds[0], "ValidatingAdmissionPolicyBinding "+policy+" does not exist") {
		t.Errorf("Review without the policy's binding fails the binds\n  %s\nwant the 3 rejected ones, saying the binding is gone", strings.Join(binds, "\n  "))
	}
}
