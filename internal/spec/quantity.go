package spec

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"
)

var quantityType = reflect.TypeFor[resource.Quantity]()

// Bounds on what is handed to resource.ParseQuantity. Quantities are exact
// decimals of any size, so "1e-2147483647" takes practically forever to
// parse and "1e2147483647" to compare; no quota or limit needs more than a
// few dozen digits or an exponent beyond a hundred.
const (
	maxQuantityLength   = 64
	maxQuantityExponent = 100
)

// parsedScalars are the types whose JSON decoding is a parser of their own
// (resource.Quantity, metav1.Duration), with what says why a YAML value is
// none of them. Their errors have no position and end the decoding, and a
// wrong JSON type inside them is reported at an offset of their own text,
// which points nowhere in the document; so checkQuantities finds these
// values first.
var parsedScalars = map[reflect.Type]func(n *yaml.Node, nullable bool) string{
	quantityType: quantityValueProblem,
	durationType: durationValueProblem,
}

// quantityProblem is a quantity (or a duration, see parsedScalars) the
// decoder would refuse, with its key (for the line), its value (to leave out
// of decoding) and its field path.
type quantityProblem struct {
	key, value *yaml.Node
	path       string
	detail     string
}

// checkQuantities finds the values at quantity and duration fields of a
// document (typ is the Go type it decodes into) that are no quantities or
// durations (see parsedScalars); the name predates durations. Each is
// reported at its own line and the rest of the document is still decoded
// and checked. Paths use field.Path's "[key]" form for map keys, as
// validation does, since resource names hold dots.
func checkQuantities(root *yaml.Node, typ reflect.Type) []quantityProblem {
	w := quantityWalker{budget: maxNodes}
	w.walk(nil, root, typ, "")
	return w.problems
}

type quantityWalker struct {
	problems []quantityProblem
	// budget bounds the walk like maxNodes bounds the conversion: aliases
	// can repeat a mapping many times.
	budget int
}

func (w *quantityWalker) walk(key, n *yaml.Node, t reflect.Type, path string) {
	if w.budget--; w.budget < 0 {
		return
	}
	nullable := false
	for t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), true
	}
	if check, ok := parsedScalars[t]; ok {
		if detail := check(resolveAlias(n), nullable); detail != "" {
			if path == "spec.quota.gpus" && saysUnlimited(resolveAlias(n)) {
				detail = fmt.Sprintf("Invalid value: must be a number of GPUs such as 4, not %s; for no GPU cap, remove gpus and set unlimitedGPUs: true",
					describeNode(n))
			}
			w.problems = append(w.problems, quantityProblem{key: nodeOrKey(key, n), value: n, path: path, detail: detail})
		}
		return
	}
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode || !holdsParsed(t) {
		// A value of the wrong type is the decoder's to report.
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolveAlias(n.Content[i])
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			continue // the converter reports these keys
		}
		switch t.Kind() {
		case reflect.Struct:
			if f, ok := fieldByJSONName(t, k.Value); ok {
				w.walk(n.Content[i], n.Content[i+1], f.Type, joinPath(path, k.Value))
			}
		case reflect.Map:
			w.walk(n.Content[i], n.Content[i+1], t.Elem(), path+"["+k.Value+"]")
		}
	}
}

// saysUnlimited reports whether a value means "no cap" in words, as users
// write it where a GPU count belongs.
func saysUnlimited(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(n.Value)) {
	case "unlimited", "infinite", "inf", "none", "any", "max", "all", "-1":
		return true
	}
	return false
}

// holdsParsedCache memoizes holdsParsed per type.
var holdsParsedCache sync.Map // reflect.Type -> bool

// holdsParsed is holdsParsedScalar, computed once per type.
func holdsParsed(t reflect.Type) bool {
	if v, ok := holdsParsedCache.Load(t); ok {
		return v.(bool)
	}
	v := holdsParsedScalar(t, map[reflect.Type]bool{})
	holdsParsedCache.Store(t, v)
	return v
}

// holdsParsedScalar reports whether a value of type t may contain one of
// parsedScalars in a struct field or map value, the only places the file
// types have them; the walk skips everything else.
func holdsParsedScalar(t reflect.Type, seen map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if _, ok := parsedScalars[t]; ok {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Map:
		return holdsParsedScalar(t.Elem(), seen)
	case reflect.Struct:
		for _, f := range reflect.VisibleFields(t) {
			if f.IsExported() && holdsParsedScalar(f.Type, seen) {
				return true
			}
		}
	}
	return false
}

// quantityValueProblem says why a YAML value is no quantity, "" if it is
// one. Null is fine where the field is optional (a pointer); in a resource
// list it would become a zero quantity nobody asked for.
func quantityValueProblem(n *yaml.Node, nullable bool) string {
	const want = "Invalid value: must be a quantity such as 4, 500m or 64Gi"
	const hint = "; write a number, optionally followed by a suffix such as m, k, M, G, Ki, Mi or Gi"
	switch {
	case n.Kind != yaml.ScalarNode:
		return fmt.Sprintf("%s, not %s%s", want, describeNode(n), hint)
	case n.ShortTag() == "!!null":
		if nullable {
			return ""
		}
		return want + ", not null; give a quantity or remove the entry"
	}
	s := strings.TrimSpace(n.Value)
	if len(s) > maxQuantityLength {
		return fmt.Sprintf("%s, not a value of %d characters%s", want, len(s), hint)
	}
	if exp, ok := quantityExponent(s); ok && (exp > maxQuantityExponent || exp < -maxQuantityExponent) {
		return fmt.Sprintf("%s, not %s: its exponent is out of range; write it with a suffix such as G or Ti", want, describeNode(n))
	}
	if _, err := resource.ParseQuantity(s); err != nil {
		return fmt.Sprintf("%s, not %s%s", want, describeNode(n), hint)
	}
	return ""
}

// quantityExponent returns the exponent of a quantity written like 1e9,
// following the syntax of resource.ParseQuantity: a signed decimal number,
// then a suffix, which is an exponent when it is "e" or "E" and an integer.
func quantityExponent(s string) (int64, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	for i < len(s) && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9')) {
		i++
	}
	suffix := s[i:]
	if len(suffix) < 2 || (suffix[0] != 'e' && suffix[0] != 'E') {
		return 0, false
	}
	exp, err := strconv.ParseInt(suffix[1:], 10, 64)
	return exp, err == nil
}
