package access

import (
	"fmt"
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// AggregateClusterRoles resolves every ClusterRole with an aggregationRule
// to the rules the clusterrole-aggregation controller leaves it with once it
// has settled, so that a snapshot read from files (where admin, edit and
// view are still empty) answers like the cluster will.
//
// It follows the controller's sync exactly: for each selector in order, the
// matching ClusterRoles sorted by name (never the role itself), their
// current rules appended unless an equal rule is already there. Aggregated
// roles may select other aggregated roles, so syncs repeat until nothing
// changes, as the controller's requeue-everything-on-any-change does.
//
// One quirk is kept on purpose: when nothing matches, the controller's
// server-side apply carries no rules and so cannot remove rules someone else
// wrote; the role keeps its stored rules. On a settled live snapshot the
// result therefore equals the input.
//
// The input is not modified; resolved roles get fresh Rules slices. Errors
// report selectors the controller would fail on (that role keeps its stored
// rules) and chains that do not settle.
func AggregateClusterRoles(roles []rbacv1.ClusterRole) ([]rbacv1.ClusterRole, []error) {
	out := make([]rbacv1.ClusterRole, len(roles))
	copy(out, roles)

	byName := make([]int, len(out))
	for i := range byName {
		byName[i] = i
	}
	sort.SliceStable(byName, func(a, b int) bool { return out[byName[a]].Name < out[byName[b]].Name })

	type aggregator struct {
		index     int
		selectors []labels.Selector
	}
	var errs []error
	var aggs []aggregator
	for _, i := range byName {
		rule := out[i].AggregationRule
		if rule == nil {
			continue
		}
		sels, err := parseSelectors(rule.ClusterRoleSelectors)
		if err != nil {
			errs = append(errs, fmt.Errorf("clusterrole %s: keeps its stored rules: %w", out[i].Name, err))
			continue
		}
		aggs = append(aggs, aggregator{index: i, selectors: sels})
	}
	if len(aggs) == 0 {
		return out, errs
	}

	labelSets := make([]labels.Set, len(out))
	for i := range out {
		labelSets[i] = labels.Set(out[i].Labels)
	}
	// Each sync can only propagate rules one step down a chain, so an
	// acyclic set settles within len(aggs)+1 rounds; a cycle may not.
	for round := 0; ; round++ {
		changed := false
		for _, a := range aggs {
			rules := unionOfSelected(out, byName, labelSets, a.index, a.selectors)
			if len(rules) == 0 || sameRules(rules, out[a.index].Rules) {
				continue
			}
			out[a.index].Rules = rules
			changed = true
		}
		if !changed {
			return out, errs
		}
		if round > len(aggs)+1 {
			return out, append(errs, fmt.Errorf("clusterrole aggregation did not settle after %d rounds: aggregation rules select each other in a cycle", round+1))
		}
	}
}

func parseSelectors(in []metav1.LabelSelector) ([]labels.Selector, error) {
	out := make([]labels.Selector, 0, len(in))
	for i := range in {
		s, err := metav1.LabelSelectorAsSelector(&in[i])
		if err != nil {
			return nil, fmt.Errorf("clusterRoleSelectors[%d]: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// unionOfSelected is one controller sync of roles[self].
func unionOfSelected(roles []rbacv1.ClusterRole, byName []int, labelSets []labels.Set, self int, sels []labels.Selector) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	seen := map[string]bool{}
	for _, sel := range sels {
		for _, i := range byName {
			if i == self || roles[i].Name == roles[self].Name || !sel.Matches(labelSets[i]) {
				continue
			}
			for _, r := range roles[i].Rules {
				k := ruleKey(r)
				if seen[k] {
					continue
				}
				seen[k] = true
				rules = append(rules, r)
			}
		}
	}
	return rules
}

// sameRules is equality.Semantic.DeepEqual for rule lists: order matters,
// nil and empty lists are equal.
func sameRules(a, b []rbacv1.PolicyRule) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if ruleKey(a[i]) != ruleKey(b[i]) {
			return false
		}
	}
	return true
}
