package render

import (
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	admissionregistrationv1ac "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// The policy runs inside the API server (CEL), so no webhook sits in the data
// path. It applies to RoleBindings in bulkhead namespaces written by anyone but
// cluster administrators and the control plane's own controllers, and allows
// only the tenant's own Roles bound to the tenant's own subjects: its
// ServiceAccounts and the users and groups listed in the namespace's
// annotations, which tenants cannot change.
const (
	exemptCondition = `!('system:masters' in request.userInfo.groups) && ` +
		`!request.userInfo.username.startsWith('system:serviceaccount:kube-system:') && ` +
		`request.userInfo.username != 'system:kube-controller-manager'`
	annotationsVar = `has(namespaceObject.metadata.annotations) ? namespaceObject.metadata.annotations : {}`
	usersVar       = `'` + v1alpha1.UsersAnnotation + `' in variables.annotations ? variables.annotations['` + v1alpha1.UsersAnnotation + `'].split('\n') : []`
	groupsVar      = `'` + v1alpha1.GroupsAnnotation + `' in variables.annotations ? variables.annotations['` + v1alpha1.GroupsAnnotation + `'].split('\n') : []`
	roleRule       = `object.roleRef.kind == 'Role' && object.roleRef.name in ['bulkhead-admin', 'bulkhead-edit', 'bulkhead-view']`
	roleMessage    = `'tenant admins may bind only the tenant\'s Roles bulkhead-admin, bulkhead-edit and bulkhead-view, not ' + object.roleRef.kind + ' ' + object.roleRef.name`
	subjectRule    = `!has(object.subjects) || object.subjects.all(s, ` +
		`(s.kind == 'ServiceAccount' && (!has(s.namespace) || s.namespace == '' || s.namespace == namespaceObject.metadata.name)) || ` +
		`(s.kind == 'User' && s.name in variables.users) || ` +
		`(s.kind == 'Group' && s.name in variables.groups))`
	subjectMessage = `'tenant admins may bind only this tenant\'s ServiceAccounts and the users and groups its spec lists; ask the platform team to add a member to the Tenant spec'`
)

// admissionPolicy renders the cluster-wide policy and its binding, shared by
// every tenant.
func admissionPolicy() []Object {
	labels := map[string]string{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue}
	fail := admissionregistrationv1.Fail
	forbidden := metav1.StatusReasonForbidden
	policy := admissionregistrationv1ac.ValidatingAdmissionPolicy(v1alpha1.RoleBindingPolicyName).
		WithLabels(labels).
		WithSpec(admissionregistrationv1ac.ValidatingAdmissionPolicySpec().
			WithFailurePolicy(fail).
			WithMatchConstraints(admissionregistrationv1ac.MatchResources().
				// Stated although they are the server's defaults: defaults
				// inside fields bulkhead sets count as bulkhead's, and a
				// missing one would read as drift on every apply.
				WithMatchPolicy(admissionregistrationv1.Equivalent).
				WithNamespaceSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue})).
				WithResourceRules(admissionregistrationv1ac.NamedRuleWithOperations().
					WithAPIGroups("rbac.authorization.k8s.io").
					WithAPIVersions("*").
					WithResources("rolebindings").
					WithScope(admissionregistrationv1.NamespacedScope).
					WithOperations(admissionregistrationv1.Create, admissionregistrationv1.Update))).
			WithMatchConditions(admissionregistrationv1ac.MatchCondition().WithName("tenant-requests").WithExpression(exemptCondition)).
			WithVariables(
				admissionregistrationv1ac.Variable().WithName("annotations").WithExpression(annotationsVar),
				admissionregistrationv1ac.Variable().WithName("users").WithExpression(usersVar),
				admissionregistrationv1ac.Variable().WithName("groups").WithExpression(groupsVar)).
			WithValidations(
				admissionregistrationv1ac.Validation().WithExpression(roleRule).WithMessageExpression(roleMessage).WithReason(forbidden),
				admissionregistrationv1ac.Validation().WithExpression(subjectRule).WithMessageExpression(subjectMessage).WithReason(forbidden)))
	binding := admissionregistrationv1ac.ValidatingAdmissionPolicyBinding(v1alpha1.RoleBindingPolicyName).
		WithLabels(labels).
		WithSpec(admissionregistrationv1ac.ValidatingAdmissionPolicyBindingSpec().
			WithPolicyName(v1alpha1.RoleBindingPolicyName).
			WithValidationActions(admissionregistrationv1.Deny))
	return []Object{policy, binding}
}

// RoleBindingPolicyRules are the CEL validations of the admission policy:
// what an auditor compares a cluster's policy with before trusting it.
func RoleBindingPolicyRules() []string { return []string{roleRule, subjectRule} }

// ExemptFromRoleBindingPolicy reports whether the admission policy's match
// condition lets a request of this user through unchecked: what apply asks
// before it uses its own identity to see whether the policy is enforced.
// It says in Go what exemptCondition says in CEL.
func ExemptFromRoleBindingPolicy(username string, groups []string) bool {
	return slices.Contains(groups, "system:masters") ||
		strings.HasPrefix(username, "system:serviceaccount:kube-system:") ||
		username == "system:kube-controller-manager"
}
