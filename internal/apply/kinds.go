package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

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
