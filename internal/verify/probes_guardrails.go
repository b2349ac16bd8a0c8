package verify

import (
	"context"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Probes of the guardrails that RBAC alone does not give: Pod Security
// Admission, the quota and the admission policy on RoleBindings. Each must be
// authorized and then rejected by admission; Review, which makes no request,
// reads the state that makes admission reject it (enforced).
var (
	privilegedPod = probe{action: "create privileged pods", attrs: attrs("create", "", "pods"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		pod := compliantPod()
		pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
		_, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: dryRun})
		return err
	}, enforced: podSecurityEnforced}
	hostPathPod = probe{action: "create hostPath pods", attrs: attrs("create", "", "pods"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		pod := compliantPod()
		pod.Spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host"}}
		_, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: dryRun})
		return err
	}, enforced: podSecurityEnforced}
	deleteNetpol = probe{action: "delete networkpolicies", attrs: named("delete", "networking.k8s.io", "networkpolicies"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		return c.NetworkingV1().NetworkPolicies(ns).Delete(ctx, probeName, metav1.DeleteOptions{DryRun: dryRun})
	}}
	patchNamespace = probe{action: "patch own namespace labels", attrs: attrs("patch", "", "namespaces"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		patch := []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`)
		_, err := c.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, patch, metav1.PatchOptions{DryRun: dryRun})
		return err
	}}
)

// gpuPod asks for one GPU more than the quota allows.
func gpuPod(gpuResource string, quota int64) probe {
	n := quota + 1
	return probe{action: "create pods with " + strconv.FormatInt(n, 10) + " " + gpuResource, attrs: attrs("create", "", "pods"),
		enforced: quotaCaps(gpuResource, n),
		do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
			pod := compliantPod()
			q := *resource.NewQuantity(n, resource.DecimalSI)
			pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceName(gpuResource): q},
				Limits:   corev1.ResourceList{corev1.ResourceName(gpuResource): q},
			}
			_, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: dryRun})
			return err
		}}
}

// bind asks to create a RoleBinding; tenant admins may only bind their own
// Roles to their own subjects.
func bind(action string, ref rbacv1.RoleRef, subject rbacv1.Subject) probe {
	return probe{action: action, attrs: attrs("create", "rbac.authorization.k8s.io", "rolebindings"), do: func(ctx context.Context, c kubernetes.Interface, ns string) error {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: probeName}, RoleRef: ref, Subjects: []rbacv1.Subject{subject}}
		_, err := c.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{DryRun: dryRun})
		return err
	}}
}

// rejectedBind is bind for a RoleBinding the admission policy must reject.
func rejectedBind(action string, ref rbacv1.RoleRef, subject rbacv1.Subject) probe {
	p := bind(action, ref, subject)
	p.enforced = bindingPolicyEnforced
	return p
}

func roleRef(kind, name string) rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: name}
}
