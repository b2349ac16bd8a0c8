package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// fileTenant is what a spec file may contain. It mirrors v1alpha1.Tenant but
// narrows metadata to what a user may write: the other ObjectMeta fields
// (uid, resourceVersion, ownerReferences, ...) belong to the cluster, so the
// strict decoder reports them as unknown fields. The spec is the API type
// itself, so new spec fields are accepted as soon as they exist.
type fileTenant struct {
	APIVersion string              `json:"apiVersion"`
	Kind       string              `json:"kind"`
	Metadata   fileMetadata        `json:"metadata"`
	Spec       v1alpha1.TenantSpec `json:"spec"`
}

// fileDefaults mirrors v1alpha1.TenantDefaults the way fileTenant mirrors
// v1alpha1.Tenant.
type fileDefaults struct {
	APIVersion string              `json:"apiVersion"`
	Kind       string              `json:"kind"`
	Metadata   fileMetadata        `json:"metadata"`
	Spec       v1alpha1.Guardrails `json:"spec"`
}

type fileMetadata struct {
	Name string `json:"name"`
	// Namespace is decoded only to tell the user that a Tenant (or a
	// TenantDefaults) has none.
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func (m fileMetadata) objectMeta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, Labels: m.Labels, Annotations: m.Annotations}
}

// kinds are the document kinds a spec file may hold, in the order messages
// list them, with the Go type each is decoded into.
var kinds = []struct {
	name string
	typ  reflect.Type
}{
	{v1alpha1.TenantKind, reflect.TypeFor[fileTenant]()},
	{v1alpha1.TenantDefaultsKind, reflect.TypeFor[fileDefaults]()},
}

func kindNames() []string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.name
	}
	return names
}

func kindName(typ reflect.Type) string {
	for _, k := range kinds {
		if k.typ == typ {
			return k.name
		}
	}
	return ""
}

func fileType(kind string) reflect.Type {
	for _, k := range kinds {
		if k.name == kind {
			return k.typ
		}
	}
	return nil
}

// maxTypeErrors bounds the decode retries of one document (see
// decodeDocument): each costs a full decode, and a document with more wrong
// values than this is better fixed in rounds than listed in full.
const maxTypeErrors = 20

// docError is a problem in one document, located by stream line.
type docError struct {
	line   int
	field  string
	detail string
}

// decoded is the outcome of decoding one document.
type decoded struct {
	doc document
	// tenant or defaults is set after the document's kind; both are nil
	// when the document has no supported kind or is too broken to be worth
	// validating.
	tenant   *v1alpha1.Tenant
	defaults *v1alpha1.TenantDefaults
	errs     []docError
	// badPaths are fields whose value was unusable and thus dropped;
	// validation errors about them would only repeat the decode error.
	badPaths []string
}

// decodeDocument decodes one document strictly. The JSON decoder stops at
// the first value of the wrong type, so each such value is reported, replaced
// by null (which leaves the Go value as it is) and decoding is retried: the
// user learns about every wrong type, and about unknown and duplicate fields,
// which the decoder only reports once everything else decoded.
func decodeDocument(doc document) decoded {
	out := decoded{doc: doc}
	if errs := checkBounds(doc); len(errs) > 0 {
		out.errs = errs
		return out
	}
	root := resolveAlias(doc.root)
	if root.Kind != yaml.MappingNode {
		out.errs = append(out.errs, docError{line: doc.line(root), detail: fmt.Sprintf(
			"a document must be a mapping with apiVersion, kind, metadata and spec, not %s; fix the document", describeNode(root))})
		return out
	}
	kind, errs := checkTypeMeta(doc, root)
	if len(errs) > 0 {
		out.errs = append(out.errs, errs...)
		return out
	}
	typ := fileType(kind)
	// Quantities the decoder would refuse are reported here and left out,
	// see checkQuantities.
	omitted := map[*yaml.Node]bool{}
	for _, p := range checkQuantities(root, typ) {
		omitted[p.value] = true
		out.badPaths = append(out.badPaths, p.path)
		out.errs = append(out.errs, docError{line: doc.line(p.key), field: p.path, detail: p.detail})
	}
	nulled := map[*yaml.Node]bool{}
	var target reflect.Value
	var conv *converter
	var strictErrs []error
	for retry := 0; ; retry++ {
		if retry == maxTypeErrors {
			out.errs = append(out.errs, docError{line: doc.line(root), detail: fmt.Sprintf(
				"stopped checking this document after %d values of the wrong type; fix them and run again", maxTypeErrors)})
			return out
		}
		target = reflect.New(typ)
		conv = toJSON(root, nulled, omitted)
		var err error
		strictErrs, err = sigsjson.UnmarshalStrict(conv.buf.Bytes(), target.Interface())
		if err == nil {
			break
		}
		strictErrs = nil
		var typeErr *json.UnmarshalTypeError
		sp, found := span{}, false
		if errors.As(err, &typeErr) {
			sp, found = findSpan(conv.spans, int(typeErr.Offset))
		}
		if !found || nulled[sp.value] {
			// Not a type error (nesting too deep, say): nothing to skip.
			out.errs = append(out.errs, docError{line: doc.line(root), detail: "cannot decode the document: " + err.Error()})
			break
		}
		nulled[sp.value] = true
		out.badPaths = append(out.badPaths, sp.path)
		out.errs = append(out.errs, docError{
			line:   doc.line(nodeOrKey(sp.key, sp.value)),
			field:  sp.path,
			detail: typeMismatch(sp.value, typeErr.Type),
		})
	}
	for _, p := range conv.problems {
		out.badPaths = append(out.badPaths, p.path)
		out.errs = append(out.errs, docError{line: doc.line(p.node), field: p.path, detail: p.detail})
	}
	for _, e := range strictErrs {
		out.errs = append(out.errs, strictError(doc, root, typ, e))
	}
	switch f := target.Interface().(type) {
	case *fileTenant:
		out.tenant = &v1alpha1.Tenant{ObjectMeta: f.Metadata.objectMeta(), Spec: f.Spec}
		out.tenant.APIVersion, out.tenant.Kind = f.APIVersion, f.Kind
	case *fileDefaults:
		out.defaults = &v1alpha1.TenantDefaults{ObjectMeta: f.Metadata.objectMeta(), Spec: f.Spec}
		out.defaults.APIVersion, out.defaults.Kind = f.APIVersion, f.Kind
	}
	return out
}

