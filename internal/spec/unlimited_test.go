package spec

import (
	"testing"
)

// TestUnlimitedGPUs checks the explicit form of "no GPU cap": accepted up to
// the bound and as unlimitedGPUs, and resolved as one setting with gpus (the
// level of highest precedence that sets either decides).
func TestUnlimitedGPUs(t *testing.T) {
	for name, c := range map[string]struct {
		defaults, tenant string
		gpus             string // "" for none
		unlimited        bool
	}{
		"tenant unlimited":            {"", "unlimitedGPUs: true", "", true},
		"at the bound":                {"", "gpus: 10000", "10k", false},
		"tenant count over unlimited": {"unlimitedGPUs: true", "gpus: 4", "4", false},
		"tenant unlimited over count": {"gpus: 4", "unlimitedGPUs: true", "", true},
		"inherited unlimited":         {"unlimitedGPUs: true", "cpu: 8", "", true},
		"built-in none":               {"", "cpu: 8", "0", false},
	} {
		t.Run(name, func(t *testing.T) {
			src := "apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata: {name: bob}\nspec:\n  quota: {" + c.tenant + "}\n"
			if c.defaults != "" {
				src = "apiVersion: bulkhead.dev/v1alpha1\nkind: TenantDefaults\nmetadata: {name: lab}\nspec:\n  quota: {" + c.defaults +
					"}\n---\n" + src + "  defaults: lab\n"
			}
			tenants, err := Parse("in.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			q := tenants[0].Spec.Quota
			switch {
			case q.UnlimitedGPUs != c.unlimited:
				t.Errorf("unlimitedGPUs = %t, want %t", q.UnlimitedGPUs, c.unlimited)
			case c.gpus == "" && q.GPUs != nil:
				t.Errorf("gpus = %s, want none", q.GPUs)
			case c.gpus != "" && (q.GPUs == nil || q.GPUs.String() != c.gpus):
				t.Errorf("gpus = %v, want %s", q.GPUs, c.gpus)
			}
			// Resolving again changes nothing.
			again := ResolveGuardrails(&tenants[0].Spec.Guardrails, nil)
			if again.Quota.UnlimitedGPUs != q.UnlimitedGPUs || (again.Quota.GPUs == nil) != (q.GPUs == nil) {
				t.Errorf("resolving again: %+v, was %+v", again.Quota, q)
			}
		})
	}
}
