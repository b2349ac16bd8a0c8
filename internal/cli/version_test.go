package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/version"
)

func TestVersionNeedsNoCluster(t *testing.T) {
	out, errOut, code := run(t, "", "version")
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, want := range []string{
		"bulkhead Version:", "Git Commit:", "Go Version:                " + runtime.Version(),
		"client-go Version:", "Target Kubernetes Version: " + version.Kubernetes + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

func TestVersionJSON(t *testing.T) {
	out, errOut, code := run(t, "", "version", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	want := map[string]string{
		"apiVersion":              "bulkhead.dev/v1alpha1",
		"kind":                    "Version",
		"goVersion":               runtime.Version(),
		"platform":                runtime.GOOS + "/" + runtime.GOARCH,
		"targetKubernetesVersion": version.Kubernetes,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// Test binaries carry no dependency versions: clientGoVersion is
	// "unknown" here and checked on the built binary in test/e2e.
	if got["version"] == "" || got["clientGoVersion"] == "" {
		t.Errorf("version or clientGoVersion empty: %s", out)
	}
}

func TestVersionRejectsOtherOutputs(t *testing.T) {
	for _, args := range [][]string{{"version", "-o", "yaml"}, {"version", "extra"}} {
		out, errOut, code := run(t, "", args...)
		if code != ExitInvalid || out != "" || strings.Count(errOut, "error: ") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr:\n%s", args, code, out, errOut)
		}
	}
}

func TestName(t *testing.T) {
	for argv0, want := range map[string]string{
		"bulkhead":                                "bulkhead",
		"bin/bulkhead":                            "bulkhead",
		"/home/me/go/bin/kubectl-bulkhead":        "kubectl bulkhead",
		"kubectl-bulkhead":                        "kubectl bulkhead",
		"kubectl-bulkhead.exe":                    "kubectl bulkhead",
		"/usr/local/bin/kubectl-bulkhead-renamed": "bulkhead",
	} {
		if got := Name(argv0); got != want {
			t.Errorf("Name(%q) = %q, want %q", argv0, got, want)
		}
	}
}

// TestRunAsPluginNamesKubectl: help, usage and error hints read as the
// user typed them under kubectl.
func TestRunAsPluginNamesKubectl(t *testing.T) {
	var out, errOut bytes.Buffer
	s := Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	if err := RunAs(context.Background(), s, "kubectl bulkhead", []string{"--help"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Usage:\n  kubectl bulkhead [command]", `Use "kubectl bulkhead [command] --help"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	err := RunAs(context.Background(), s, "kubectl bulkhead", []string{"version", "--frobnicate"})
	if ExitCode(err) != ExitInvalid || !strings.Contains(errOut.String(), "See 'kubectl bulkhead version --help'") {
		t.Errorf("exit %d, stderr:\n%s", ExitCode(err), errOut.String())
	}
}
