package spec

import (
	"fmt"
	"strings"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// Input is everything one Load or Parse found.
type Input struct {
	// Tenants in input order, defaulted, with complete guardrails.
	Tenants []Tenant
	// Defaults is the TenantDefaults document as written (its spec not
	// merged with the built-ins), nil when the input has none. Its
	// guardrails are already resolved into every tenant.
	Defaults *v1alpha1.TenantDefaults
	// DefaultsSource says where Defaults was defined.
	DefaultsSource Source
}

// defaultsIndex stands for the TenantDefaults document where findings and
// locators take the index of a tenant.
const defaultsIndex = -1

// finish decodes and validates everything read; see Load.
func (l *loader) finish() (*Input, error) {
	in := &Input{}
	var docs []decoded
	var defaultsDoc decoded
	for _, stream := range l.inputs {
		for _, d := range l.decodeStream(stream) {
			src := Source{File: stream.name, Line: d.doc.line(d.doc.root)}
			switch {
			case d.tenant != nil:
				in.Tenants = append(in.Tenants, Tenant{Tenant: *d.tenant, Source: src})
				docs = append(docs, d)
			case d.defaults != nil && in.Defaults == nil:
				in.Defaults, in.DefaultsSource, defaultsDoc = d.defaults, src, d
			case d.defaults != nil:
				// Tenants cannot say which of two they mean, and merging
				// them silently would hide which value wins.
				l.errs = append(l.errs, Error{File: src.File, Line: src.Line, Detail: fmt.Sprintf(
					"Duplicate value: a TenantDefaults document is already defined at %s, and one input takes at most one "+
						"since it applies to every tenant; merge the two into one document", in.DefaultsSource)})
			}
		}
	}
	if len(in.Tenants) == 0 && in.Defaults != nil && len(l.errs) == 0 {
		l.errs = append(l.errs, Error{File: in.DefaultsSource.File, Line: in.DefaultsSource.Line, Detail: "no Tenant documents found: " +
			"a TenantDefaults applies to the tenants loaded along with it; pass the tenant specs in the same run"})
	}
	locate := func(i int, path string) Source {
		src, d := in.DefaultsSource, defaultsDoc
		if i != defaultsIndex {
			src, d = in.Tenants[i].Source, docs[i]
		}
		if line := lineOf(lookup(d.doc.root, path, false)); line > 0 {
			src.Line = d.doc.lineOffset + line
		}
		return src
	}
	var findings []finding
	for _, f := range validateAll(in, locate) {
		bad := defaultsDoc.badPaths
		if f.tenant != defaultsIndex {
			bad = docs[f.tenant].badPaths
		}
		if !underAny(f.err.Field, bad) && !anyUnder(f.related, bad) {
			findings = append(findings, f)
		}
	}
	l.errs = append(l.errs, locateAll(findings, locate)...)
	if err := asError(l.errs, l.order); err != nil {
		return nil, err
	}
	var defaults *v1alpha1.Guardrails
	if in.Defaults != nil {
		defaults = &in.Defaults.Spec
	}
	for i := range in.Tenants {
		DefaultWith(&in.Tenants[i].Tenant, defaults)
	}
	return in, nil
}

// decodeStream splits and decodes one input, recording its problems.
func (l *loader) decodeStream(in input) []decoded {
	docs, syntaxErrs := splitDocuments(in.data)
	for _, e := range syntaxErrs {
		l.errs = append(l.errs, Error{File: in.name, Line: e.line, Detail: e.detail})
	}
	if len(docs) == 0 && len(syntaxErrs) == 0 {
		l.errs = append(l.errs, Error{File: in.name, Detail: "no Tenant documents found; add one (apiVersion: " +
			v1alpha1.SchemeGroupVersion.String() + ", kind: " + v1alpha1.TenantKind + ") or leave the file out"})
	}
	out := make([]decoded, 0, len(docs))
	for _, doc := range docs {
		d := decodeDocument(doc)
		for _, e := range d.errs {
			l.errs = append(l.errs, Error{File: in.name, Line: e.line, Field: e.field, Detail: e.detail})
		}
		out = append(out, d)
	}
	return out
}

// underAny reports whether path is one of prefixes or lies beneath one.
func underAny(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return true
		}
	}
	return false
}

// anyUnder reports whether any of paths lies under one of prefixes.
func anyUnder(paths, prefixes []string) bool {
	for _, p := range paths {
		if underAny(p, prefixes) {
			return true
		}
	}
	return false
}
