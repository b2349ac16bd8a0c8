package audit

import (
	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// UntouchedBootstrapBindings returns the bindings of snap that are the API
// server's bootstrap policy and still equal it, together with the role they
// bind (an aggregated ClusterRole by its selectors). What they grant is the
// cluster's own baseline (controllers, nodes, discovery), which who-can may
// hide. Bindings whose role was changed are not in the set.
func UntouchedBootstrapBindings(snap *Snapshot) (map[access.BindingRef]bool, error) {
	base, err := loadBaseline()
	if err != nil {
		return nil, err
	}
	untouchedRole := map[string]bool{} // objectKey -> equals the baseline
	for _, r := range snap.ClusterRoles {
		untouchedRole[objectKey("ClusterRole", "", r.Name)] = base.role("ClusterRole", "", r.Name, r.Rules, r.AggregationRule)
	}
	for _, r := range snap.Roles {
		untouchedRole[objectKey("Role", r.Namespace, r.Name)] = base.role("Role", r.Namespace, r.Name, r.Rules, nil)
	}
	out := map[access.BindingRef]bool{}
	for _, b := range snap.ClusterRoleBindings {
		if base.binding("ClusterRoleBinding", "", b.Name, b.RoleRef, b.Subjects) && untouchedRole[objectKey(b.RoleRef.Kind, "", b.RoleRef.Name)] {
			out[access.BindingRef{Kind: access.KindClusterRoleBinding, Name: b.Name, RoleRef: b.RoleRef}] = true
		}
	}
	for _, b := range snap.RoleBindings {
		roleNS := b.Namespace
		if b.RoleRef.Kind == "ClusterRole" {
			roleNS = ""
		}
		if base.binding("RoleBinding", b.Namespace, b.Name, b.RoleRef, b.Subjects) && untouchedRole[objectKey(b.RoleRef.Kind, roleNS, b.RoleRef.Name)] {
			out[access.BindingRef{Kind: access.KindRoleBinding, Namespace: b.Namespace, Name: b.Name, RoleRef: b.RoleRef}] = true
		}
	}
	return out, nil
}
