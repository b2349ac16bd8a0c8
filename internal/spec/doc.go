// Package spec loads Tenant spec files: it splits multi-document YAML,
// decodes every document strictly, applies the documented defaults and
// validates the result, reporting every problem with the file and line it
// comes from so that one run of `bulkhead apply -f` is enough to fix a file.
//
// Besides Tenants, an input may hold one TenantDefaults document, whose
// guardrails apply to every tenant of the same input wherever it appears.
// Each guardrail of a loaded tenant is its own value, else the
// TenantDefaults' value, else bulkhead's built-in default
// (ResolveGuardrails), so every tenant Load returns has complete guardrails.
//
// The same validation (Validate, ValidateInput) and resolution are meant for
// the controller, which receives tenants that never were YAML; its errors
// then carry the tenant's Source when known.
package spec
