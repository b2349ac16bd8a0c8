package audit

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/bulkhead-dev/bulkhead/internal/access"
)

// aggregationSources lists the ClusterRoles whose labels select them into
// the aggregated ClusterRole name, for which match holds on their rules
// (nil: any). The aggregated role's own rules are rewritten by the
// controller-manager from these, so a fix must change them instead.
func (a *auditor) aggregationSources(name string, match func([]rbacv1.PolicyRule) bool) []string {
	var agg *rbacv1.ClusterRole
	for i := range a.snap.ClusterRoles {
		if a.snap.ClusterRoles[i].Name == name {
			agg = &a.snap.ClusterRoles[i]
		}
	}
	if agg == nil || agg.AggregationRule == nil {
		return nil
	}
	var sels []labels.Selector
	for _, ls := range agg.AggregationRule.ClusterRoleSelectors {
		if sel, err := metav1.LabelSelectorAsSelector(&ls); err == nil {
			sels = append(sels, sel)
		}
	}
	var out []string
	for _, cr := range a.snap.ClusterRoles {
		if cr.Name == name || !slices.ContainsFunc(sels, func(s labels.Selector) bool { return s.Matches(labels.Set(cr.Labels)) }) {
			continue
		}
		if match == nil || match(cr.Rules) {
			out = append(out, cr.Name)
		}
	}
	slices.Sort(out)
	return out
}

// fixIn names where to fix the rules of ref's role that match: "In Role
// ns/x", or for an aggregated ClusterRole the labelled source ClusterRoles
// that hold them.
func (a *auditor) fixIn(ref access.BindingRef, match func([]rbacv1.PolicyRule) bool) string {
	if ref.RoleRef.Kind == "ClusterRole" {
		if src := a.aggregationSources(ref.RoleRef.Name, match); len(src) > 0 {
			return fmt.Sprintf("In ClusterRole %s (aggregated into ClusterRole %s, which the controller-manager rewrites from the "+
				"ClusterRoles labelled to aggregate into it: editing %s itself does not last)",
				strings.Join(src, ", "), ref.RoleRef.Name, ref.RoleRef.Name)
		}
	}
	return rolesOf([]access.BindingRef{ref})
}

// namesIn returns a match for fixIn: rules that list one of names in
// resourceNames.
func namesIn(names ...string) func([]rbacv1.PolicyRule) bool {
	return func(rules []rbacv1.PolicyRule) bool {
		return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
			return slices.ContainsFunc(r.ResourceNames, func(n string) bool { return slices.Contains(names, n) })
		})
	}
}

// aggregatedFix is the fix for binding the aggregated ClusterRole name:
// bind explicit rights, and change what it grants only in its labelled
// sources.
func (a *auditor) aggregatedFix(name string) string {
	fix := "Bind a Role that lists the rights explicitly (bulkhead apply renders bulkhead-admin, bulkhead-edit and bulkhead-view Roles)."
	var extra []string
	for _, src := range a.aggregationSources(name, nil) {
		if !a.base.has("ClusterRole", "", src) {
			extra = append(extra, src)
		}
	}
	if len(extra) > 0 {
		fix += fmt.Sprintf(" What it grants beyond the bootstrap policy comes from ClusterRole %s, labelled to aggregate into %s: "+
			"remove the label or the rules there (editing %s itself does not last: the controller-manager rewrites it).",
			Abbreviate(extra, 5), name, name)
	}
	return fix
}
