package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// run executes bulkhead in-process with no cluster: every case here must be
// decided before a client is needed.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), Streams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut},
		append([]string{"--kubeconfig", "/nonexistent/kubeconfig"}, args...))
	return out.String(), errOut.String(), ExitCode(err)
}

func TestInvalidInputExitsTwoBeforeContactingACluster(t *testing.T) {
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"apply without -f", "", []string{"apply"}, "pass -f FILE"},
		{"apply with an argument", "", []string{"apply", "bob"}, "unknown command"},
		{"unknown flag", "", []string{"apply", "--frobnicate"}, "unknown flag: --frobnicate"},
		{"bad concurrency", "", []string{"apply", "-f", "x", "--concurrency", "0"}, "--concurrency must be at least 1"},
		{"missing file", "", []string{"apply", "-f", "/nonexistent/spec.yaml"}, "/nonexistent/spec.yaml"},
		{"invalid spec", "apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: Bob\n", []string{"apply", "-f", "-"}, "<stdin>:4: metadata.name"},
		{"kubeconfig without tenant", "", []string{"kubeconfig"}, "accepts 1 arg"},
		{"ttl too short", "", []string{"kubeconfig", "bob", "--ttl", "5m"}, "below the API server's minimum"},
		{"ttl with legacy", "", []string{"kubeconfig", "bob", "--legacy-token", "--ttl", "1h"}, "never expire"},
		{"verify output", "", []string{"verify", "-o", "yaml"}, "--output must be table or json"},
		{"render without -f", "", []string{"render"}, "pass -f FILE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := run(t, c.stdin, c.args...)
			if code != ExitInvalid {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitInvalid, errOut)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, errOut)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			if n := strings.Count(errOut, "error: "); n != 1 {
				t.Errorf("error printed %d times:\n%s", n, errOut)
			}
		})
	}
}

func TestClusterErrorsExitOne(t *testing.T) {
	_, errOut, code := run(t, "", "verify")
	if code != ExitFailed || !strings.Contains(errOut, "load kubeconfig") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

// TestReadmeExampleRenders keeps the README's example a working fixture.
func TestReadmeExampleRenders(t *testing.T) {
	out, errOut, code := run(t, "", "render", "-f", "../../examples/researchers.yaml")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"name: bob\n", "name: alice-user\n", "name: bulkhead-edit-sa-bob-user\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("render of examples/researchers.yaml lacks %q", want)
		}
	}
}
