package verify

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// membersNS is a tenant namespace whose members annotation lists members.
func membersNS(name string, members ...v1alpha1.Member) *corev1.Namespace {
	lines := make([]string, len(members))
	for i, m := range members {
		lines[i] = v1alpha1.MemberLine(m)
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: v1alpha1.OwnershipLabels(name),
		Annotations: map[string]string{v1alpha1.MembersAnnotation: strings.Join(lines, "\n")}}}
}

func member(kind v1alpha1.MemberKind, name string, role v1alpha1.RoleName) v1alpha1.Member {
	return v1alpha1.Member{Kind: kind, Name: name, Role: role}
}

// bulkheadBinding is the RoleBinding render makes for m in ns.
func bulkheadBinding(ns string, m v1alpha1.Member) rbacv1.RoleBinding {
	s := rbacv1.Subject{Kind: string(m.Kind), Name: m.Name, APIGroup: rbacv1.GroupName}
	if m.Kind == v1alpha1.ServiceAccountMember {
		s = rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: m.Name, Namespace: ns}
	}
	return rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.BindingName(m), Namespace: ns, Labels: v1alpha1.OwnershipLabels(ns)},
		RoleRef:    roleRef("Role", v1alpha1.RoleObjectName(m.Role)),
		Subjects:   []rbacv1.Subject{s},
	}
}

// described lists leftovers as "binding subject granted/role".
func described(ls []leftover) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.binding+" "+l.subject.String()+" "+string(l.granted)+"/"+string(l.role))
	}
	return out
}

