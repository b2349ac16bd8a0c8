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
	// Defaults are the TenantDefaults documents as written (their specs not
	// merged with the built-ins), in input order. Each tenant's guardrails
	// are already resolved against the one it names.
	Defaults []Defaults
	// defaultsResolved says the tenants' guardrails already hold what they
	// inherit, so their spec.defaults need not be found in Defaults.
	defaultsResolved bool
}

// Defaults is one TenantDefaults document and where it came from.
type Defaults struct {
	v1alpha1.TenantDefaults
	Source Source
}

// DefaultsNamed returns the TenantDefaults called name, nil if there is none.
func (in *Input) DefaultsNamed(name string) *Defaults {
	for i := range in.Defaults {
		if in.Defaults[i].Name == name {
			return &in.Defaults[i]
		}
	}
	return nil
}

// DefaultsNames lists the names of the input's TenantDefaults, for messages.
func (in *Input) DefaultsNames() string {
	if len(in.Defaults) == 0 {
		return "none"
	}
	names := make([]string, len(in.Defaults))
	for i, d := range in.Defaults {
		names[i] = d.Name
	}
	return strings.Join(names, ", ")
}

// Findings and locators index tenants from 0 and TenantDefaults documents
// from -1 down: defaultsIndex(0) is the first TenantDefaults.
func defaultsIndex(d int) int { return -1 - d }

func isDefaults(i int) (int, bool) { return -1 - i, i < 0 }

// finish decodes and validates everything read; see Load.
func (l *loader) finish() (*Input, error) {
	in := &Input{}
	var docs, defaultsDocs []decoded
	// withDefaults marks the inputs (files) that hold a TenantDefaults: a
	// tenant there that names none is written in the old form.
	withDefaults := map[string]string{}
	for _, stream := range l.inputs {
		for _, d := range l.decodeStream(stream) {
			src := Source{File: stream.name, Line: d.doc.line(d.doc.root)}
			switch {
			case d.tenant != nil:
				in.Tenants = append(in.Tenants, Tenant{Tenant: *d.tenant, Source: src})
				docs = append(docs, d)
			case d.defaults != nil:
				if prev := in.DefaultsNamed(d.defaults.Name); prev != nil && d.defaults.Name != "" {
					l.errs = append(l.errs, Error{File: src.File, Line: src.Line, Field: "metadata.name", Detail: fmt.Sprintf(
						"Duplicate value: %q: a TenantDefaults of that name is already defined at %s; rename one of them or merge the two", d.defaults.Name, prev.Source)})
					continue
				}
				in.Defaults = append(in.Defaults, Defaults{TenantDefaults: *d.defaults, Source: src})
				defaultsDocs = append(defaultsDocs, d)
				if _, ok := withDefaults[src.File]; !ok {
					withDefaults[src.File] = d.defaults.Name
				}
			}
		}
	}
	if len(in.Tenants) == 0 && len(in.Defaults) > 0 && len(l.errs) == 0 {
		l.errs = append(l.errs, Error{File: in.Defaults[0].Source.File, Line: in.Defaults[0].Source.Line, Detail: "no Tenant documents found: " +
			"a TenantDefaults applies to the tenants that name it; pass the tenant specs in the same run"})
	}
	locate := func(i int, path string) Source {
		var src Source
		var d decoded
		if di, ok := isDefaults(i); ok {
			src, d = in.Defaults[di].Source, defaultsDocs[di]
		} else {
			src, d = in.Tenants[i].Source, docs[i]
		}
		if line := lineOf(lookup(d.doc.root, path, false)); line > 0 {
			src.Line = d.doc.lineOffset + line
		}
		return src
	}
	var findings []finding
	for _, f := range append(validateAll(in, locate), oldForm(in, withDefaults)...) {
		bad := func() []string {
			if di, ok := isDefaults(f.tenant); ok {
				return defaultsDocs[di].badPaths
			}
			return docs[f.tenant].badPaths
		}()
		if !underAny(f.err.Field, bad) && !anyUnder(f.related, bad) {
			findings = append(findings, f)
		}
	}
	l.errs = append(l.errs, locateAll(findings, locate)...)
	if err := asError(l.errs, l.order); err != nil {
		return nil, err
	}
	for i := range in.Tenants {
		DefaultWith(&in.Tenants[i].Tenant, in.inherited(in.Tenants[i].Spec.Defaults))
	}
	return in, nil
}

// inherited is the guardrails of the TenantDefaults called name; nil for
// none (or an unknown name, which validation reports).
func (in *Input) inherited(name string) *v1alpha1.Guardrails {
	if d := in.DefaultsNamed(name); d != nil && name != "" {
		return &d.Spec
	}
	return nil
}

// oldForm refuses tenants written for the time when a TenantDefaults applied
// to every tenant of its input: a tenant that names no defaults, in a file
// that holds a TenantDefaults, would silently lose those guardrails.
func oldForm(in *Input, withDefaults map[string]string) []finding {
	var out []finding
	for i, t := range in.Tenants {
		name, ok := withDefaults[t.Source.File]
		if !ok || name == "" || t.Spec.Defaults != "" {
			continue // a TenantDefaults without a name has its own error
		}
		out = append(out, finding{tenant: i, at: "metadata.name", err: Error{Field: "spec.defaults", Detail: fmt.Sprintf(
			"Required value: this file holds TenantDefaults %q, which no longer applies to every tenant of the input: "+
				"add `defaults: %s` to this tenant's spec to keep its guardrails (or move the tenant to a file without TenantDefaults "+
				"for bulkhead's built-in defaults)", name, name)}})
	}
	return out
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
