package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// repairTimeout bounds the wait for one recreated RoleBinding.
const repairTimeout = time.Minute

// driftRepair deletes one managed RoleBinding of each of the tenants
// named, one at a time, each after the previous one was put back, and
// returns the time from each delete call to the recreated RoleBinding's
// ADDED event on a watch opened before the first delete.
func driftRepair(ctx context.Context, cs kubernetes.Interface, tenants []string) ([]time.Duration, error) {
	rbs := cs.RbacV1().RoleBindings("")
	// A one-item page gives the list's resource version cheaply: the
	// watch starts there, so it sees every event after it and no older one.
	page, err := rbs.List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector, Limit: 1})
	if err != nil {
		return nil, err
	}
	w, err := rbs.Watch(ctx, metav1.ListOptions{LabelSelector: v1alpha1.ManagedSelector, ResourceVersion: page.ResourceVersion})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	var out []time.Duration
	for _, tenant := range tenants {
		victim, err := managedRoleBinding(ctx, cs, tenant)
		if err != nil {
			return out, err
		}
		uid := victim.UID
		start := time.Now()
		if err := cs.RbacV1().RoleBindings(victim.Namespace).Delete(ctx, victim.Name,
			metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil {
			return out, fmt.Errorf("delete RoleBinding %s/%s: %w", victim.Namespace, victim.Name, err)
		}
		d, err := waitRecreated(ctx, w, victim, start)
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
	return out, nil
}

// managedRoleBinding is the first (by name) RoleBinding bulkhead manages in
// the tenant's namespace.
func managedRoleBinding(ctx context.Context, cs kubernetes.Interface, tenant string) (*rbacv1.RoleBinding, error) {
	list, err := cs.RbacV1().RoleBindings(tenant).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.TenantSelector(tenant)})
	if err != nil {
		return nil, err
	}
	if len(list.Items) == 0 {
		return nil, fmt.Errorf("tenant %s: no RoleBinding labelled %s in namespace %s", tenant, v1alpha1.TenantSelector(tenant), tenant)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return &list.Items[0], nil
}

func waitRecreated(ctx context.Context, w watch.Interface, old *rbacv1.RoleBinding, start time.Time) (time.Duration, error) {
	timeout := time.After(repairTimeout)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return 0, fmt.Errorf("the RoleBinding watch closed while waiting for %s/%s to be recreated", old.Namespace, old.Name)
			}
			if ev.Type == watch.Error {
				return 0, fmt.Errorf("RoleBinding watch: %v", ev.Object)
			}
			rb, ok := ev.Object.(*rbacv1.RoleBinding)
			if ok && ev.Type == watch.Added && rb.Namespace == old.Namespace && rb.Name == old.Name && rb.UID != old.UID {
				return time.Since(start), nil
			}
		case <-timeout:
			return 0, fmt.Errorf("RoleBinding %s/%s not recreated %s after it was deleted", old.Namespace, old.Name, repairTimeout)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// spread picks k of the tenant names prefix-0001..prefix-n, evenly spaced
// (repeating when n < k).
func spread(prefix string, n, k int) []string {
	out := make([]string, 0, k)
	for i := range k {
		out = append(out, tenantName(prefix, 1+(i*n/k)%n))
	}
	return out
}
