// Package spec loads Tenant spec files: it splits multi-document YAML,
// decodes every document strictly, applies the documented defaults and
// validates the result, reporting every problem with the file and line it
// comes from so that one run of `bulkhead apply -f` is enough to fix a file.
//
// The same validation (Validate) is meant for the controller, which receives
// tenants that never were YAML; its errors then carry the tenant's Source
// when known.
package spec
