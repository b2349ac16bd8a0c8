package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// WriteJSON prints the report as indented JSON (docs/audit-json.md). At
// 5,000 tenants the report is tens of megabytes: rather than build it in
// memory, the top-level lists are encoded one item at a time to a buffered
// writer. The bytes are those of json.Encoder with SetIndent("", "  ").
func WriteJSON(w io.Writer, r *Report) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	s := jsonStream{w: bw}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetIndent("  ", "  ")
	if r == nil {
		s.str("null\n") // as json.Encoder writes it
	} else {
		s.report(reflect.ValueOf(r).Elem())
	}
	if s.err == nil {
		s.err = bw.Flush()
	}
	if s.err != nil {
		return fmt.Errorf("write json report: %w", s.err)
	}
	return nil
}

// jsonStream writes one object whose slice fields it streams. It walks the
// struct's fields by reflection so that a field added to Report is written
// without a change here, with encoding/json's names and omitempty.
type jsonStream struct {
	w   *bufio.Writer
	buf bytes.Buffer
	enc *json.Encoder
	err error
}

func (s *jsonStream) write(b []byte) {
	if s.err == nil {
		_, s.err = s.w.Write(b)
	}
}

func (s *jsonStream) str(v string) { s.write([]byte(v)) }

// value writes v as encoding/json would at the given depth of indentation,
// without the trailing newline.
func (s *jsonStream) value(v reflect.Value, depth int) {
	if s.err != nil {
		return
	}
	s.buf.Reset()
	s.enc.SetIndent(strings.Repeat("  ", depth), "  ")
	if s.err = s.enc.Encode(v.Interface()); s.err != nil {
		return
	}
	s.write(bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")))
}

func (s *jsonStream) report(v reflect.Value) {
	t := v.Type()
	s.str("{")
	first := true
	for i := range t.NumField() {
		f := t.Field(i)
		name, omitEmpty, ok := jsonField(f)
		if !ok {
			continue
		}
		fv := v.Field(i)
		if omitEmpty && isEmptyJSON(fv) {
			continue
		}
		if !first {
			s.str(",")
		}
		first = false
		key, _ := json.Marshal(name)
		s.str("\n  ")
		s.write(key)
		s.str(": ")
		if fv.Kind() != reflect.Slice || fv.IsNil() || fv.Len() == 0 {
			s.value(fv, 1)
			continue
		}
		s.str("[")
		for j := range fv.Len() {
			if j > 0 {
				s.str(",")
			}
			s.str("\n    ")
			s.value(fv.Index(j), 2)
		}
		s.str("\n  ]")
	}
	s.str("\n}\n")
}

// jsonField reads a field's json tag as encoding/json does.
func jsonField(f reflect.StructField) (name string, omitEmpty, ok bool) {
	if !f.IsExported() || f.Anonymous {
		return "", false, false
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false, false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	for _, o := range strings.Split(opts, ",") {
		omitEmpty = omitEmpty || o == "omitempty"
	}
	return name, omitEmpty, true
}

// isEmptyJSON is encoding/json's omitempty test.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
