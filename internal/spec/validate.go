package spec

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// finding is a validation problem of one tenant (or, with defaultsIndex,
// of the TenantDefaults document), before it is located.
type finding struct {
	tenant int
	// at is the field path whose line the problem is reported on; it
	// differs from err.Field when the field itself was defaulted.
	at  string
	err Error
	// related are other fields of the same document the problem depends
	// on; a problem about a value that could not be decoded is not shown.
	related []string
}

// locator returns where a field of a tenant (or of the TenantDefaults) is
// written; it falls back to the document's own source when it cannot be
// more precise.
type locator func(tenant int, path string) Source

// Validate checks tenants as they would be applied: each is checked with
// the defaults applied (to a copy), so tenants that never went through
// Load, such as those the controller reads from the cluster, are judged the
// same way. Guardrails are judged against the built-in defaults only;
// ValidateInput also takes a TenantDefaults. Problems carry the tenant's
// Source. It returns nil or *Errors.
func Validate(tenants []Tenant) error {
	return ValidateInput(&Input{Tenants: tenants, defaultsResolved: true})
}

// ValidateInput is Validate for tenants together with their TenantDefaults:
// it checks each TenantDefaults document and each tenant with its guardrails
// resolved against the one it names. Problems of a TenantDefaults carry its
// Source.
func ValidateInput(in *Input) error {
	if in == nil {
		return nil
	}
	var files []string
	for _, d := range in.Defaults {
		files = append(files, d.Source.File)
	}
	for _, t := range in.Tenants {
		files = append(files, t.Source.File)
	}
	locate := func(i int, _ string) Source {
		if di, ok := isDefaults(i); ok {
			return in.Defaults[di].Source
		}
		return in.Tenants[i].Source
	}
	return asError(locateAll(validateAll(in, locate), locate), files)
}

func locateAll(findings []finding, locate locator) []Error {
	errs := make([]Error, 0, len(findings))
	for _, f := range findings {
		at := f.at
		if at == "" {
			at = f.err.Field
		}
		src := locate(f.tenant, at)
		e := f.err
		e.File, e.Line = src.File, src.Line
		errs = append(errs, e)
	}
	return errs
}

// validateAll checks the TenantDefaults, every tenant on its own and with
// what it inherits, then the tenants together.
func validateAll(in *Input, locate locator) []finding {
	var out []finding
	for di := range in.Defaults {
		for _, f := range validateDefaults(&in.Defaults[di].TenantDefaults) {
			f.tenant = defaultsIndex(di)
			out = append(out, f)
		}
	}
	for i, t := range in.Tenants {
		found := validateTenant(t.Tenant)
		found = append(found, checkGuardrails(&t.Spec.Guardrails)...)
		var inherited *v1alpha1.Guardrails
		var defaultsAt func(path string) Source
		if name := t.Spec.Defaults; name != "" {
			if d := in.DefaultsNamed(name); d != nil {
				di := slices.IndexFunc(in.Defaults, func(x Defaults) bool { return x.Name == name })
				inherited = &d.Spec
				defaultsAt = func(path string) Source { return locate(defaultsIndex(di), path) }
			} else if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
				// No TenantDefaults can have that name.
				found = append(found, finding{err: problem(field.Invalid(field.NewPath("spec", "defaults"), name,
					dnsProblem(name, msgs, subdomainChars)), "name a TenantDefaults by its metadata.name")})
			} else if !in.defaultsResolved {
				found = append(found, finding{err: problem(field.NotFound(field.NewPath("spec", "defaults"), name),
					"the input defines these TenantDefaults: "+in.DefaultsNames()+"; name one of them or pass the file that defines "+name)})
			}
		}
		found = append(found, checkCombined(&t.Spec.Guardrails, inherited, defaultsAt)...)
		for _, f := range found {
			f.tenant = i
			out = append(out, f)
		}
	}
	return append(out, validateTogether(in.Tenants, locate)...)
}

// validateDefaults checks a TenantDefaults document. Tenants refer to it by
// name, which must be a valid object name so the document can be stored in
// a cluster as it is.
func validateDefaults(d *v1alpha1.TenantDefaults) []finding {
	var out []finding
	add := func(fe *field.Error, hint string) {
		out = append(out, finding{err: problem(fe, hint)})
	}
	if d.Name == "" {
		add(field.Required(field.NewPath("metadata", "name"), "tenants name the TenantDefaults they inherit"),
			"name it, and set spec.defaults to that name in the tenants that should inherit it")
	} else if msgs := validation.IsDNS1123Subdomain(d.Name); len(msgs) > 0 {
		add(field.Invalid(field.NewPath("metadata", "name"), d.Name, dnsProblem(d.Name, msgs, subdomainChars)), "rename it")
	}
	if d.Namespace != "" {
		add(field.Forbidden(field.NewPath("metadata", "namespace"), "a TenantDefaults is cluster-scoped and has no namespace"),
			"remove metadata.namespace")
	}
	out = append(out, validateLabels(d.Labels, d.Annotations)...)
	out = append(out, checkGuardrails(&d.Spec)...)
	return append(out, checkCombined(&d.Spec, nil, nil)...)
}

// problem builds an Error from an apimachinery field error and a hint that
// tells the user what to do.
func problem(fe *field.Error, hint string) Error {
	detail := fe.ErrorBody()
	if hint != "" {
		detail += "; " + hint
	}
	return Error{Field: fe.Field, Detail: detail}
}

