package spec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// FuzzParse checks that ParseAll (split, strict decode of Tenant and
// TenantDefaults documents, validation, defaults) never panics and keeps
// its promises: the same answer twice; either defaulted tenants with
// complete guardrails that validate (alone and with their TenantDefaults)
// and that a second defaulting leaves unchanged, or no tenants and an
// *Errors whose every problem points into the input. Seeds: the valid and
// invalid fixtures, plus testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/valid/*.y*ml")
	if err != nil {
		f.Fatal(err)
	}
	invalid, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(append(seeds, invalid...), "testdata/three-problems.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ParseAll("fuzz.yaml", data)
		again, errAgain := ParseAll("fuzz.yaml", data)
		if fmt.Sprint(err) != fmt.Sprint(errAgain) || (in == nil) != (again == nil) ||
			in != nil && !apiequality.Semantic.DeepEqual([]any{in.Tenants, in.Defaults}, []any{again.Tenants, again.Defaults}) {
			t.Fatalf("two parses of one input differ: %v / %v", err, errAgain)
		}
		if err != nil {
			if in != nil {
				t.Fatalf("got an Input along with %v", err)
			}
			checkProblems(t, data, nil, err)
			return
		}
		tenants := in.Tenants
		if len(tenants) == 0 {
			t.Fatal("no tenants and no error")
		}
		if err := Validate(tenants); err != nil {
			t.Fatalf("loaded tenants do not validate: %v", err)
		}
		if err := ValidateInput(in); err != nil {
			t.Fatalf("loaded tenants and their TenantDefaults do not validate: %v", err)
		}
		for _, tn := range tenants {
			// Defaulting a loaded tenant again, as the controller does
			// with what it reads back, must change nothing.
			twice := tn.DeepCopy()
			DefaultWith(twice, in.inherited(tn.Spec.Defaults))
			if !apiequality.Semantic.DeepEqual(&tn.Tenant, twice) {
				t.Fatalf("defaulting tenant %q twice changes it:\n%+v\n%+v", tn.Name, tn.Spec, twice.Spec)
			}
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
			if missing := incomplete(tn.Spec.Guardrails); missing != "" {
				t.Fatalf("guardrails of %q lack %s: %+v", tn.Name, missing, tn.Spec.Guardrails)
			}
		}
	})
}

// incomplete names the first guardrail render would find missing, "" if
// there is none.
func incomplete(g v1alpha1.Guardrails) string {
	switch {
	case g.Quota == nil:
		return "quota"
	case g.Limits == nil:
		return "limits"
	case g.Network == nil:
		return "network"
	case g.PodSecurity == "":
		return "podSecurity"
	case g.Network.Mode == "" || g.Network.Egress == "":
		return "network mode or egress"
	}
	q := g.Quota
	for _, v := range []*resource.Quantity{q.GPUs, q.CPU, q.Memory, q.Pods, q.Storage, q.PersistentVolumeClaims} {
		if v == nil {
			return "a quota quantity"
		}
	}
	if q.GPUResource == "" {
		return "quota.gpuResource"
	}
	return ""
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
	// YAML breaks lines at \n, \r\n and a lone \r (old Mac files).
	lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 2
	for _, e := range *errs {
		if e.File != "fuzz.yaml" || e.Line < 0 || e.Line > lines || e.Detail == "" {
			t.Fatalf("bad problem %#v in a %d-line input", e, lines)
		}
	}
}
