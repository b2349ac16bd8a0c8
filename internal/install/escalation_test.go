package install

import (
	"context"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

type rbacRule = rbacv1.PolicyRule

// escalationChecks shows that the API server's escalation checks look at
// the name of the Role written or bound, which is what lets the
// controller's ClusterRole grant escalate and bind on bulkhead's three Role
// names instead of holding every right a tenant is given.
func escalationChecks(ctx context.Context, t *testing.T, admin, controller kubernetes.Interface) {
	const ns = "escalation-check"
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	opts := metav1.ApplyOptions{FieldManager: v1alpha1.FieldManager, Force: true}
	// Rights the controller does not hold.
	exec := rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("pods/exec", "secrets").WithVerbs("get", "create")
	role := func(name string) *rbacv1ac.RoleApplyConfiguration {
		return rbacv1ac.Role(name, ns).WithRules(exec)
	}
	binding := func(name, kind, roleName string) *rbacv1ac.RoleBindingApplyConfiguration {
		return rbacv1ac.RoleBinding(name, ns).
			WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind(kind).WithName(roleName)).
			WithSubjects(rbacv1ac.Subject().WithKind(rbacv1.UserKind).WithAPIGroup(rbacv1.GroupName).WithName("someone"))
	}
	mustForbid := func(t *testing.T, err error, why string) {
		t.Helper()
		if !apierrors.IsForbidden(err) {
			t.Fatalf("got %v, want Forbidden (%s)", err, why)
		}
		if !strings.Contains(err.Error(), why) {
			t.Errorf("refused for another reason than %q: %v", why, err)
		}
	}
	const notHeld = "attempting to grant RBAC permissions not currently held"

	// Allowed: bulkhead's own names, by server-side apply (what apply does).
	if _, err := controller.RbacV1().Roles(ns).Apply(ctx, role("bulkhead-admin"), opts); err != nil {
		t.Fatalf("apply Role bulkhead-admin with pods/exec as the controller: %v", err)
	}
	if _, err := controller.RbacV1().RoleBindings(ns).Apply(ctx, binding("to-admin", "Role", "bulkhead-admin"), opts); err != nil {
		t.Fatalf("bind Role bulkhead-admin as the controller: %v", err)
	}

	// Refused: another Role name is outside the ClusterRole's resourceNames.
	_, err := controller.RbacV1().Roles(ns).Apply(ctx, role("other"), opts)
	mustForbid(t, err, `cannot patch resource "roles"`)

	// A plain create carries no name for the authorizer to match, so the
	// controller must write Roles by server-side apply.
	_, err = controller.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "bulkhead-edit"}}, metav1.CreateOptions{})
	mustForbid(t, err, `cannot create resource "roles"`)

	// Refused by the escalation check itself: with the right to write every
	// Role of the namespace, escalate on bulkhead-admin still does not
	// cover a Role named otherwise.
	writer := rbacv1ac.Role("role-writer", ns).WithRules(rbacv1ac.PolicyRule().
		WithAPIGroups(rbacv1.GroupName).WithResources("roles", "rolebindings").WithVerbs("create", "patch"))
	if _, err := admin.RbacV1().Roles(ns).Apply(ctx, writer, opts); err != nil {
		t.Fatal(err)
	}
	wb := rbacv1ac.RoleBinding("role-writer", ns).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("Role").WithName("role-writer")).
		WithSubjects(rbacv1ac.Subject().WithKind(rbacv1.ServiceAccountKind).WithNamespace(controllerNamespace).WithName("bulkhead-controller"))
	if _, err := admin.RbacV1().RoleBindings(ns).Apply(ctx, wb, opts); err != nil {
		t.Fatal(err)
	}
	// The authorizer sees a new binding through its informers, a moment
	// later: wait until it allows the write before asking about escalation.
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + controllerNamespace + ":bulkhead-controller",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + controllerNamespace, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "patch", Group: rbacv1.GroupName,
			Resource: "roles", Name: "other"},
	}}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		r, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		return err == nil && r.Status.Allowed, nil
	}); err != nil {
		t.Fatalf("the role-writer binding never took effect: %v", err)
	}
	_, err = controller.RbacV1().Roles(ns).Apply(ctx, role("other"), opts)
	mustForbid(t, err, notHeld)

	// bind, likewise: a Role of another name, or a ClusterRole, is refused.
	if _, err := admin.RbacV1().Roles(ns).Apply(ctx, role("other"), opts); err != nil {
		t.Fatal(err)
	}
	_, err = controller.RbacV1().RoleBindings(ns).Apply(ctx, binding("to-other", "Role", "other"), opts)
	mustForbid(t, err, notHeld)
	_, err = controller.RbacV1().RoleBindings(ns).Apply(ctx, binding("to-cluster-admin", "ClusterRole", "cluster-admin"), opts)
	mustForbid(t, err, notHeld)

}
