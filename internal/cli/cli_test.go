package cli

import (
	"bytes"
	"context"
	"regexp"
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
		{"audit output", "", []string{"audit", "-o", "yaml"}, "--output must be table, json, html or sarif"},
		{"audit fail-on", "", []string{"audit", "--fail-on", "severe"}, "use low, medium, high or critical"},
		{"audit live with files", "", []string{"audit", "--live", "10", "-f", "x"}, "cannot check manifests"},
		{"audit tenants and selector", "", []string{"audit", "-f", "x", "--tenants", "a", "--tenant-selector", "t=1"}, "not both"},
		{"audit bad selector", "", []string{"audit", "-f", "x", "--tenant-selector", "a b"}, "--tenant-selector"},
		{"audit bad manifest", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\n", []string{"audit", "-f", "-"},
			"<stdin>:1: metadata.namespace"},
		{"audit unknown tenant", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", []string{"audit", "-f", "-", "--tenants", "b"},
			`namespace "b" is not in the snapshot`},
		{"who-can without resource", "", []string{"who-can", "get"}, "accepts between 2 and 3 arg"},
		{"who-can unknown resource", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", []string{"who-can", "get", "gizmos", "-f", "-"},
			`resource "gizmos" is not known`},
		{"can bad subject", "", []string{"can", "bob"}, "write system:serviceaccount:NAMESPACE:NAME"},
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

// TestAuditFromManifests runs the verbs on manifests, without a cluster.
func TestAuditFromManifests(t *testing.T) {
	const dir = "../audit/testdata/procedure"
	out, errOut, code := run(t, "", "audit", "-f", dir)
	if code != ExitFailed || !strings.Contains(out, "dangling-role-ref") || !strings.Contains(errOut, "8 findings at high severity or above") {
		t.Errorf("audit: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// The one critical finding: bob-user creates pods where Pod Security
	// admits privileged ones (no enforce label).
	if _, errOut, code := run(t, "", "audit", "-f", dir, "--fail-on", "critical"); code != ExitFailed || !strings.Contains(errOut, "1 finding at critical severity") {
		t.Errorf("audit --fail-on critical: exit %d, want 1 (one critical finding)\n%s", code, errOut)
	}
	out, _, code = run(t, "", "audit", "-f", dir, "-o", "json")
	if code != ExitFailed || !strings.HasPrefix(out, "{") || !strings.Contains(out, `"kind": "AuditReport"`) {
		t.Errorf("audit -o json: exit %d\n%s", code, out)
	}
	out, _, code = run(t, "", "who-can", "delete", "resourcequotas", "-n", "bob", "-f", dir)
	if code != ExitOK || !regexp.MustCompile(`system:serviceaccount:bob:bob-user\s+RoleBinding bob/bob-user-full-access`).MatchString(out) {
		t.Errorf("who-can: exit %d\n%s", code, out)
	}
	out, _, code = run(t, "", "can", "system:serviceaccount:alice:alice-user", "-n", "alice", "-f", dir)
	if code != ExitOK || strings.Contains(out, "pods") {
		t.Errorf("can: alice is locked out of her namespace, yet: exit %d\n%s", code, out)
	}
}
