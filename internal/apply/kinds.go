package apply

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
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

// kind is what apply does with one kind of object: list them all, apply one.
// Each kind keeps its typed client, so requests use protobuf where it exists.
type kind struct {
	resource string // for messages: "rolebinding.rbac.authorization.k8s.io"
	list     func(ctx context.Context, opts metav1.ListOptions) (items []live, keys []string, next string, err error)
	apply    func(ctx context.Context, obj render.Object, opts metav1.ApplyOptions) error
}

// typed builds a kind from a typed client's List and Apply and its Extract.
func typed[T metav1.Object, AC render.Object](
	resource string,
	list func(context.Context, metav1.ListOptions) ([]T, string, error),
	extract func(T, string) (AC, error),
	apply func(ctx context.Context, ns string, ac AC, opts metav1.ApplyOptions) error,
) kind {
	return kind{
		resource: resource,
		list: func(ctx context.Context, opts metav1.ListOptions) ([]live, []string, string, error) {
			items, next, err := list(ctx, opts)
			if err != nil {
				return nil, nil, "", err
			}
			lives := make([]live, len(items))
			keys := make([]string, len(items))
			for i, it := range items {
				ac, err := extract(it, FieldManager)
				if err != nil {
					return nil, nil, "", fmt.Errorf("read fields of %s %s owned by %s: %w", resource, it.GetName(), FieldManager, err)
				}
				owned, err := normalize(ac)
				if err != nil {
					return nil, nil, "", err
				}
				lives[i] = live{labels: it.GetLabels(), owned: owned}
				keys[i] = key(it.GetNamespace(), it.GetName())
			}
			return lives, keys, next, nil
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
			rbacv1ac.ExtractRoleBinding,
			func(ctx context.Context, ns string, ac *rbacv1ac.RoleBindingApplyConfiguration, o metav1.ApplyOptions) error {
				_, err := c.RbacV1().RoleBindings(ns).Apply(ctx, ac, o)
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
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(b, &out)
}

func key(ns, name string) string { return ns + "/" + name }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
