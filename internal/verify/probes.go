package verify

import (
	"context"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// probe is one real request a member makes. Writes are server-side dry runs,
// so verify never changes the cluster. Requests for named objects use a name
// that does not exist: authorization runs before the lookup, so "not found"
// proves the request was allowed, and "forbidden" that it was not.
type probe struct {
	action string
	// attrs describe the request to the authorizer: a SelfSubjectAccessReview
	// of them tells an RBAC refusal from an admission refusal in Run, and
	// Review asks a SubjectAccessReview of them instead of making it.
	attrs authorizationv1.ResourceAttributes
	do    func(ctx context.Context, c kubernetes.Interface, ns string) error
	// enforced, on a probe admission must refuse, reads the state that
	// makes admission refuse it: Review's answer where Run's is a request.
	enforced refusal
}

// attributes are the probe's request in namespace ns ("" for the cluster
// scope) as the authorizer sees it. A request for a Namespace object is
// in that namespace and names it.
func (p probe) attributes(ns string) *authorizationv1.ResourceAttributes {
	a := p.attrs
	a.Namespace = ns
	if a.Resource == "namespaces" && a.Group == "" && ns != "" {
		a.Name = ns
	}
	return &a
}

// probeName is the name of objects verify asks about; nothing is ever created.
const probeName = "bulkhead-verify-probe"

var dryRun = []string{metav1.DryRunAll}

func attrs(verb, group, resource string) authorizationv1.ResourceAttributes {
	return authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource}
}

// named is attrs for a request on the object called probeName.
func named(verb, group, resource string) authorizationv1.ResourceAttributes {
	a := attrs(verb, group, resource)
	a.Name = probeName
	return a
}

var (
	listPods = probe{action: "list pods", attrs: attrs("list", "", "pods"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		_, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 1})
		return err
	}}
	createPod = probe{action: "create pods", attrs: attrs("create", "", "pods"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		_, err := c.CoreV1().Pods(ns).Create(ctx, compliantPod(), metav1.CreateOptions{DryRun: dryRun})
		return err
	}}
	createJob = probe{action: "create jobs", attrs: attrs("create", "batch", "jobs"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: probeName},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: compliantPod().Spec}}}
		job.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		_, err := c.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{DryRun: dryRun})
		return err
	}}
	listSecrets = probe{action: "list secrets", attrs: attrs("list", "", "secrets"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		_, err := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{Limit: 1})
		return err
	}}
	getSecret = probe{action: "get secrets", attrs: named("get", "", "secrets"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		_, err := c.CoreV1().Secrets(ns).Get(ctx, probeName, metav1.GetOptions{})
		return err
	}}
	listNamespaces = probe{action: "list namespaces", attrs: attrs("list", "", "namespaces"), do: func(ctx context.Context, c kubernetes.Interface, _ string) error {
		_, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: 1})
		return err
	}}
	listNodes = probe{action: "list nodes", attrs: attrs("list", "", "nodes"), do: func(ctx context.Context, c kubernetes.Interface, _ string) error {
		_, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 1})
		return err
	}}
	createCRB = probe{action: "create clusterrolebindings", attrs: attrs("create", "rbac.authorization.k8s.io", "clusterrolebindings"), do: func(ctx context.Context, c kubernetes.Interface, _ string) error {
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: probeName},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"}}}
		_, err := c.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{DryRun: dryRun})
		return err
	}}
	createRoleBinding = probe{action: "create rolebindings", attrs: attrs("create", "rbac.authorization.k8s.io", "rolebindings"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: probeName},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"}}}
		_, err := c.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{DryRun: dryRun})
		return err
	}}
	deleteQuota = probe{action: "delete resourcequotas", attrs: named("delete", "", "resourcequotas"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		return c.CoreV1().ResourceQuotas(ns).Delete(ctx, probeName, metav1.DeleteOptions{DryRun: dryRun})
	}}
	patchQuota = probe{action: "patch resourcequotas", attrs: named("patch", "", "resourcequotas"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		_, err := c.CoreV1().ResourceQuotas(ns).Patch(ctx, probeName, types.MergePatchType, []byte(`{}`), metav1.PatchOptions{DryRun: dryRun})
		return err
	}}
	deleteLimits = probe{action: "delete limitranges", attrs: named("delete", "", "limitranges"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		return c.CoreV1().LimitRanges(ns).Delete(ctx, probeName, metav1.DeleteOptions{DryRun: dryRun})
	}}
	patchLimits = probe{action: "patch limitranges", attrs: named("patch", "", "limitranges"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		_, err := c.CoreV1().LimitRanges(ns).Patch(ctx, probeName, types.MergePatchType, []byte(`{}`), metav1.PatchOptions{DryRun: dryRun})
		return err
	}}
)

// compliantPod passes the restricted Pod Security level, so that admission
// never hides what RBAC decided.
func compliantPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: probeName},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:  "probe",
				Image: "registry.k8s.io/pause:3.10",
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
}
