package spec

import (
	"fmt"
	"regexp"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// Bounds on one document, checked before it is decoded. A Tenant is a few
// kilobytes and nests eight levels at most (spec.network.allowFrom[0].
// podSelector.matchExpressions[0].values[0]); anything far beyond that is a
// wrong file or an attack, and is refused with one clear problem instead of
// being decoded at the cost of memory and time.
const (
	// maxDocumentSize is one document's bound: the API server stores no
	// object above 1.5 MiB, and a Tenant is far below.
	maxDocumentSize = 1 << 20
	// maxDepth bounds the nesting of mappings and lists.
	maxDepth = 32
)

// oversized reports a document chunk above maxDocumentSize, or "".
func oversized(size int) string {
	if size <= maxDocumentSize {
		return ""
	}
	return fmt.Sprintf("this document is %.1f MiB, more than the %d MiB bulkhead reads for one document "+
		"(a Tenant is a few KiB, and the API server stores no object above 1.5 MiB); check that this is the right file",
		float64(size)/(1<<20), maxDocumentSize>>20)
}

// checkBounds refuses a document nested deeper than maxDepth, with an alias
// inside the value it names, or whose aliases expand it to more than maxNodes values ("billion laughs": nine
// aliases of nine aliases of ... make a few hundred bytes expand to
// millions of values). It returns at most one problem; the document is then
// not decoded.
func checkBounds(doc document) []docError {
	b := boundsWalker{doc: doc, sizes: map[*yaml.Node]int{}, open: map[*yaml.Node]bool{}}
	b.walk(doc.root, 1, "")
	if b.err == nil {
		return nil
	}
	return []docError{*b.err}
}

type boundsWalker struct {
	doc document
	// sizes memoizes how many values a node expands to, so a bomb is
	// measured in time linear in its text.
	sizes map[*yaml.Node]int
	// total counts the values expanded so far, in document order.
	total int
	// open holds the values the walk is inside of, to find an alias that
	// refers to one of them: it would expand forever.
	open map[*yaml.Node]bool
	err  *docError
}

// trailingIndices matches the list indices at the end of a path, which
// say nothing the line does not (spec.x[0][0][0]... is reported as spec.x).
var trailingIndices = regexp.MustCompile(`(\[[0-9]+\])+$`)

func (b *boundsWalker) walk(n *yaml.Node, depth int, path string) {
	if b.err != nil || n == nil {
		return
	}
	if depth > maxDepth {
		field := trailingIndices.ReplaceAllString(path, "")
		b.err = &docError{line: b.doc.line(n), field: field, detail: fmt.Sprintf(
			"nests deeper than %d levels, far deeper than any Tenant (eight at most); remove the extra brackets or indentation", maxDepth)}
		return
	}
	b.total++
	b.open[n] = true
	defer delete(b.open, n)
	switch n.Kind {
	case yaml.AliasNode:
		if b.open[n.Alias] {
			b.err = &docError{line: b.doc.line(n), field: path, detail: "alias *" + n.Value + " refers to a value that contains it; remove the alias"}
			return
		}
		// The anchored value was counted where it is written; an alias
		// repeats all of it.
		b.total += b.size(n.Alias, map[*yaml.Node]bool{}) - 1
		if b.total > maxNodes {
			b.err = &docError{line: b.doc.line(n), field: path, detail: fmt.Sprintf(
				"alias *%s makes the document expand to more than %d values (an alias bomb); "+
					"write the values out instead of repeating large values by alias", n.Value, maxNodes)}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			b.walk(n.Content[i+1], depth+1, joinPath(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			b.walk(item, depth+1, path+"["+strconv.Itoa(i)+"]")
		}
	}
}

// size is how many values n expands to, aliases included. An alias inside
// the value it names (open holds the nodes being measured) counts once; the
// converter reports it.
func (b *boundsWalker) size(n *yaml.Node, open map[*yaml.Node]bool) int {
	if n == nil {
		return 1
	}
	if s, ok := b.sizes[n]; ok {
		return s
	}
	if open[n] {
		return 1
	}
	open[n] = true
	defer delete(open, n)
	s := 1
	switch n.Kind {
	case yaml.AliasNode:
		s = b.size(n.Alias, open)
	case yaml.MappingNode, yaml.SequenceNode:
		for _, c := range n.Content {
			s += b.size(c, open)
			if s > maxNodes {
				break // large enough to refuse; the exact size does not matter
			}
		}
	}
	b.sizes[n] = s
	return s
}
