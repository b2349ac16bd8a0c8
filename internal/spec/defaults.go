package spec

import (
	"slices"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// Default fills in what a spec may leave out: the namespace defaults to the
// tenant's name, a tenant without members gets one ServiceAccount
// "<name>-user" with role edit, and members default to kind ServiceAccount
// and role edit. It never overwrites a value that is set. The member list is
// copied before it is changed, so a caller's slice is never modified.
func Default(t *v1alpha1.Tenant) {
	if t.Spec.Namespace == "" {
		t.Spec.Namespace = t.Name
	}
	if len(t.Spec.Members) == 0 {
		if t.Name != "" {
			t.Spec.Members = []v1alpha1.Member{{Name: v1alpha1.DefaultMemberName(t.Name)}}
		}
	} else {
		t.Spec.Members = slices.Clone(t.Spec.Members)
	}
	for i := range t.Spec.Members {
		m := &t.Spec.Members[i]
		if m.Kind == "" {
			m.Kind = v1alpha1.ServiceAccountMember
		}
		if m.Role == "" {
			m.Role = v1alpha1.EditRole
		}
	}
}
