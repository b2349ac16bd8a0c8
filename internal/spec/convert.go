package spec

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// maxNodes bounds how many values one document may expand to. Aliases can
// make a tiny file expand exponentially ("billion laughs"); real tenant
// documents have a few dozen values.
const maxNodes = 100000

// span records where the JSON encoding of one YAML value lies, so that a
// JSON decoding error, which only knows a byte offset, can be traced back to
// the YAML node and its line.
type span struct {
	start, end int
	// path is the field path in the form of the strict decoder's paths,
	// e.g. "spec.members[0].name".
	path string
	// key is the mapping key the value belongs to; nil for list items and
	// the document itself.
	key, value *yaml.Node
}

// nodeProblem is YAML the JSON form cannot express.
type nodeProblem struct {
	node   *yaml.Node
	path   string
	detail string
}

// converter turns a YAML node tree into JSON. It is written by hand rather
// than going through map[string]interface{} because it must keep duplicate
// keys (so the strict decoder reports them with their path) and must know
// where each value ended up.
type converter struct {
	buf      bytes.Buffer
	spans    []span
	problems []nodeProblem
	// nulled values are written as null: they already produced an error,
	// and null leaves the Go value untouched so decoding can go on.
	nulled map[*yaml.Node]bool
	// omitted values are left out with their key: unlike null, that also
	// keeps a map entry from appearing with a zero value.
	omitted map[*yaml.Node]bool
	// expanding holds the anchors being expanded, to refuse an alias that
	// refers to a value containing itself.
	expanding map[*yaml.Node]bool
	nodes     int
}

func toJSON(root *yaml.Node, nulled, omitted map[*yaml.Node]bool) *converter {
	c := &converter{nulled: nulled, omitted: omitted, expanding: map[*yaml.Node]bool{}}
	c.value(root, nil, "")
	return c
}

func (c *converter) problem(n *yaml.Node, path, detail string) {
	c.problems = append(c.problems, nodeProblem{node: n, path: path, detail: detail})
}

func (c *converter) value(n, key *yaml.Node, path string) {
	start := c.buf.Len()
	defer func() {
		c.spans = append(c.spans, span{start: start, end: c.buf.Len(), path: path, key: key, value: n})
	}()
	c.nodes++
	switch {
	case c.nulled[n]:
		c.buf.WriteString("null")
		return
	case c.nodes == maxNodes+1:
		c.problem(n, path, "the document expands to more than "+strconv.Itoa(maxNodes)+" values; remove aliases that repeat large values")
		c.buf.WriteString("null")
		return
	case c.nodes > maxNodes:
		c.buf.WriteString("null")
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			c.buf.WriteString("null")
			return
		}
		c.value(n.Content[0], key, path)
	case yaml.AliasNode:
		if n.Alias == nil || c.expanding[n.Alias] {
			c.problem(n, path, "alias *"+n.Value+" refers to a value that contains it; remove the alias")
			c.buf.WriteString("null")
			return
		}
		c.expanding[n.Alias] = true
		c.value(n.Alias, key, path)
		delete(c.expanding, n.Alias)
	case yaml.MappingNode:
		c.mapping(n, path)
	case yaml.SequenceNode:
		c.buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				c.buf.WriteByte(',')
			}
			c.value(item, nil, path+"["+strconv.Itoa(i)+"]")
		}
		c.buf.WriteByte(']')
	default:
		c.scalar(n, path)
	}
}

func (c *converter) mapping(n *yaml.Node, path string) {
	c.buf.WriteByte('{')
	first := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if c.omitted[v] {
			continue
		}
		name, ok := c.keyName(k, path)
		if !ok {
			continue
		}
		if !first {
			c.buf.WriteByte(',')
		}
		first = false
		writeJSONString(&c.buf, name)
		c.buf.WriteByte(':')
		c.value(v, k, joinPath(path, name))
	}
	c.buf.WriteByte('}')
}

// keyName returns the JSON key for a YAML mapping key. JSON only has string
// keys, so scalars are used as written and anything else is refused.
func (c *converter) keyName(k *yaml.Node, path string) (string, bool) {
	resolved := k
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		resolved = k.Alias
	}
	switch {
	case resolved.Kind != yaml.ScalarNode:
		c.problem(k, path, "mapping keys must be plain strings; rewrite the key")
		return "", false
	case resolved.ShortTag() == "!!merge":
		// Merge keys are a YAML 1.1 feature that hides where fields come
		// from; spec files are short enough to spell them out.
		c.problem(k, path, "merge keys (<<) are not supported; write the fields out")
		return "", false
	}
	return resolved.Value, true
}

func (c *converter) scalar(n *yaml.Node, path string) {
	switch n.ShortTag() {
	case "!!null":
		c.buf.WriteString("null")
		return
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			c.buf.WriteString(strconv.FormatBool(b))
			return
		}
	case "!!int":
		var v interface{}
		if n.Decode(&v) == nil {
			switch i := v.(type) {
			case int:
				c.buf.WriteString(strconv.Itoa(i))
				return
			case int64:
				c.buf.WriteString(strconv.FormatInt(i, 10))
				return
			case uint64:
				c.buf.WriteString(strconv.FormatUint(i, 10))
				return
			}
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil {
			if math.IsInf(f, 0) || math.IsNaN(f) {
				c.problem(n, path, "value "+n.Value+" is not a finite number; quote it if it is meant as text")
				c.buf.WriteString("null")
				return
			}
			c.buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
			return
		}
	}
	// Strings, timestamps, binary and custom tags are all text to JSON;
	// so is anything the YAML library could not decode as its tag claims.
	writeJSONString(&c.buf, n.Value)
}

// joinPath appends a key in the strict decoder's path syntax.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func writeJSONString(buf *bytes.Buffer, s string) {
	// Marshalling a string cannot fail.
	b, _ := json.Marshal(s)
	buf.Write(b)
}
