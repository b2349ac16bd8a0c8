package spec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics and keeps its promises: either
// defaulted tenants that validate, or no tenants and an *Errors whose every
// problem points into the input.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/valid/*.y*ml")
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, "testdata/three-problems.yaml", "testdata/invalid/merge-key.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tenants, err := Parse("fuzz.yaml", data)
		if err != nil {
			checkProblems(t, data, tenants, err)
			return
		}
		if len(tenants) == 0 {
			t.Fatal("no tenants and no error")
		}
		if err := Validate(tenants); err != nil {
			t.Fatalf("loaded tenants do not validate: %v", err)
		}
		for _, tn := range tenants {
			if tn.Spec.Namespace == "" || len(tn.Spec.Members) == 0 {
				t.Fatalf("tenant %q was not defaulted: %+v", tn.Name, tn.Spec)
			}
			for _, m := range tn.Spec.Members {
				if m.Kind == "" || m.Role == "" {
					t.Fatalf("member of %q was not defaulted: %+v", tn.Name, m)
				}
			}
		}
	})
}

func checkProblems(t *testing.T, data []byte, tenants []Tenant, err error) {
	t.Helper()
	if tenants != nil {
		t.Fatalf("got %d tenants along with %v", len(tenants), err)
	}
	var errs *Errors
	if !errors.As(err, &errs) || len(*errs) == 0 {
		t.Fatalf("error %v (%T) is not a non-empty *Errors", err, err)
	}
	// The parser may point just past the last line for errors at the end.
	lines := bytes.Count(data, []byte("\n")) + 2
	for _, e := range *errs {
		if e.File != "fuzz.yaml" || e.Line < 0 || e.Line > lines || e.Detail == "" {
			t.Fatalf("bad problem %#v in a %d-line input", e, lines)
		}
	}
}
