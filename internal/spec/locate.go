package spec

import (
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/bulkhead-dev/bulkhead/internal/typo"
	yaml "go.yaml.in/yaml/v3"
)

// lookup finds the YAML node a field path (as written by the strict JSON
// decoder or by field.Path) points at. It returns the mapping key holding
// the value (nil for list items) and the value. When the path does not exist
// in the document, for instance because the value was defaulted, it returns
// the deepest node that does, so an error still points somewhere sensible.
//
// Keys may contain dots (label keys do), so a path segment is matched against
// the keys that are actually there rather than split at every dot. With last
// set, the last of several equal keys wins: duplicate-field errors should
// point at the duplicate, not at the original.
func lookup(root *yaml.Node, path string, last bool) (key, value *yaml.Node) {
	w := walker{last: last, budget: maxLookupSteps}
	key, value, _ = w.walk(nil, root, path)
	return key, value
}

// maxLookupSteps bounds one lookup. Duplicate keys make the search branch,
// and aliases let branches share subtrees, so a crafted document could make
// an unbounded search take exponential time; giving up early only makes a
// line number less precise.
const maxLookupSteps = 10000

type walker struct {
	last   bool
	budget int
}

// lineOf returns the line of what lookup finds: the key's line for mapping
// values, because that is where the field name is written.
func lineOf(key, value *yaml.Node) int {
	if key != nil {
		return key.Line
	}
	if value != nil {
		return value.Line
	}
	return 0
}

func (w *walker) walk(key, n *yaml.Node, path string) (*yaml.Node, *yaml.Node, bool) {
	n = resolveAlias(n)
	w.budget--
	if path == "" || n == nil || w.budget < 0 {
		return key, n, path == ""
	}
	switch n.Kind {
	case yaml.MappingNode:
		bestKey, best, found := key, n, false
		pairs := len(n.Content) / 2
		for i := range pairs {
			p := i
			if w.last {
				p = pairs - 1 - i
			}
			k := n.Content[2*p]
			rest, ok := matchKey(path, resolveAlias(k).Value)
			if !ok {
				continue
			}
			fk, fv, complete := w.walk(k, n.Content[2*p+1], rest)
			if complete {
				return fk, fv, true
			}
			if !found {
				bestKey, best, found = fk, fv, true
			}
		}
		return bestKey, best, false
	case yaml.SequenceNode:
		idx, rest, ok := index(path)
		if ok && idx < len(n.Content) {
			return w.walk(nil, n.Content[idx], rest)
		}
	}
	return key, n, false
}

// matchKey reports whether path starts with the key name, either as ".name"
// (or "name" at the start) or as "[name]" (field.Path's form for map keys),
// and returns the rest of the path.
func matchKey(path, name string) (string, bool) {
	if inner, ok := strings.CutPrefix(path, "["); ok {
		if rest, ok := strings.CutPrefix(inner, name+"]"); ok {
			return rest, true
		}
		return "", false
	}
	p := strings.TrimPrefix(path, ".")
	rest, ok := strings.CutPrefix(p, name)
	if !ok || (rest != "" && rest[0] != '.' && rest[0] != '[') {
		return "", false
	}
	return rest, true
}

// index parses a leading "[n]".
func index(path string) (int, string, bool) {
	inner, ok := strings.CutPrefix(path, "[")
	if !ok {
		return 0, "", false
	}
	num, rest, ok := strings.Cut(inner, "]")
	if !ok {
		return 0, "", false
	}
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 {
		return 0, "", false
	}
	return i, rest, true
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// knownFields lists the JSON field names of the struct a path leads to in t,
// for "unknown field" messages. Paths through maps or with unknown segments
// give nil.
func knownFields(t reflect.Type, path string) []string {
	for path != "" {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if _, rest, ok := index(path); ok {
			if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
				return nil
			}
			t, path = t.Elem(), rest
			continue
		}
		p := strings.TrimPrefix(path, ".")
		name, rest := p, ""
		if i := strings.IndexAny(p, ".["); i >= 0 {
			name, rest = p[:i], p[i:]
		}
		f, ok := fieldByJSONName(t, name)
		if !ok {
			return nil
		}
		t, path = f.Type, rest
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for _, f := range reflect.VisibleFields(t) {
		if n := jsonName(f); n != "" && !f.Anonymous {
			names = append(names, n)
		}
	}
	return names
}

func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	f, ok := jsonFields(t)[name]
	return f, ok
}

// fieldsByJSONName memoizes jsonFields: a spec of ten thousand tenants looks
// up the same few types' fields hundreds of thousands of times.
var fieldsByJSONName sync.Map // reflect.Type -> map[string]reflect.StructField

// jsonFields maps the JSON names of a struct's visible fields to the fields.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	if m, ok := fieldsByJSONName.Load(t); ok {
		return m.(map[string]reflect.StructField)
	}
	m := map[string]reflect.StructField{}
	for _, f := range reflect.VisibleFields(t) {
		if n := jsonName(f); !f.Anonymous && n != "" {
			if _, dup := m[n]; !dup {
				m[n] = f
			}
		}
	}
	fieldsByJSONName.Store(t, m)
	return m
}

// jsonName is the name encoding/json uses for a field, "" if it skips it.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	if name, _, _ := strings.Cut(tag, ","); name != "" {
		return name
	}
	return f.Name
}

// suggest returns the known name closest to an unknown one when it is close
// enough to be a plausible typo ("rol" for "role", "Name" for "name").
func suggest(unknown string, known []string) string {
	best, bestDist := "", len(unknown)/2+1
	for _, k := range known {
		if strings.EqualFold(k, unknown) {
			return k
		}
		if d := typo.Distance(unknown, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}