func validateTenant(orig v1alpha1.Tenant) []finding {
	var out []finding
	add := func(fe *field.Error, hint string) {
		out = append(out, finding{err: problem(fe, hint)})
	}
	defaulted := orig
	Default(&defaulted) // Default clones the member list, orig stays as written
	t := &defaulted

	namePath := field.NewPath("metadata", "name")
	nameValid := false
	if t.Name == "" {
		add(field.Required(namePath, ""), "set metadata.name to the tenant's name")
	} else if msgs := validation.IsDNS1123Label(t.Name); len(msgs) > 0 {
		add(field.Invalid(namePath, t.Name, dnsProblem(t.Name, msgs, labelChars)),
			"rename the tenant (its name becomes label values and object names)")
	} else {
		nameValid = true
	}
	if t.Namespace != "" {
		add(field.Forbidden(field.NewPath("metadata", "namespace"), "a Tenant is cluster-scoped and has no namespace"),
			"remove metadata.namespace (spec.namespace chooses the tenant's namespace)")
	}
	out = append(out, validateLabels(t.Labels, t.Annotations)...)

	nsPath := field.NewPath("spec", "namespace")
	switch ns := orig.Spec.Namespace; {
	case ns != "":
		if msgs := apivalidation.ValidateNamespaceName(ns, false); len(msgs) > 0 {
			add(field.Invalid(nsPath, ns, dnsProblem(ns, msgs, labelChars)), "choose a valid namespace name")
		} else if why := reservedNamespace(ns); why != "" {
			add(field.Forbidden(nsPath, fmt.Sprintf("namespace %q is reserved: %s", ns, why)), "choose another namespace")
		}
	case nameValid:
		if why := reservedNamespace(t.Name); why != "" {
			add(field.Forbidden(namePath, fmt.Sprintf("the namespace defaults to the tenant name, and namespace %q is reserved: %s", t.Name, why)),
				"rename the tenant or set spec.namespace")
		}
	}

	if n := len(orig.Spec.Members); n > maxMembers {
		add(field.TooMany(field.NewPath("spec", "members"), n, maxMembers),
			"bind a group of the team (kind: Group) instead of listing every person")
	}

	if dp := t.Spec.DeletionPolicy; dp != "" && !slices.Contains(v1alpha1.DeletionPolicies, dp) {
		add(field.NotSupported(field.NewPath("spec", "deletionPolicy"), dp, v1alpha1.DeletionPolicies),
			"set deletionPolicy to one of them (Retain keeps the namespace's data)")
	}

	// Defaulted members derive from the name, which was checked above;
	// checking them again would only repeat a name problem at a line that
	// does not exist.
	if len(orig.Spec.Members) > 0 {
		out = append(out, validateMembers(t.Spec.Members)...)
	}
	return out
}

// validateLabels checks metadata labels and annotations one by one, so
// that each problem names its key (and thus its line), in a stable order.
func validateLabels(labels, annotations map[string]string) []finding {
	var out []finding
	add := func(fe *field.Error, hint string) {
		out = append(out, finding{err: problem(fe, hint)})
	}
	labelsPath := field.NewPath("metadata", "labels")
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		for _, fe := range metavalidation.ValidateLabels(map[string]string{k: labels[k]}, labelsPath.Key(k)) {
			add(fe, "fix the label")
		}
	}
	annotationsPath := field.NewPath("metadata", "annotations")
	tooLong := false
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		for _, fe := range apivalidation.ValidateAnnotations(map[string]string{k: annotations[k]}, annotationsPath.Key(k)) {
			add(fe, "fix the annotation")
			tooLong = tooLong || fe.Type == field.ErrorTypeTooLong
		}
	}
	// A single oversized annotation was reported already; the total only
	// matters when many small ones add up.
	if err := apivalidation.ValidateAnnotationsSize(annotations); err != nil && !tooLong {
		add(field.TooLong(annotationsPath, "", apivalidation.TotalAnnotationSizeLimitB), "shorten the annotations")
	}
	return out
}

// reservedNamespace explains why a namespace may not be given to a tenant,
// or returns "" when it may.
func reservedNamespace(ns string) string {
	switch {
	case ns == "default":
		return "it is where objects without a namespace end up and is shared by every user of the cluster"
	case strings.HasPrefix(ns, "kube-"):
		return "kube-* namespaces belong to Kubernetes itself (kube-system, kube-public, kube-node-lease, ...)"
	}
	return ""
}

// validateTogether finds conflicts between tenants: a name or a namespace
// claimed twice. The first claim wins; later ones are reported, naming the
// first so the user can decide which one to change.
func validateTogether(tenants []Tenant, locate locator) []finding {
	var out []finding
	names := map[string]int{}
	namespaces := map[string]int{}
	for i, t := range tenants {
		if t.Name == "" {
			continue
		}
		if first, ok := names[t.Name]; ok {
			fe := field.Duplicate(field.NewPath("metadata", "name"), t.Name)
			out = append(out, finding{tenant: i, err: problem(fe, fmt.Sprintf(
				"tenant %q is already defined at %s; rename or remove one of them", t.Name, describeSource(locate(first, "metadata.name"))))})
			// The namespace clash that usually follows says nothing new.
			continue
		}
		names[t.Name] = i
		ns, at := t.Spec.Namespace, "spec.namespace"
		if ns == "" {
			ns, at = t.Name, "metadata.name"
		}
		if first, ok := namespaces[ns]; ok {
			other := tenants[first]
			fe := field.Duplicate(field.NewPath("spec", "namespace"), ns)
			out = append(out, finding{tenant: i, at: at, err: problem(fe, fmt.Sprintf(
				"tenants %q (%s) and %q both claim namespace %q; give each tenant its own namespace",
				other.Name, describeSource(locate(first, "metadata.name")), t.Name, ns))})
			continue
		}
		namespaces[ns] = i
	}
	return out
}

func describeSource(s Source) string {
	if str := s.String(); str != "" {
		return str
	}
	return "an earlier entry"
}