func TestFindLeftovers(t *testing.T) {
	ana := member(v1alpha1.ServiceAccountMember, "ana", v1alpha1.ViewRole)
	carl := member(v1alpha1.UserMember, "carl@example.com", v1alpha1.EditRole)
	ns := membersNS("lab", ana, carl)

	anaBefore := bulkheadBinding("lab", member(v1alpha1.ServiceAccountMember, "ana", v1alpha1.EditRole))
	ben := bulkheadBinding("lab", member(v1alpha1.ServiceAccountMember, "ben", v1alpha1.EditRole))
	ben.Subjects[0].Namespace = "" // the binding's namespace
	readers := bulkheadBinding("lab", member(v1alpha1.GroupMember, "readers", v1alpha1.ViewRole))
	handMade := bulkheadBinding("lab", member(v1alpha1.UserMember, "eve", v1alpha1.EditRole))
	handMade.Labels = nil
	elsewhere := bulkheadBinding("other", member(v1alpha1.UserMember, "zed", v1alpha1.EditRole))
	clusterRole := bulkheadBinding("lab", member(v1alpha1.UserMember, "carl@example.com", v1alpha1.EditRole))
	clusterRole.Name, clusterRole.RoleRef = "carl-admin", roleRef("ClusterRole", "admin")

	got := described(findLeftovers(ns, []rbacv1.RoleBinding{
		bulkheadBinding("lab", ana), bulkheadBinding("lab", carl), // what apply renders: no leftover
		anaBefore, ben, readers, handMade, elsewhere, clusterRole,
	}))
	want := []string{
		"bulkhead-edit-sa-ana ServiceAccount lab/ana edit/view",
		"bulkhead-edit-sa-ben ServiceAccount lab/ben edit/",
		"bulkhead-view-group-readers Group readers view/",
		"carl-admin User carl@example.com /edit",
	}
	if !slices.Equal(got, want) {
		t.Errorf("leftovers:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	// A namespace an older bulkhead applied says nothing about members.
	delete(ns.Annotations, v1alpha1.MembersAnnotation)
	if ls := findLeftovers(ns, []rbacv1.RoleBinding{ben}); len(ls) != 0 {
		t.Errorf("without a members annotation: %v, want none", described(ls))
	}
}

// plannedLeftover lists "scope ns action expect" for one leftover.
func plannedLeftover(l leftover, ns string) []string {
	var out []string
	planLeftover(l, ns, func(scope Scope, ns string, expect Outcome, ps ...probe) {
		for _, p := range ps {
			out = append(out, strings.Join([]string{string(scope), ns, p.action, string(expect)}, " "))
		}
	})
	return out
}

func TestPlanLeftover(t *testing.T) {
	ns := membersNS("lab", member(v1alpha1.ServiceAccountMember, "ana", v1alpha1.ViewRole))
	ls := findLeftovers(ns, []rbacv1.RoleBinding{
		bulkheadBinding("lab", member(v1alpha1.ServiceAccountMember, "ben", v1alpha1.EditRole)),
		bulkheadBinding("lab", member(v1alpha1.ServiceAccountMember, "ana", v1alpha1.EditRole)),
		bulkheadBinding("lab", member(v1alpha1.ServiceAccountMember, "ana", v1alpha1.AdminRole)),
	})
	if len(ls) != 3 {
		t.Fatalf("leftovers %v, want 3", described(ls))
	}
	tests := []struct {
		leftover leftover
		want     []string
	}{
		// Removed: nothing edit gives.
		{ls[0], []string{"own lab list pods forbidden", "own lab create pods forbidden", "own lab get secrets forbidden"}},
		// Demoted to view: what edit gives beyond view.
		{ls[1], []string{"own lab create pods forbidden", "own lab get secrets forbidden"}},
		{ls[2], []string{"own lab create pods forbidden", "own lab get secrets forbidden", "own lab create rolebindings forbidden"}},
		// Any other roleRef may give anything.
		{leftover{binding: "x", roleRef: roleRef("ClusterRole", "admin")}, []string{"own lab list pods forbidden",
			"own lab create pods forbidden", "own lab get secrets forbidden", "own lab create rolebindings forbidden"}},
	}
	for _, tc := range tests {
		if got := plannedLeftover(tc.leftover, "lab"); !slices.Equal(got, tc.want) {
			t.Errorf("%s: plan\n  %s\nwant\n  %s", described([]leftover{tc.leftover}), strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
		}
	}
	// A promoted member's old, lower binding gives nothing to check.
	promoted := leftover{granted: v1alpha1.ViewRole, role: v1alpha1.EditRole}
	if got := plannedLeftover(promoted, "lab"); len(got) != 0 {
		t.Errorf("view left over for an edit member: %v, want nothing", got)
	}

	if got, want := ls[0].member("lab"), "ServiceAccount/ben"; got != want {
		t.Errorf("member = %q, want %q", got, want)
	}
	for _, want := range []string{"RoleBinding lab/bulkhead-edit-sa-ben", "gives it edit", "no member of the tenant", "bulkhead.dev/members"} {
		if !strings.Contains(ls[0].reason("lab"), want) {
			t.Errorf("reason %q lacks %q", ls[0].reason("lab"), want)
		}
	}
	if r := ls[1].reason("lab"); !strings.Contains(r, "gives it edit") || !strings.Contains(r, "its role as a member is view") {
		t.Errorf("a demoted member's reason %q does not say edit and view", r)
	}
}

// A tenant read back from the cluster lists a leftover binding's subject as
// a member with that role: it is checked as a leftover only.
func TestIsLeftover(t *testing.T) {
	ana := member(v1alpha1.ServiceAccountMember, "ana", v1alpha1.EditRole)
	ben := member(v1alpha1.ServiceAccountMember, "ben", v1alpha1.EditRole)
	ls := findLeftovers(membersNS("lab", ana), []rbacv1.RoleBinding{bulkheadBinding("lab", ana), bulkheadBinding("lab", ben)})
	if isLeftover(ana, "lab", ls) {
		t.Errorf("ana, a member with the role of her binding, taken for a leftover")
	}
	if !isLeftover(ben, "lab", ls) {
		t.Errorf("ben, only bound by a leftover binding, checked as a member")
	}
	if isLeftover(member(v1alpha1.ServiceAccountMember, "ben", v1alpha1.ViewRole), "lab", ls) {
		t.Errorf("ben as view (a spec not applied yet) taken for the edit leftover")
	}
}

// A demoted member's role is the one checked: view must not create pods.
func TestPlanViewMemberCannotCreatePods(t *testing.T) {
	view := member(v1alpha1.ServiceAccountMember, "ana", v1alpha1.ViewRole)
	got := planned(tenantWith("lab", v1alpha1.PodSecurityBaseline, "", view), view)
	for _, want := range []string{"own lab create pods forbidden", "own lab list secrets forbidden", "own lab list pods allowed"} {
		if !slices.Contains(got, want) {
			t.Errorf("view plan lacks %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
}
