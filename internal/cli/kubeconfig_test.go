package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// TestKubeconfigOutputPathRefused checks that a -o path that cannot take a
// kubeconfig is refused before any cluster is contacted (run's kubeconfig
// does not exist), with or without --force, and that nothing is written.
func TestKubeconfigOutputPathRefused(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, want string
	}{
		{"directory", dir, "error: -o " + dir + " is a directory; name a file inside it\n"},
		{"symbolic link", link, "error: -o " + link + " is a symbolic link to " + target},
		{"missing directory", filepath.Join(dir, "missing", "bob.kubeconfig"),
			"cannot be created: directory " + filepath.Join(dir, "missing") + " does not exist; create the directory first, or choose another path"},
	}
	for _, tc := range cases {
		for _, force := range []bool{false, true} {
			args := []string{"kubeconfig", "bob", "-o", tc.path}
			if force {
				args = append(args, "--force")
			}
			out, errOut, code := run(t, "", args...)
			if code != ExitInvalid || !strings.Contains(errOut, tc.want) || out != "" {
				t.Errorf("%s (--force=%t): exit %d, stdout %q, stderr:\n%s\nwant exit 2 and %q", tc.name, force, code, out, errOut, tc.want)
			}
		}
	}
	_, errOut, code := run(t, "", "kubeconfig", "bob", "-o", target)
	if code != ExitInvalid || !strings.Contains(errOut, "error: -o "+target+" exists: pass --force to overwrite it") {
		t.Errorf("existing file: exit %d, stderr:\n%s", code, errOut)
	}
	entries, _ := os.ReadDir(dir)
	if b, _ := os.ReadFile(target); len(entries) != 2 || string(b) != "keep" {
		t.Errorf("something was written: %v, target %q", entries, b)
	}
	// A writable path passes validation and fails only for want of a cluster.
	_, errOut, code = run(t, "", "kubeconfig", "bob", "-o", filepath.Join(dir, "new.kubeconfig"))
	if code != ExitFailed || !strings.Contains(errOut, "load kubeconfig") {
		t.Errorf("writable path: exit %d, stderr:\n%s", code, errOut)
	}
}

func TestTokenTTL(t *testing.T) {
	ns := func(annotations map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bob-ns", Annotations: annotations}}
	}
	capped := func(d string) *corev1.Namespace { return ns(map[string]string{v1alpha1.MaxTokenTTLAnnotation: d}) }
	cases := []struct {
		name    string
		ns      *corev1.Namespace
		ttl     time.Duration
		ttlSet  bool
		want    time.Duration
		wantErr string
		note    string
	}{
		{"default under the built-in cap", ns(nil), defaultTTL, false, defaultTTL, "", ""},
		{"at the built-in cap", ns(nil), 168 * time.Hour, true, 168 * time.Hour, "", ""},
		{"above the built-in cap", ns(nil), 100000 * time.Hour, true, 0,
			"--ttl 100000h is longer than tenant bob's maximum token lifetime of 168h0m0s; ask for a shorter --ttl, " +
				"or raise spec.credentials.maxTokenTTL in the tenant or its defaults (at most 8760h)", ""},
		{"under a raised cap", capped("720h0m0s"), 700 * time.Hour, true, 700 * time.Hour, "", ""},
		{"above a raised cap", capped("720h0m0s"), 721 * time.Hour, true, 0, "of 720h0m0s", ""},
		{"default above a lowered cap", capped("1h0m0s"), defaultTTL, false, time.Hour, "", "tenant bob's tokens live at most 1h0m0s: issuing one for that long\n"},
		{"given above a lowered cap", capped("1h0m0s"), defaultTTL, true, 0, "--ttl 24h is longer than tenant bob's maximum token lifetime of 1h0m0s", ""},
		{"broken annotation", capped("forever"), time.Hour, true, 0,
			`namespace bob-ns of tenant bob: annotation bulkhead.dev/max-token-ttl is "forever", not a positive duration`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var errOut bytes.Buffer
			o := &kubeconfigOptions{ttl: tc.ttl, ttlSet: tc.ttlSet}
			got, err := o.tokenTTL(tc.ns, "bob", Streams{ErrOut: &errOut})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("tokenTTL = %s, %v; want an error with %q", got, err, tc.wantErr)
				}
				wantCode := ExitInvalid
				if strings.HasPrefix(tc.wantErr, "namespace") {
					wantCode = ExitFailed
				}
				if ExitCode(err) != wantCode {
					t.Errorf("exit code %d, want %d", ExitCode(err), wantCode)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("tokenTTL = %s, %v; want %s", got, err, tc.want)
			}
			if errOut.String() != tc.note {
				t.Errorf("stderr %q, want %q", errOut.String(), tc.note)
			}
		})
	}
}
