package access

import (
	"reflect"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func rulesOf(roles []rbacv1.ClusterRole, name string) []rbacv1.PolicyRule {
	for _, r := range roles {
		if r.Name == name {
			return r.Rules
		}
	}
	return nil
}

func TestAggregateClusterRoles(t *testing.T) {
	get := res("get", "", "pods")
	list := res("list", "", "pods")
	watch := res("watch", "", "pods")
	tests := []struct {
		name  string
		roles []rbacv1.ClusterRole
		role  string
		want  []rbacv1.PolicyRule
		err   string
	}{{
		name: "union in selector order, then by role name, deduplicated",
		roles: []rbacv1.ClusterRole{
			labelled(clusterRole("b", list, get), "x", "1"),
			labelled(clusterRole("a", get), "x", "1"),
			labelled(clusterRole("c", watch), "y", "1"),
			aggregating(clusterRole("agg"), "y", "1", "x", "1"),
		},
		role: "agg",
		want: []rbacv1.PolicyRule{watch, get, list},
	}, {
		name: "a role never selects itself",
		roles: []rbacv1.ClusterRole{
			labelled(aggregating(clusterRole("agg", watch), "x", "1"), "x", "1"),
			labelled(clusterRole("a", get), "x", "1"),
		},
		role: "agg",
		want: []rbacv1.PolicyRule{get},
	}, {
		name: "chains resolve whatever the order (admin <- edit <- view)",
		roles: []rbacv1.ClusterRole{
			aggregating(clusterRole("admin"), "to-admin", "true"),
			labelled(aggregating(clusterRole("edit"), "to-edit", "true"), "to-admin", "true"),
			labelled(aggregating(clusterRole("view"), "to-view", "true"), "to-edit", "true"),
			labelled(clusterRole("view-part", get), "to-view", "true"),
			labelled(clusterRole("edit-part", list), "to-edit", "true"),
		},
		role: "admin",
		want: []rbacv1.PolicyRule{list, get},
	}, {
		name:  "nothing selected: stored rules stay (the controller's apply cannot remove them)",
		roles: []rbacv1.ClusterRole{aggregating(clusterRole("agg", watch), "nobody", "1")},
		role:  "agg",
		want:  []rbacv1.PolicyRule{watch},
	}, {
		name: "something selected: stored rules are replaced",
		roles: []rbacv1.ClusterRole{
			aggregating(clusterRole("agg", watch), "x", "1"),
			labelled(clusterRole("a", get), "x", "1"),
		},
		role: "agg",
		want: []rbacv1.PolicyRule{get},
	}, {
		name: "an invalid selector keeps the stored rules",
		roles: []rbacv1.ClusterRole{
			{
				ObjectMeta: metav1.ObjectMeta{Name: "agg"},
				Rules:      []rbacv1.PolicyRule{watch},
				AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{
					MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Bogus"}},
				}}},
			},
			labelled(clusterRole("a", get), "x", "1"),
		},
		role: "agg",
		want: []rbacv1.PolicyRule{watch},
		err:  "clusterrole agg: keeps its stored rules",
	}, {
		name: "matchExpressions select too",
		roles: []rbacv1.ClusterRole{
			{
				ObjectMeta: metav1.ObjectMeta{Name: "agg"},
				AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{
					MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: metav1.LabelSelectorOpExists}},
				}}},
			},
			labelled(clusterRole("a", get), "x", "anything"),
			labelled(clusterRole("b", list), "y", "1"),
		},
		role: "agg",
		want: []rbacv1.PolicyRule{get},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := rulesOf(tt.roles, tt.role)
			got, errs := AggregateClusterRoles(tt.roles)
			if g := rulesOf(got, tt.role); !reflect.DeepEqual(g, tt.want) {
				t.Errorf("rules of %s = %v, want %v", tt.role, g, tt.want)
			}
			if !reflect.DeepEqual(rulesOf(tt.roles, tt.role), before) {
				t.Error("the input was modified")
			}
			switch {
			case tt.err == "" && len(errs) > 0:
				t.Errorf("unexpected errors: %v", errs)
			case tt.err != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.err)):
				t.Errorf("errors = %v, want one containing %q", errs, tt.err)
			}
		})
	}
}

func TestAggregateClusterRolesCycle(t *testing.T) {
	roles := []rbacv1.ClusterRole{
		labelled(aggregating(clusterRole("a", res("get", "", "pods")), "to-a", "1"), "to-b", "1"),
		labelled(aggregating(clusterRole("b", res("list", "", "pods")), "to-b", "1"), "to-a", "1"),
	}
	// a and b select each other: the controller settles on whatever was
	// stored first reaching both; so must we, without looping forever.
	got, errs := AggregateClusterRoles(roles)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if !sameRules(rulesOf(got, "a"), rulesOf(got, "b")) {
		t.Errorf("a and b should settle on the same rules: %v vs %v", rulesOf(got, "a"), rulesOf(got, "b"))
	}
}
