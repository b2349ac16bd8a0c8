package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	admissionregistrationv1ac "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// live is what apply needs to know of an existing object: its labels (who
// manages it) and the fields bulkhead's field manager owns in it.
type live struct {
	labels map[string]string
	owned  any // JSON-decoded apply configuration extracted for FieldManager
}

// kind is what apply does with one kind of object: read existing ones (a
// paginated LIST for many, GETs for a few) and apply one. Each kind keeps its
// typed client, so requests use protobuf where it exists.
type kind struct {
	resource string // for messages: "rolebinding.rbac.authorization.k8s.io"
	list     func(ctx context.Context, opts metav1.ListOptions) (items []metav1.Object, next string, err error)
	get      func(ctx context.Context, ns, name string) (metav1.Object, error)
	// extract returns the fields FieldManager owns in obj, normalized.
	extract func(obj metav1.Object) (any, error)
	apply   func(ctx context.Context, obj render.Object, opts metav1.ApplyOptions) error
}

// typed builds a kind from a typed client's List, Get and Apply and its Extract.
func typed[T metav1.Object, AC render.Object](
	resource string,
	list func(context.Context, metav1.ListOptions) ([]T, string, error),
	get func(ctx context.Context, ns, name string) (T, error),
	extract func(T, string) (AC, error),
	apply func(ctx context.Context, ns string, ac AC, opts metav1.ApplyOptions) error,
) kind {
	return kind{
		resource: resource,
		list: func(ctx context.Context, opts metav1.ListOptions) ([]metav1.Object, string, error) {
			items, next, err := list(ctx, opts)
			out := make([]metav1.Object, len(items))
			for i, it := range items {
				out[i] = it
			}
			return out, next, err
		},
		get: func(ctx context.Context, ns, name string) (metav1.Object, error) {
			return get(ctx, ns, name)
		},
		extract: func(obj metav1.Object) (any, error) {
			ac, err := extract(obj.(T), FieldManager)
			if err != nil {
				return nil, fmt.Errorf("read fields of %s %s owned by %s: %w", resource, obj.GetName(), FieldManager, err)
			}
			return normalize(ac)
		},
		apply: func(ctx context.Context, obj render.Object, opts metav1.ApplyOptions) error {
			ac, ok := obj.(AC)
			if !ok {
				return fmt.Errorf("internal error: %T is not a %s apply configuration", obj, resource)
			}
			return apply(ctx, deref(obj.GetNamespace()), ac, opts)
		},
	}
}

