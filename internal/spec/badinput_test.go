package spec

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// badInputGolden holds the expected problem of every fixture of the
// bad-input corpus (testdata/invalid files not in invalidCases): one line
// each, the message exactly as Load reports it, with the file named
// as {dir}/name.
const badInputGolden = "testdata/bad-input.golden"

// readBadInputs parses badInputGolden into file name -> expected message,
// with "{dir}" standing for the fixture's directory.
func readBadInputs(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(badInputGolden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, ok := strings.Cut(strings.TrimPrefix(line, "{dir}/"), ":")
		if !ok || !strings.HasPrefix(line, "{dir}/") || !strings.HasSuffix(name, ".yaml") {
			t.Fatalf("%s: line %q does not start with a fixture name", badInputGolden, line)
		}
		if _, dup := out[name]; dup {
			t.Fatalf("%s: %s is listed twice", badInputGolden, name)
		}
		out[name] = line
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBadInputs loads each fixture of the bad-input corpus on its own: it
// must yield no tenants and exactly the one problem of the golden file,
// word for word (file, line, field, what is wrong and what to do).
func TestBadInputs(t *testing.T) {
	cases := readBadInputs(t)
	if len(cases) < 30 {
		t.Errorf("the bad-input corpus has %d cases, want at least 30", len(cases))
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			if _, old := invalidCases[name]; old {
				t.Fatalf("%s is in invalidCases and in %s; keep it in one", name, badInputGolden)
			}
			file := filepath.Join("testdata/invalid", name)
			tenants, err := Load([]string{file}, nil)
			if tenants != nil {
				t.Errorf("got %d tenants, want none", len(tenants))
			}
			errs := problems(t, err)
			if len(errs) != 1 {
				t.Fatalf("got %d problems, want exactly one:\n%v", len(errs), err)
			}
			if got, want := errs[0].Error(), strings.ReplaceAll(want, "{dir}", "testdata/invalid"); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}
