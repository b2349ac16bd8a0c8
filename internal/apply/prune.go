package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/credentials"
	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// ref names a live object for results; it satisfies render.Object.
type ref struct{ kind, apiVersion, name, namespace string }

func (r ref) GetKind() *string       { return &r.kind }
func (r ref) GetAPIVersion() *string { return &r.apiVersion }
func (r ref) GetName() *string       { return &r.name }
func (r ref) GetNamespace() *string  { return &r.namespace }

// PruneOptions say how far offboarding goes.
type PruneOptions struct {
	// DeleteData deletes the namespaces of removed tenants, with their data.
	DeleteData bool
	// Reason is recorded on cordoned namespaces.
	Reason string
	// Now stamps cordoned namespaces.
	Now time.Time
}

// Prune offboards what bulkhead manages and desired no longer names, in
// stages that keep data safe: first credentials die (token Secrets and
// ServiceAccounts, which invalidates bound tokens), then bindings and Roles go,
// then a removed tenant's namespace is cordoned (a quota of zero pods and an
// annotation saying when and why); the namespace and its data stay unless
// DeleteData. Only objects with bulkhead's labels are touched. In a dry run
// nothing changes and every result says "pruned".
func (a *Applier) Prune(ctx context.Context, desired []render.Object, o PruneOptions) ([]Result, error) {
	want := map[string]bool{}
	keptNS := map[string]bool{}
	for _, d := range desired {
		want[kindKey(d)] = true
		if deref(d.GetKind()) == "Namespace" {
			keptNS[deref(d.GetName())] = true
		}
	}
	sel := metav1.ListOptions{LabelSelector: v1alpha1.ManagedByLabel + "=" + v1alpha1.ManagedByValue}
	var results []Result
	record := func(r ref, action Action, err error) {
		if a.opts.DryRun && err == nil {
			action = Pruned
		}
		res := Result{Object: r, Action: action, Err: err}
		if err != nil {
			res.Action = Failed
		}
		results = append(results, res)
	}
	del := func(r ref, fn func() error) {
		if a.opts.DryRun {
			record(r, Pruned, nil)
			return
		}
		err := fn()
		if apierrors.IsNotFound(err) {
			err = nil
		}
		record(r, Deleted, err)
	}
	c := a.client

	// 1. Credentials: ServiceAccounts no longer wanted, with their token Secrets.
	sas, err := c.CoreV1().ServiceAccounts("").List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("list bulkhead serviceaccounts: %w", err)
	}
	for _, sa := range sas.Items {
		r := ref{"ServiceAccount", "v1", sa.Name, sa.Namespace}
		if want[kindKey(r)] {
			continue
		}
		if a.opts.DryRun {
			record(r, Pruned, nil)
			continue
		}
		_, err := credentials.Revoke(ctx, c.CoreV1(), sa.Namespace, sa.Name, nil, false)
		record(r, Revoked, err)
	}
	// Token Secrets bulkhead made for members still wanted stay; the rest go.
	secrets, err := c.CoreV1().Secrets("").List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("list bulkhead secrets: %w", err)
	}
	for _, s := range secrets.Items {
		owner := s.Annotations[corev1.ServiceAccountNameKey]
		if want[kindKey(ref{kind: "ServiceAccount", name: owner, namespace: s.Namespace})] {
			continue
		}
		del(ref{"Secret", "v1", s.Name, s.Namespace}, func() error {
			return c.CoreV1().Secrets(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{})
		})
	}

	// 2. Access: RoleBindings, then Roles. Guardrails of kept tenants that
	// the spec dropped (a LimitRange, a NetworkPolicy) go too; a removed
	// tenant's guardrails stay to protect its data.
	rbs, err := c.RbacV1().RoleBindings("").List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("list bulkhead rolebindings: %w", err)
	}
	for _, rb := range rbs.Items {
		if r := (ref{"RoleBinding", "rbac.authorization.k8s.io/v1", rb.Name, rb.Namespace}); !want[kindKey(r)] {
			del(r, func() error {
				return c.RbacV1().RoleBindings(rb.Namespace).Delete(ctx, rb.Name, metav1.DeleteOptions{})
			})
		}
	}
	roles, err := c.RbacV1().Roles("").List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("list bulkhead roles: %w", err)
	}
	for _, role := range roles.Items {
		if r := (ref{"Role", "rbac.authorization.k8s.io/v1", role.Name, role.Namespace}); !want[kindKey(r)] {
			del(r, func() error { return c.RbacV1().Roles(role.Namespace).Delete(ctx, role.Name, metav1.DeleteOptions{}) })
		}
	}
	lrs, err := c.CoreV1().LimitRanges("").List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("list bulkhead limitranges: %w", err)
	}
	for _, lr := range lrs.Items {
		if r := (ref{"LimitRange", "v1", lr.Name, lr.Namespace}); keptNS[lr.Namespace] && !want[kindKey(r)] {
			del(r, func() error { return c.CoreV1().LimitRanges(lr.Namespace).Delete(ctx, lr.Name, metav1.DeleteOptions{}) })
		}
	}
	nps, err := c.NetworkingV1().NetworkPolicies("").List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("list bulkhead networkpolicies: %w", err)
	}
	for _, np := range nps.Items {
		if r := (ref{"NetworkPolicy", "networking.k8s.io/v1", np.Name, np.Namespace}); keptNS[np.Namespace] && !want[kindKey(r)] {
			del(r, func() error {
				return c.NetworkingV1().NetworkPolicies(np.Namespace).Delete(ctx, np.Name, metav1.DeleteOptions{})
			})
		}
	}

	// 3. Namespaces of removed tenants: cordon, or delete with their data.
	nss, err := c.CoreV1().Namespaces().List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("list bulkhead namespaces: %w", err)
	}
	for _, ns := range nss.Items {
		r := ref{"Namespace", "v1", ns.Name, ""}
		if keptNS[ns.Name] {
			continue
		}
		if o.DeleteData {
			del(r, func() error { return c.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}) })
			continue
		}
		if ns.Labels[v1alpha1.StateLabel] == v1alpha1.StateCordoned {
			continue
		}
		if a.opts.DryRun {
			record(r, Pruned, nil)
			continue
		}
		record(r, Cordoned, a.cordon(ctx, &ns, o))
	}
	sort.SliceStable(results, func(i, j int) bool { return kindKey(results[i].Object) < kindKey(results[j].Object) })
	var failed []string
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.String())
		}
	}
	if len(failed) > 0 {
		return results, fmt.Errorf("%d prune steps failed:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	return results, nil
}

// cordon marks a removed tenant's namespace and stops new pods in it, through
// bulkhead's own field manager so that a later apply of the tenant undoes it.
func (a *Applier) cordon(ctx context.Context, ns *corev1.Namespace, o PruneOptions) error {
	c := a.client
	zero := resource.MustParse("0")
	quota := corev1ac.ResourceQuota(v1alpha1.GuardrailName, ns.Name).
		WithLabels(v1alpha1.OwnershipLabels(ns.Labels[v1alpha1.TenantLabel])).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(corev1.ResourceList{corev1.ResourcePods: zero}))
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if _, err := c.CoreV1().ResourceQuotas(ns.Name).Apply(ctx, quota, opts); err != nil {
		return fmt.Errorf("cordon namespace %s: %w", ns.Name, err)
	}
	cur, err := corev1ac.ExtractNamespace(ns, FieldManager)
	if err != nil {
		return fmt.Errorf("cordon namespace %s: %w", ns.Name, err)
	}
	reason := o.Reason
	if reason == "" {
		reason = "tenant removed from the spec"
	}
	cur.WithLabels(map[string]string{v1alpha1.StateLabel: v1alpha1.StateCordoned}).
		WithAnnotations(map[string]string{v1alpha1.CordonedAnnotation: o.Now.UTC().Format(time.RFC3339) + " " + reason})
	if _, err := c.CoreV1().Namespaces().Apply(ctx, cur, opts); err != nil {
		return fmt.Errorf("cordon namespace %s: %w", ns.Name, err)
	}
	return nil
}
