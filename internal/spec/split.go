package spec

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// document is one YAML document of a stream, parsed into nodes so that every
// value keeps its line.
type document struct {
	// root is the document's content node (never a DocumentNode).
	root *yaml.Node
	// lineOffset turns a node's line into a line of the whole stream: the
	// document was parsed on its own, starting at line lineOffset+1.
	lineOffset int
}

// line returns the stream line of n.
func (d document) line(n *yaml.Node) int { return d.lineOffset + n.Line }

// syntaxError is a YAML error the parser gave up on, with its stream line.
type syntaxError struct {
	line   int
	detail string
}

// splitDocuments parses a multi-document YAML stream. It splits the stream
// at "---" lines itself and parses each piece separately, because the YAML
// parser stops at the first syntax error and a user should learn about the
// errors of every document at once. Empty documents are dropped.
func splitDocuments(data []byte) ([]document, []syntaxError) {
	var docs []document
	var errs []syntaxError
	for _, c := range chunks(data) {
		if detail := oversized(len(c.text)); detail != "" {
			errs = append(errs, syntaxError{line: firstContentLine(c), detail: detail})
			continue
		}
		d, e := parseChunk(c.text, c.firstLine-1)
		docs = append(docs, d...)
		errs = append(errs, e...)
	}
	return docs, errs
}

type chunk struct {
	text      []byte
	firstLine int
}

// chunks cuts data before every document start marker ("---" at the start of
// a line). YAML forbids that marker inside a document, even in block
// scalars, so the cut never splits a document. A marker only starts a new
// chunk once the current one holds content: directives ("%YAML") and
// comments above a marker belong to the document that follows.
func chunks(data []byte) []chunk {
	var out []chunk
	start, startLine, line := 0, 1, 1
	content := false
	for pos := 0; pos < len(data); line++ {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			next = pos + end + 1
		}
		text := strings.TrimRight(string(data[pos:next]), "\r\n")
		if marker, rest := isDocumentStart(text); marker {
			if content {
				out = append(out, chunk{text: data[start:pos], firstLine: startLine})
				start, startLine = pos, line
			}
			content = hasContent(rest)
		} else if !strings.HasPrefix(text, "%") && hasContent(text) {
			content = true
		}
		pos = next
	}
	if start < len(data) {
		out = append(out, chunk{text: data[start:], firstLine: startLine})
	}
	return out
}

// firstContentLine is the stream line of a chunk's first line that holds
// more than a comment or a "---" marker: where the document starts for a
// reader.
func firstContentLine(c chunk) int {
	line := c.firstLine
	for _, text := range bytes.Split(c.text, []byte("\n")) {
		t := strings.TrimRight(string(text), "\r")
		if marker, rest := isDocumentStart(t); (marker && hasContent(rest)) || (!marker && hasContent(t)) {
			return line
		}
		line++
	}
	return c.firstLine
}

// isDocumentStart reports whether line is a "---" marker and returns what
// follows it on the line.
func isDocumentStart(line string) (bool, string) {
	rest, ok := strings.CutPrefix(line, "---")
	if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
		return false, ""
	}
	return true, rest
}

// hasContent reports whether a line holds more than blanks and a comment.
func hasContent(line string) bool {
	t := strings.TrimSpace(line)
	return t != "" && !strings.HasPrefix(t, "#")
}

// parseChunk parses every document of one chunk; usually there is one, but
// a "..." end marker may be followed by another document without "---".
func parseChunk(text []byte, lineOffset int) ([]document, []syntaxError) {
	dec := yaml.NewDecoder(bytes.NewReader(text))
	var docs []document
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, []syntaxError{yamlSyntaxError(err, lineOffset)}
		}
		root := &n
		if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
			root = root.Content[0]
		}
		if isEmptyDocument(root) {
			continue
		}
		docs = append(docs, document{root: root, lineOffset: lineOffset})
	}
}

// isEmptyDocument reports whether a document has no content: a lone "---",
// or only comments, or an explicit null. Such documents are skipped because
// editors and generators leave them around harmlessly.
func isEmptyDocument(n *yaml.Node) bool {
	switch n.Kind {
	case 0:
		return true
	case yaml.DocumentNode:
		return len(n.Content) == 0
	case yaml.ScalarNode:
		return n.ShortTag() == "!!null"
	}
	return false
}

// yamlSyntaxError extracts the line from the parser's "yaml: line N: ..."
// message, so it can be reported in the file:line form of every other error.
func yamlSyntaxError(err error, lineOffset int) syntaxError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, detail, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil {
				line, msg = n, detail
			}
		}
	}
	return syntaxError{line: lineOffset + line, detail: "invalid YAML: " + msg + "; fix the syntax"}
}