// findSpan returns the innermost value whose JSON text contains offset. The
// decoder reports offsets just past a scalar or just past the opening bracket
// of a list or object, hence the half-open (start, end] test.
func findSpan(spans []span, offset int) (span, bool) {
	best, found := span{}, false
	for _, s := range spans {
		if s.start < offset && offset <= s.end && (!found || s.end-s.start < best.end-best.start) {
			best, found = s, true
		}
	}
	return best, found
}

func nodeOrKey(key, value *yaml.Node) *yaml.Node {
	if key != nil {
		return key
	}
	return value
}

// strictError turns an unknown- or duplicate-field error into a docError at
// the offending key.
func strictError(doc document, root *yaml.Node, typ reflect.Type, err error) docError {
	var fe sigsjson.FieldError
	if !errors.As(err, &fe) {
		return docError{line: doc.line(root), detail: err.Error()}
	}
	path := fe.FieldPath()
	if strings.HasPrefix(err.Error(), "duplicate field") {
		first, _ := lookup(root, path, false)
		dup, dupValue := lookup(root, path, true)
		detail := "Duplicate value: the field is set more than once"
		if first != nil && dup != nil && first.Line != dup.Line {
			detail += fmt.Sprintf(" (first at line %d)", doc.line(first))
		}
		return docError{line: doc.line(nodeOrKey(dup, dupValue)), field: path, detail: detail + "; keep only one"}
	}
	key, value := lookup(root, path, false)
	detail := "Unknown field; remove it"
	if key != nil {
		parent := strings.TrimSuffix(path, "."+key.Value)
		if parent == path {
			parent = ""
		}
		known := knownFields(typ, parent)
		if s := suggest(key.Value, known); s != "" {
			detail = fmt.Sprintf("Unknown field; rename it to %q or remove it", s)
		}
		if len(known) > 0 {
			where := parent
			if where == "" {
				where = "a " + kindName(typ) + " document"
			}
			detail += fmt.Sprintf(" (%s takes: %s)", where, strings.Join(known, ", "))
		}
	}
	return docError{line: doc.line(nodeOrKey(key, value)), field: path, detail: detail}
}

// checkTypeMeta insists on apiVersion and kind before decoding anything else:
// a document of another kind (a Namespace, say, mixed into the file) would
// otherwise drown its one real problem in unknown-field errors. It returns
// the kind when both are right.
func checkTypeMeta(doc document, root *yaml.Node) (string, []docError) {
	var errs []docError
	check := func(name string, want []string) string {
		key, value := lookup(root, name, false)
		if key == nil || value == nil || (value.Kind == yaml.ScalarNode && value.ShortTag() == "!!null") {
			fe := field.Required(field.NewPath(name), fmt.Sprintf("add %s: %s", name, strings.Join(want, " or ")))
			errs = append(errs, docError{line: doc.line(root), field: fe.Field, detail: fe.ErrorBody()})
			return ""
		}
		if value.Kind == yaml.ScalarNode && slices.Contains(want, value.Value) {
			return value.Value
		}
		got := value.Value
		if value.Kind != yaml.ScalarNode {
			got = describeNode(value)
		}
		fe := field.NotSupported(field.NewPath(name), got, want)
		errs = append(errs, docError{line: doc.line(key), field: fe.Field,
			detail: fe.ErrorBody() + "; this file format only holds Tenants and their TenantDefaults, move other objects elsewhere"})
		return ""
	}
	check("apiVersion", []string{v1alpha1.SchemeGroupVersion.String()})
	kind := check("kind", kindNames())
	return kind, errs
}

// typeMismatch explains a value of the wrong type in YAML terms, since the
// user wrote YAML and has never seen the JSON.
func typeMismatch(value *yaml.Node, want reflect.Type) string {
	wantDesc, hint := "a "+want.String(), ""
	switch want.Kind() {
	case reflect.String:
		wantDesc = "a string"
		if value.Kind == yaml.ScalarNode {
			hint = fmt.Sprintf("; quote it (%q) if it is meant as text", value.Value)
		}
	case reflect.Slice, reflect.Array:
		wantDesc, hint = "a list", "; write it as a list, one \"- \" item per line"
	case reflect.Struct, reflect.Map:
		wantDesc, hint = "a mapping", "; write it as \"key: value\" lines"
	case reflect.Bool:
		wantDesc = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		wantDesc = "a number"
	}
	return fmt.Sprintf("Invalid value: must be %s, not %s%s", wantDesc, describeNode(value), hint)
}

// describeNode names a YAML value's type for messages, with scalars shown.
func describeNode(n *yaml.Node) string {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!null":
			return "null"
		}
		return fmt.Sprintf("the string %q", n.Value)
	}
	return "an alias"
}
