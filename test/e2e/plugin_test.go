package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/version"
)

// kubectlPlugin runs the real kubectl with a PATH on which the built binary
// is the plugin kubectl-bulkhead, a symlink as make install lays it out.
func kubectlPlugin(t *testing.T, args ...string) result {
	t.Helper()
	dir := t.TempDir()
	if err := os.Symlink(e2e.bulkhead, filepath.Join(dir, "kubectl-bulkhead")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	// The last PATH wins over the one os.Environ holds.
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+e2e.kubeconfig)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run kubectl %v: %v", args, err)
	}
	return r
}

func TestPluginVersion(t *testing.T) {
	r := must(t, kubectlPlugin(t, "bulkhead", "version", "-o", "json"), 0)
	var got struct {
		APIVersion, Kind, Version, GoVersion, ClientGoVersion, TargetKubernetesVersion string
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if got.APIVersion != "bulkhead.dev/v1alpha1" || got.Kind != "Version" {
		t.Errorf("apiVersion %q, kind %q; want bulkhead.dev/v1alpha1 Version", got.APIVersion, got.Kind)
	}
	if got.Version == "" || got.GoVersion == "" {
		t.Errorf("version %q, goVersion %q: want both set\n%s", got.Version, got.GoVersion, r.stdout)
	}
	if got.TargetKubernetesVersion != version.Kubernetes {
		t.Errorf("targetKubernetesVersion %q, want %q", got.TargetKubernetesVersion, version.Kubernetes)
	}
	// client-go v0.N is Kubernetes v1.N: the linked client is the target's.
	if want := "v0" + strings.TrimPrefix(version.Kubernetes, "v1") + "."; !strings.HasPrefix(got.ClientGoVersion, want) {
		t.Errorf("clientGoVersion %q, want %s* (target %s)", got.ClientGoVersion, want, version.Kubernetes)
	}
}

func TestPluginHelpSaysKubectlBulkhead(t *testing.T) {
	r := must(t, kubectlPlugin(t, "bulkhead", "--help"), 0)
	for _, want := range []string{"Usage:\n  kubectl bulkhead [command]", `Use "kubectl bulkhead [command] --help"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, r)
		}
	}
	r = must(t, kubectlPlugin(t, "bulkhead", "version", "--frobnicate"), 2)
	if !strings.Contains(r.stderr, "See 'kubectl bulkhead version --help'") {
		t.Errorf("usage hint does not name kubectl bulkhead:\n%s", r)
	}
}
