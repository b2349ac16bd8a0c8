package spec

import (
	"slices"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// Default fills in what a spec may leave out: the namespace defaults to the
// tenant's name, a tenant without members gets one ServiceAccount
// "<name>-user" with role edit, members default to kind ServiceAccount and
// role edit, and the guardrails are resolved against bulkhead's built-in
// defaults only (see ResolveGuardrails). It never overwrites a value that
// is set. Lists, maps and quantities are copied before they are changed, so
// a caller's values are never modified.
//
// Tenants that come with a TenantDefaults document need DefaultWith; Load
// does that itself.
func Default(t *v1alpha1.Tenant) { DefaultWith(t, nil) }

// DefaultWith is Default with the spec of a TenantDefaults document (nil for
// none) between the tenant's own guardrails and the built-in ones. Defaulting
// twice changes nothing, so a tenant defaulted with its TenantDefaults may be
// passed to Default again.
func DefaultWith(t *v1alpha1.Tenant, defaults *v1alpha1.Guardrails) {
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
	t.Spec.Guardrails = ResolveGuardrails(&t.Spec.Guardrails, defaults)
}
