package spec

import "io"

// File is one input as read: the name messages use, and its bytes.
type File struct {
	Name string
	Data []byte
}

// ReadFiles reads paths the way Load does (files, directories of *.yaml and
// *.yml files, "-" for stdin, 16 MiB per input) without decoding them, for
// readers of other manifests (audit). It fails with *Errors naming every
// path that could not be read.
func ReadFiles(paths []string, stdin io.Reader) ([]File, error) {
	l := &loader{stdin: stdin}
	if len(paths) == 0 {
		l.errs = append(l.errs, Error{Detail: "no input given; pass files, directories or - for standard input"})
	}
	for _, p := range paths {
		l.add(p)
	}
	if len(l.errs) > 0 {
		errs := Errors(l.errs)
		return nil, &errs
	}
	out := make([]File, len(l.inputs))
	for i, in := range l.inputs {
		out[i] = File{Name: in.name, Data: in.data}
	}
	return out, nil
}

// ParseFiles is LoadAll for inputs already read: decode strictly, default
// (a TenantDefaults anywhere applies to all) and validate.
func ParseFiles(files []File) (*Input, error) {
	l := &loader{}
	for _, f := range files {
		l.inputs = append(l.inputs, input{name: f.Name, data: f.Data})
		l.order = append(l.order, f.Name)
	}
	return l.finish()
}

// Chunk is one document of a multi-document stream and the stream line it
// starts on.
type Chunk struct {
	Text []byte
	Line int
}

// Documents cuts a stream at its "---" markers, as Load does, without
// parsing. Chunks may be empty or hold only comments.
func Documents(data []byte) []Chunk {
	cs := chunks(data)
	out := make([]Chunk, len(cs))
	for i, c := range cs {
		out[i] = Chunk{Text: c.text, Line: c.firstLine}
	}
	return out
}