// kinds lists every kind render produces, by Kind.
func kinds(c kubernetes.Interface) map[string]kind {
	return map[string]kind{
		"Namespace": typed("namespace",
			func(ctx context.Context, o metav1.ListOptions) ([]*corev1.Namespace, string, error) {
				l, err := c.CoreV1().Namespaces().List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return ptrs(l.Items), l.Continue, nil
			},
			func(ctx context.Context, _, name string) (*corev1.Namespace, error) {
				return c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			},
			corev1ac.ExtractNamespace,
			func(ctx context.Context, _ string, ac *corev1ac.NamespaceApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := c.CoreV1().Namespaces().Apply(ctx, ac, o)
				return err
			}),
		"ServiceAccount": typed("serviceaccount",
			func(ctx context.Context, o metav1.ListOptions) ([]*corev1.ServiceAccount, string, error) {
				l, err := c.CoreV1().ServiceAccounts("").List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return ptrs(l.Items), l.Continue, nil
			},
			func(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
				return c.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
			},
			corev1ac.ExtractServiceAccount,
			func(ctx context.Context, ns string, ac *corev1ac.ServiceAccountApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := c.CoreV1().ServiceAccounts(ns).Apply(ctx, ac, o)
				return err
			}),
		"Role": typed("role.rbac.authorization.k8s.io",
			func(ctx context.Context, o metav1.ListOptions) ([]*rbacv1.Role, string, error) {
				l, err := c.RbacV1().Roles("").List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return ptrs(l.Items), l.Continue, nil
			},
			func(ctx context.Context, ns, name string) (*rbacv1.Role, error) {
				return c.RbacV1().Roles(ns).Get(ctx, name, metav1.GetOptions{})
			},
			rbacv1ac.ExtractRole,
			func(ctx context.Context, ns string, ac *rbacv1ac.RoleApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := c.RbacV1().Roles(ns).Apply(ctx, ac, o)
				return err
			}),
		"RoleBinding": typed("rolebinding.rbac.authorization.k8s.io",
			func(ctx context.Context, o metav1.ListOptions) ([]*rbacv1.RoleBinding, string, error) {
				l, err := c.RbacV1().RoleBindings("").List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return ptrs(l.Items), l.Continue, nil
			},
			func(ctx context.Context, ns, name string) (*rbacv1.RoleBinding, error) {
				return c.RbacV1().RoleBindings(ns).Get(ctx, name, metav1.GetOptions{})
			},
			rbacv1ac.ExtractRoleBinding,
			func(ctx context.Context, ns string, ac *rbacv1ac.RoleBindingApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := c.RbacV1().RoleBindings(ns).Apply(ctx, ac, o)
				return err
			}),
		"ResourceQuota": typed("resourcequota",
			func(ctx context.Context, o metav1.ListOptions) ([]*corev1.ResourceQuota, string, error) {
				l, err := c.CoreV1().ResourceQuotas("").List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return ptrs(l.Items), l.Continue, nil
			},
			func(ctx context.Context, ns, name string) (*corev1.ResourceQuota, error) {
				return c.CoreV1().ResourceQuotas(ns).Get(ctx, name, metav1.GetOptions{})
			},
			corev1ac.ExtractResourceQuota,
			func(ctx context.Context, ns string, ac *corev1ac.ResourceQuotaApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := c.CoreV1().ResourceQuotas(ns).Apply(ctx, ac, o)
				return err
			}),
		"LimitRange": typed("limitrange",
			func(ctx context.Context, o metav1.ListOptions) ([]*corev1.LimitRange, string, error) {
				l, err := c.CoreV1().LimitRanges("").List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return ptrs(l.Items), l.Continue, nil
			},
			func(ctx context.Context, ns, name string) (*corev1.LimitRange, error) {
				return c.CoreV1().LimitRanges(ns).Get(ctx, name, metav1.GetOptions{})
			},
			corev1ac.ExtractLimitRange,
			func(ctx context.Context, ns string, ac *corev1ac.LimitRangeApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := c.CoreV1().LimitRanges(ns).Apply(ctx, ac, o)
				return err
			}),
		"NetworkPolicy": typed("networkpolicy.networking.k8s.io",
			func(ctx context.Context, o metav1.ListOptions) ([]*networkingv1.NetworkPolicy, string, error) {
				l, err := c.NetworkingV1().NetworkPolicies("").List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return ptrs(l.Items), l.Continue, nil
			},
			func(ctx context.Context, ns, name string) (*networkingv1.NetworkPolicy, error) {
				return c.NetworkingV1().NetworkPolicies(ns).Get(ctx, name, metav1.GetOptions{})
			},
			networkingv1ac.ExtractNetworkPolicy,
			func(ctx context.Context, ns string, ac *networkingv1ac.NetworkPolicyApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := c.NetworkingV1().NetworkPolicies(ns).Apply(ctx, ac, o)
				return err
			}),
		"ValidatingAdmissionPolicy": typed("validatingadmissionpolicy.admissionregistration.k8s.io",
			func(ctx context.Context, o metav1.ListOptions) ([]*admissionregistrationv1.ValidatingAdmissionPolicy, string, error) {
				l, err := c.AdmissionregistrationV1().ValidatingAdmissionPolicies().List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return ptrs(l.Items), l.Continue, nil
			},
			func(ctx context.Context, _, name string) (*admissionregistrationv1.ValidatingAdmissionPolicy, error) {
				return c.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, name, metav1.GetOptions{})
			},
			admissionregistrationv1ac.ExtractValidatingAdmissionPolicy,
			func(ctx context.Context, _ string, ac *admissionregistrationv1ac.ValidatingAdmissionPolicyApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := c.AdmissionregistrationV1().ValidatingAdmissionPolicies().Apply(ctx, ac, o)
				return err
			}),
		"ValidatingAdmissionPolicyBinding": typed("validatingadmissionpolicybinding.admissionregistration.k8s.io",
			func(ctx context.Context, o metav1.ListOptions) ([]*admissionregistrationv1.ValidatingAdmissionPolicyBinding, string, error) {
				l, err := c.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return ptrs(l.Items), l.Continue, nil
			},
			func(ctx context.Context, _, name string) (*admissionregistrationv1.ValidatingAdmissionPolicyBinding, error) {
				return c.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Get(ctx, name, metav1.GetOptions{})
			},
			admissionregistrationv1ac.ExtractValidatingAdmissionPolicyBinding,
			func(ctx context.Context, _ string, ac *admissionregistrationv1ac.ValidatingAdmissionPolicyBindingApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := c.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Apply(ctx, ac, o)
				return err
			}),
	}
}

func ptrs[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
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

func key(ns, name string) string { return ns + "/" + name }

func splitKey(k string) (ns, name string) {
	ns, name, _ = strings.Cut(k, "/")
	return ns, name
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
