package render

import (
	"strings"
	"testing"
)

// The Go mirror of the policy's match condition names the same identities
// as the CEL; apply trusts it to choose the probe's identity.
func TestExemptFromRoleBindingPolicyMirrorsTheMatchCondition(t *testing.T) {
	for _, c := range []struct {
		user   string
		groups []string
		want   bool
	}{
		{"bulkhead-admin", []string{"system:masters", "system:authenticated"}, true},
		{"system:serviceaccount:kube-system:namespace-controller", []string{"system:serviceaccounts"}, true},
		{"system:kube-controller-manager", nil, true},
		{"system:serviceaccount:bulkhead-system:bulkhead-controller", []string{"system:serviceaccounts", "system:authenticated"}, false},
		{"kubernetes-admin", []string{"kubeadm:cluster-admins", "system:authenticated"}, false},
		{"system:serviceaccount:kube-systemx:sa", nil, false},
		{"lead@example.com", []string{"system:authenticated"}, false},
	} {
		if got := ExemptFromRoleBindingPolicy(c.user, c.groups); got != c.want {
			t.Errorf("ExemptFromRoleBindingPolicy(%q, %q) = %v, want %v", c.user, c.groups, got, c.want)
		}
	}
	// Each identity the Go names appears in the CEL.
	for _, s := range []string{"'system:masters'", "'system:serviceaccount:kube-system:'", "'system:kube-controller-manager'"} {
		if !strings.Contains(exemptCondition, s) {
			t.Errorf("the match condition no longer names %s: update ExemptFromRoleBindingPolicy with it", s)
		}
	}
}
