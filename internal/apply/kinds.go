package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	admissionregistrationv1ac "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/read"
	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// kind is what reconciling does with one kind of object: list existing ones
// (cluster-wide or in one namespace), read the fields bulkhead owns, apply,
// delete. Each kind keeps its typed client, so requests use protobuf.
type kind struct {
	kind, apiVersion, resource string
	namespaced                 bool
	// each streams the objects of one namespace ("" for all) through read.Each.
	each func(ctx context.Context, retry read.Retry, ns string, opts metav1.ListOptions, fn func(metav1.Object) error) error
	// eachFrom is each over a Lister instead of the API server.
	eachFrom func(ctx context.Context, lister Lister, ns string, opts metav1.ListOptions, fn func(metav1.Object) error) error
	// extract returns the fields FieldManager owns in obj, normalized; nil
	// for kinds bulkhead never applies.
	extract func(obj metav1.Object) (any, error)
	apply   func(ctx context.Context, obj render.Object, opts metav1.ApplyOptions) error
	delete  func(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error
}

// typed builds a kind from a typed client's List, Apply and Delete and its
// Extract function. T is the object type, L its list type.
func typed[T any, PT interface {
	*T
	metav1.Object
}, L runtime.Object, AC render.Object](
	k, apiVersion, resource string, namespaced bool,
	list func(ns string) read.List[L],
	extract func(PT, string) (AC, error),
	apply func(ctx context.Context, ns string, ac AC, opts metav1.ApplyOptions) error,
	del func(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error,
) kind {
	out := kind{kind: k, apiVersion: apiVersion, resource: resource, namespaced: namespaced, delete: del}
	out.each = func(ctx context.Context, retry read.Retry, ns string, opts metav1.ListOptions, fn func(metav1.Object) error) error {
		return read.Each(ctx, retry, list(ns), opts, func(item *T) error { return fn(PT(item)) })
	}
	out.eachFrom = func(ctx context.Context, lister Lister, ns string, opts metav1.ListOptions, fn func(metav1.Object) error) error {
		var zero L
		l := reflect.New(reflect.TypeOf(zero).Elem()).Interface().(L)
		if err := lister(ctx, l, ns, opts); err != nil {
			return err
		}
		items, err := apimeta.ExtractList(l)
		if err != nil {
			return err
		}
		for _, item := range items {
			if err := fn(item.(PT)); err != nil {
				return err
			}
		}
		return nil
	}
	if extract == nil {
		return out
	}
	out.extract = func(obj metav1.Object) (any, error) {
		ac, err := extract(obj.(PT), v1alpha1.FieldManager)
		if err != nil {
			return nil, fmt.Errorf("read fields of %s %s owned by %s: %w", resource, obj.GetName(), v1alpha1.FieldManager, err)
		}
		return normalize(ac)
	}
	out.apply = func(ctx context.Context, obj render.Object, opts metav1.ApplyOptions) error {
		ac, ok := obj.(AC)
		if !ok {
			return fmt.Errorf("internal error: %T is not a %s apply configuration", obj, resource)
		}
		return apply(ctx, deref(obj.GetNamespace()), ac, opts)
	}
	return out
}

// kinds lists every kind reconciling reads or writes, by Kind, in the order
// they are read.
func kinds(c kubernetes.Interface) map[string]kind {
	core, rbac, net, adm := c.CoreV1(), c.RbacV1(), c.NetworkingV1(), c.AdmissionregistrationV1()
	return map[string]kind{
		"Namespace": typed("Namespace", "v1", "namespace", false,
			func(string) read.List[*corev1.NamespaceList] { return core.Namespaces().List },
			corev1ac.ExtractNamespace,
			func(ctx context.Context, _ string, ac *corev1ac.NamespaceApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := core.Namespaces().Apply(ctx, ac, o)
				return err
			},
			func(ctx context.Context, _, name string, o metav1.DeleteOptions) error {
				return core.Namespaces().Delete(ctx, name, o)
			}),
		"ServiceAccount": typed("ServiceAccount", "v1", "serviceaccount", true,
			func(ns string) read.List[*corev1.ServiceAccountList] { return core.ServiceAccounts(ns).List },
			corev1ac.ExtractServiceAccount,
			func(ctx context.Context, ns string, ac *corev1ac.ServiceAccountApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := core.ServiceAccounts(ns).Apply(ctx, ac, o)
				return err
			},
			func(ctx context.Context, ns, name string, o metav1.DeleteOptions) error {
				return core.ServiceAccounts(ns).Delete(ctx, name, o)
			}),
		// Secrets: only bulkhead's legacy token Secrets are read (by
		// label), to remove those of ServiceAccounts that went away.
		"Secret": typed[corev1.Secret, *corev1.Secret, *corev1.SecretList, *corev1ac.SecretApplyConfiguration]("Secret", "v1", "secret", true,
			func(ns string) read.List[*corev1.SecretList] { return core.Secrets(ns).List },
			nil, nil,
			func(ctx context.Context, ns, name string, o metav1.DeleteOptions) error {
				return core.Secrets(ns).Delete(ctx, name, o)
			}),
		"Role": typed("Role", "rbac.authorization.k8s.io/v1", "role.rbac.authorization.k8s.io", true,
			func(ns string) read.List[*rbacv1.RoleList] { return rbac.Roles(ns).List },
			rbacv1ac.ExtractRole,
			func(ctx context.Context, ns string, ac *rbacv1ac.RoleApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := rbac.Roles(ns).Apply(ctx, ac, o)
				return err
			},
			func(ctx context.Context, ns, name string, o metav1.DeleteOptions) error {
				return rbac.Roles(ns).Delete(ctx, name, o)
			}),
		"RoleBinding": typed("RoleBinding", "rbac.authorization.k8s.io/v1", "rolebinding.rbac.authorization.k8s.io", true,
			func(ns string) read.List[*rbacv1.RoleBindingList] { return rbac.RoleBindings(ns).List },
			rbacv1ac.ExtractRoleBinding,
			func(ctx context.Context, ns string, ac *rbacv1ac.RoleBindingApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := rbac.RoleBindings(ns).Apply(ctx, ac, o)
				return err
			},
			func(ctx context.Context, ns, name string, o metav1.DeleteOptions) error {
				return rbac.RoleBindings(ns).Delete(ctx, name, o)
			}),
		"ResourceQuota": typed("ResourceQuota", "v1", "resourcequota", true,
			func(ns string) read.List[*corev1.ResourceQuotaList] { return core.ResourceQuotas(ns).List },
			corev1ac.ExtractResourceQuota,
			func(ctx context.Context, ns string, ac *corev1ac.ResourceQuotaApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := core.ResourceQuotas(ns).Apply(ctx, ac, o)
				return err
			},
			func(ctx context.Context, ns, name string, o metav1.DeleteOptions) error {
				return core.ResourceQuotas(ns).Delete(ctx, name, o)
			}),
		"LimitRange": typed("LimitRange", "v1", "limitrange", true,
			func(ns string) read.List[*corev1.LimitRangeList] { return core.LimitRanges(ns).List },
			corev1ac.ExtractLimitRange,
			func(ctx context.Context, ns string, ac *corev1ac.LimitRangeApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := core.LimitRanges(ns).Apply(ctx, ac, o)
				return err
			},
			func(ctx context.Context, ns, name string, o metav1.DeleteOptions) error {
				return core.LimitRanges(ns).Delete(ctx, name, o)
			}),
		"NetworkPolicy": typed("NetworkPolicy", "networking.k8s.io/v1", "networkpolicy.networking.k8s.io", true,
			func(ns string) read.List[*networkingv1.NetworkPolicyList] { return net.NetworkPolicies(ns).List },
			networkingv1ac.ExtractNetworkPolicy,
			func(ctx context.Context, ns string, ac *networkingv1ac.NetworkPolicyApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := net.NetworkPolicies(ns).Apply(ctx, ac, o)
				return err
			},
			func(ctx context.Context, ns, name string, o metav1.DeleteOptions) error {
				return net.NetworkPolicies(ns).Delete(ctx, name, o)
			}),
		"ValidatingAdmissionPolicy": typed("ValidatingAdmissionPolicy", "admissionregistration.k8s.io/v1", "validatingadmissionpolicy.admissionregistration.k8s.io", false,
			func(string) read.List[*admissionregistrationv1.ValidatingAdmissionPolicyList] {
				return adm.ValidatingAdmissionPolicies().List
			},
			admissionregistrationv1ac.ExtractValidatingAdmissionPolicy,
			func(ctx context.Context, _ string, ac *admissionregistrationv1ac.ValidatingAdmissionPolicyApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := adm.ValidatingAdmissionPolicies().Apply(ctx, ac, o)
				return err
			},
			func(ctx context.Context, _, name string, o metav1.DeleteOptions) error {
				return adm.ValidatingAdmissionPolicies().Delete(ctx, name, o)
			}),
		"ValidatingAdmissionPolicyBinding": typed("ValidatingAdmissionPolicyBinding", "admissionregistration.k8s.io/v1", "validatingadmissionpolicybinding.admissionregistration.k8s.io", false,
			func(string) read.List[*admissionregistrationv1.ValidatingAdmissionPolicyBindingList] {
				return adm.ValidatingAdmissionPolicyBindings().List
			},
			admissionregistrationv1ac.ExtractValidatingAdmissionPolicyBinding,
			func(ctx context.Context, _ string, ac *admissionregistrationv1ac.ValidatingAdmissionPolicyBindingApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := adm.ValidatingAdmissionPolicyBindings().Apply(ctx, ac, o)
				return err
			},
			func(ctx context.Context, _, name string, o metav1.DeleteOptions) error {
				return adm.ValidatingAdmissionPolicyBindings().Delete(ctx, name, o)
			}),
	}
}

// normalize turns an apply configuration into plain JSON values so a desired
// object and the fields extracted from a live one compare with DeepEqual.
// Empty objects are dropped: a required empty field such as a
// NetworkPolicy's `podSelector: {}` is sent, but owning it leaves nothing
// for Extract to return.
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return dropEmpty(out), nil
}

func dropEmpty(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			e = dropEmpty(e)
			if m, ok := e.(map[string]any); (ok && len(m) == 0) || e == nil {
				delete(t, k)
				continue
			}
			t[k] = e
		}
	case []any:
		for i, e := range t {
			t[i] = dropEmpty(e)
		}
	}
	return v
}
