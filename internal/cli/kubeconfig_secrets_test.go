//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLegacyTokenWarns checks the warning --legacy-token prints on stderr
// before anything else, word for word.
func TestLegacyTokenWarns(t *testing.T) {
	out, errOut, code := run(t, "", "kubeconfig", "bob", "--legacy-token")
	want := "warning: a legacy token never expires and survives the person it is issued to: it keeps working after they leave, " +
		"until you run `bulkhead revoke` or delete its Secret; prefer a bound token (without --legacy-token)\n"
	if !strings.HasPrefix(errOut, want) || out != "" || code != ExitFailed {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant it to start with:\n%s", code, out, errOut, want)
	}
	if _, errOut, _ := run(t, "", "kubeconfig", "bob"); strings.Contains(errOut, "warning:") {
		t.Errorf("a bound token warns:\n%s", errOut)
	}
}

// insecureKubeconfig is an admin kubeconfig that skips TLS verification,
// for a server nobody listens on: reaching it would fail with exit 1.
func insecureKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin.kubeconfig")
	err := os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: https://127.0.0.1:1
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: admin-token
contexts:
- name: admin@lab
  context: {cluster: lab, user: admin}
current-context: admin@lab
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKubeconfigRefusesInsecureSource checks that an admin context that
// skips TLS verification is refused before the cluster is contacted, and
// accepted with --certificate-authority (then the cluster is contacted).
func TestKubeconfigRefusesInsecureSource(t *testing.T) {
	admin := insecureKubeconfig(t)
	out, errOut, code := run(t, "", "--kubeconfig", admin, "kubeconfig", "bob")
	want := "error: cluster lab in your kubeconfig skips TLS verification (insecure-skip-tls-verify), which a member's kubeconfig " +
		"never does: pass --certificate-authority FILE with the CA bundle of https://127.0.0.1:1\n"
	if code != ExitInvalid || errOut != want || out != "" {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and:\n%s", code, out, errOut, want)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("ca-pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = run(t, "", "--kubeconfig", admin, "kubeconfig", "bob", "--certificate-authority", ca)
	if code != ExitFailed || !strings.Contains(errOut, "127.0.0.1:1") || strings.Contains(errOut, "insecure") {
		t.Errorf("with --certificate-authority: exit %d, stderr:\n%s\nwant exit 1 for want of a cluster", code, errOut)
	}
}

// TestKubeconfigOutputPathRefusedMore adds a dangling link and a directory
// that cannot be written to TestKubeconfigOutputPathRefused's cases.
func TestKubeconfigOutputPathRefusedMore(t *testing.T) {
	dir := unprivileged(t)
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(ro, 0o700) })
	cases := []struct{ name, path, want string }{
		{"dangling link", dangling, "error: -o " + dangling + " is a symbolic link to " + filepath.Join(dir, "nowhere") +
			"; kubeconfigs are never written through a link or in its place; name the file itself, or remove the link\n"},
		{"unwritable directory", filepath.Join(ro, "bob.kubeconfig"), "error: -o " + filepath.Join(ro, "bob.kubeconfig") +
			" cannot be written: directory " + ro + " is not writable (permission denied); choose a directory you can write to\n"},
	}
	for _, tc := range cases {
		for _, extra := range [][]string{nil, {"--force"}, {"--legacy-token"}} {
			args := append([]string{"kubeconfig", "bob", "-o", tc.path}, extra...)
			out, errOut, code := run(t, "", args...)
			if code != ExitInvalid || !strings.HasSuffix(errOut, tc.want) || out != "" {
				t.Errorf("%s %v: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and %q", tc.name, extra, code, out, errOut, tc.want)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("something was written: %v", entries)
	}
	if entries, _ := os.ReadDir(ro); len(entries) != 0 {
		t.Errorf("something was written in %s: %v", ro, entries)
	}
}

func TestVerbosityRange(t *testing.T) {
	for _, v := range []string{"-1", "10"} {
		out, errOut, code := run(t, "", "-v", v, "version")
		if code != ExitInvalid || out != "" || errOut != "error: -v "+v+" is out of range: use 0 to 9\n" {
			t.Errorf("-v %s: exit %d, stdout %q, stderr %q", v, code, out, errOut)
		}
	}
}

// TestErrorsAreRedacted checks that an error quoting something token-like
// is printed without it: here a kubeconfig path made of a token.
func TestErrorsAreRedacted(t *testing.T) {
	tok := "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Ym9iOmJvYiJ9.c2lnbmF0dXJl"
	_, errOut, code := run(t, "", "--kubeconfig", "/nonexistent/"+tok, "kubeconfig", "bob")
	if code != ExitFailed || strings.Contains(errOut, tok[:12]) || !strings.Contains(errOut, "/nonexistent/<redacted>") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}
