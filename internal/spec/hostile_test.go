package spec

import (
	"fmt"
	"strings"
	"testing"
)

// Hostile or broken inputs must end in a bounded number of clear problems,
// not in a hang, a crash or a flood of follow-up errors.

const header = "apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata: {name: a}\n"

func TestAliasBombIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString(header + "spec:\n  x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&b, "  x%d: &a%d [%s]\n", i, i, strings.Repeat(fmt.Sprintf("*a%d,", i-1), 9))
	}
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "expand to more than 100000 values (an alias bomb)") {
		t.Errorf("got %v", err)
	}
}

func TestSelfReferencingAlias(t *testing.T) {
	_, err := Parse("loop.yaml", []byte(header+"spec: &s\n  members: [*s]\n"))
	if err == nil || !strings.Contains(err.Error(), "loop.yaml:5: spec.members[0]: alias *s refers to a value that contains it") {
		t.Errorf("got %v", err)
	}
}

func TestManyTypeErrorsStopEarly(t *testing.T) {
	var b strings.Builder
	b.WriteString(header + "spec:\n  members:\n")
	for range 50 {
		b.WriteString("  - {name: [x], role: {z: 1}}\n")
	}
	_, err := Parse("types.yaml", []byte(b.String()))
	errs := problems(t, err)
	if len(errs) != maxTypeErrors+1 || !strings.Contains(errs[0].Error(), "types.yaml:1: stopped checking this document after 20 values") {
		t.Errorf("got %d problems:\n%v", len(errs), err)
	}
}

func TestDeepNesting(t *testing.T) {
	_, err := Parse("deep.yaml", []byte(header+"spec: "+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+"\n"))
	if err == nil || !strings.Contains(err.Error(), "deep.yaml:4: spec: nests deeper than 32 levels") {
		t.Errorf("got %v", err)
	}
}

func TestOddYAML(t *testing.T) {
	cases := map[string]string{
		"non-string key": header + "spec:\n  ? [a, b]\n  : c\n",
		"infinite float": header + "spec:\n  namespace: .inf\n",
		"binary":         header + "spec:\n  namespace: !!binary aGVsbG8=\n",
		"custom tag":     header + "spec:\n  namespace: !thing x\n",
	}
	want := map[string]string{
		"non-string key": "ex.yaml:5: spec: mapping keys must be plain strings",
		"infinite float": "ex.yaml:5: spec.namespace: value .inf is not a finite number",
		"binary":         `ex.yaml:5: spec.namespace: Invalid value: "aGVsbG8="`,
		"custom tag":     "", // a tagged scalar is still text
	}
	for name, src := range cases {
		_, err := Parse("ex.yaml", []byte(src))
		switch w := want[name]; {
		case w == "" && err != nil:
			t.Errorf("%s: unexpected %v", name, err)
		case w != "" && (err == nil || !strings.Contains(err.Error(), w)):
			t.Errorf("%s: got %v, want %q", name, err, w)
		}
	}
}
