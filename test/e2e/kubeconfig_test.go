package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
)

// claims decodes a JWT's payload without verifying it: the test only reads
// what the API server put there.
func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token is not a JWT (%d parts)", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func tokenOf(t *testing.T, path string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil {
		t.Fatalf("%s has no current context", path)
	}
	return cfg.AuthInfos[ctx.AuthInfo].Token
}

func TestKubeconfigBoundToken(t *testing.T) {
	must(t, bulkhead(t, tenantsYAML("kc-bob", "kc-alice"), "apply", "-f", "-"), 0)
	path := filepath.Join(t.TempDir(), "bob.kubeconfig")
	r := must(t, bulkhead(t, "", "kubeconfig", "kc-bob", "--ttl", "2h", "-o", path), 0)

	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode %o, want 600", st.Mode().Perm())
	}
	token := tokenOf(t, path)
	if token == "" || strings.Contains(r.stderr, token) || strings.Contains(r.stdout, token) {
		t.Fatalf("token missing from the file or printed:\n%s", r)
	}
	c := claims(t, token)
	exp, ok := c["exp"].(float64)
	if !ok {
		t.Fatalf("bound token has no exp claim: %v", c)
	}
	if left := time.Until(time.Unix(int64(exp), 0)); left < 110*time.Minute || left > 2*time.Hour+time.Minute {
		t.Errorf("token expires in %s, want about 2h", left)
	}
	if c["sub"] != "system:serviceaccount:kc-bob:kc-bob-user" {
		t.Errorf("token subject %v", c["sub"])
	}

	// The researcher's own kubectl: works at home, forbidden next door.
	must(t, kubectl(t, "--kubeconfig", path, "get", "pods"), 0)
	r = must(t, kubectl(t, "--kubeconfig", path, "get", "pods", "-n", "kc-alice"), 1)
	if !strings.Contains(r.stderr, `User "system:serviceaccount:kc-bob:kc-bob-user" cannot list resource "pods" in API group "" in the namespace "kc-alice"`) {
		t.Errorf("kubectl in the other namespace:\n%s", r)
	}
	r = must(t, kubectl(t, "--kubeconfig", path, "auth", "can-i", "delete", "resourcequotas"), 1)
	if strings.TrimSpace(r.stdout) != "no" {
		t.Errorf("can-i delete resourcequotas: %q", r.stdout)
	}

	// No overwrite without --force; the file keeps its token.
	r = must(t, bulkhead(t, "", "kubeconfig", "kc-bob", "-o", path), 2)
	if !strings.Contains(r.stderr, "--force") || tokenOf(t, path) != token {
		t.Errorf("existing file not protected:\n%s", r)
	}
	must(t, bulkhead(t, "", "kubeconfig", "kc-bob", "-o", path, "--force"), 0)
	if tokenOf(t, path) == token {
		t.Errorf("--force did not write a new token")
	}

	// Standard output, when no file is given.
	r = must(t, bulkhead(t, "", "kubeconfig", "kc-alice"), 0)
	cfg, err := clientcmd.Load([]byte(r.stdout))
	if err != nil || cfg.Contexts[cfg.CurrentContext].Namespace != "kc-alice" {
		t.Errorf("stdout kubeconfig: %v %+v", err, cfg)
	}
}

func TestKubeconfigLegacyToken(t *testing.T) {
	must(t, bulkhead(t, tenantsYAML("kc-legacy"), "apply", "-f", "-"), 0)
	path := filepath.Join(t.TempDir(), "legacy.kubeconfig")
	r := must(t, bulkhead(t, "", "kubeconfig", "kc-legacy", "--legacy-token", "-o", path), 0)
	token := tokenOf(t, path)
	if strings.Contains(r.stderr, token) {
		t.Fatal("legacy token printed on stderr")
	}
	if _, ok := claims(t, token)["exp"]; ok {
		t.Errorf("legacy token has an exp claim; it should be the never-expiring kind")
	}
	s, err := e2e.client.CoreV1().Secrets("kc-legacy").Get(t.Context(), "kc-legacy-user-token", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Labels["app.kubernetes.io/managed-by"] != "bulkhead" || s.Type != "kubernetes.io/service-account-token" {
		t.Errorf("token secret labels %v type %s", s.Labels, s.Type)
	}
	must(t, kubectl(t, "--kubeconfig", path, "get", "pods"), 0)
	must(t, kubectl(t, "--kubeconfig", path, "get", "pods", "-n", "kube-system"), 1)
}

func TestKubeconfigErrors(t *testing.T) {
	r := must(t, bulkhead(t, "", "kubeconfig", "no-such-tenant"), 1)
	if !strings.Contains(r.stderr, `tenant "no-such-tenant" is not on this cluster`) {
		t.Errorf("unknown tenant:\n%s", r)
	}
	must(t, bulkhead(t, "", "kubeconfig"), 2)
	must(t, bulkhead(t, "", "kubeconfig", "x", "--ttl", "1m"), 2)
	must(t, bulkhead(t, tenantsYAML("kc-err"), "apply", "-f", "-"), 0)
	r = must(t, bulkhead(t, "", "kubeconfig", "kc-err", "--member", "nobody"), 2)
	if !strings.Contains(r.stderr, "kc-err-user") {
		t.Errorf("unknown member does not list the members:\n%s", r)
	}
}

// expiresOf reads the expiry that kubeconfig reports on stderr.
func expiresOf(t *testing.T, r result) time.Time {
	t.Helper()
	m := regexp.MustCompile(`with a token that expires (\S+)`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no expiry on stderr:\n%s", r)
	}
	exp, err := time.Parse(time.RFC3339, m[1])
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

// wantLifetime checks that a token issued just now expires after about ttl.
func wantLifetime(t *testing.T, expires time.Time, ttl time.Duration) {
	t.Helper()
	if left := time.Until(expires); left < ttl-2*time.Minute || left > ttl+time.Minute {
		t.Errorf("token expires in %s, want about %s", left, ttl)
	}
}

func TestKubeconfigMaxTokenTTL(t *testing.T) {
	must(t, bulkhead(t, tenantsYAML("ttlcap"), "apply", "-f", "-"), 0)
	r := must(t, bulkhead(t, "", "kubeconfig", "ttlcap", "--ttl", "100000h"), 2)
	if !strings.Contains(r.stderr, "error: --ttl 100000h is longer than tenant ttlcap's maximum token lifetime of 168h0m0s; "+
		"ask for a shorter --ttl, or raise spec.credentials.maxTokenTTL in the tenant or its defaults (at most 8760h)\n") || r.stdout != "" {
		t.Errorf("--ttl above the built-in cap:\n%s", r)
	}

	must(t, bulkhead(t, tenantsYAML("ttlcap")+"spec:\n  credentials:\n    maxTokenTTL: 720h\n", "apply", "-f", "-"), 0)
	ns, err := e2e.client.CoreV1().Namespaces().Get(t.Context(), "ttlcap", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ns.Annotations["bulkhead.dev/max-token-ttl"]; got != "720h0m0s" {
		t.Errorf("namespace annotation bulkhead.dev/max-token-ttl = %q, want 720h0m0s", got)
	}
	path := filepath.Join(t.TempDir(), "ttlcap.kubeconfig")
	r = must(t, bulkhead(t, "", "kubeconfig", "ttlcap", "--ttl", "700h", "-o", path), 0)
	expires := expiresOf(t, r)
	wantLifetime(t, expires, 700*time.Hour)
	if exp, _ := claims(t, tokenOf(t, path))["exp"].(float64); int64(exp) != expires.Unix() {
		t.Errorf("token's exp claim %v, stderr says %s", exp, expires)
	}
	r = must(t, bulkhead(t, "", "kubeconfig", "ttlcap", "--ttl", "721h"), 2)
	if !strings.Contains(r.stderr, "--ttl 721h is longer than tenant ttlcap's maximum token lifetime of 720h0m0s") {
		t.Errorf("--ttl above a raised cap:\n%s", r)
	}

	// A namespace applied by a bulkhead without caps has no annotation: the
	// built-in cap holds.
	patch := []byte(`{"metadata":{"annotations":{"bulkhead.dev/max-token-ttl":null}}}`)
	if _, err := e2e.client.CoreV1().Namespaces().Patch(t.Context(), "ttlcap", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	r = must(t, bulkhead(t, "", "kubeconfig", "ttlcap", "--ttl", "700h"), 2)
	if !strings.Contains(r.stderr, "maximum token lifetime of 168h0m0s") {
		t.Errorf("without the annotation:\n%s", r)
	}
	wantLifetime(t, expiresOf(t, must(t, bulkhead(t, "", "kubeconfig", "ttlcap", "--ttl", "168h"), 0)), 168*time.Hour)
}

// TestKubeconfigDefaultsLowerTheCap checks a cap set by TenantDefaults, and
// that the default --ttl is shortened to a cap below it.
func TestKubeconfigDefaultsLowerTheCap(t *testing.T) {
	spec := "apiVersion: bulkhead.dev/v1alpha1\nkind: TenantDefaults\nmetadata: {name: short}\nspec:\n  credentials:\n    maxTokenTTL: 2h\n" +
		"---\napiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: ttldef\nspec:\n  defaults: short\n"
	must(t, bulkhead(t, spec, "apply", "-f", "-"), 0)
	r := must(t, bulkhead(t, "", "kubeconfig", "ttldef"), 0)
	if !strings.Contains(r.stderr, "tenant ttldef's tokens live at most 2h0m0s: issuing one for that long\n") {
		t.Errorf("default --ttl above the cap:\n%s", r)
	}
	wantLifetime(t, expiresOf(t, r), 2*time.Hour)
	must(t, bulkhead(t, "", "kubeconfig", "ttldef", "--ttl", "3h"), 2)
}

func TestKubeconfigOutputPath(t *testing.T) {
	must(t, bulkhead(t, tenantsYAML("ttlout"), "apply", "-f", "-"), 0)
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{sub, "error: -o " + sub + " is a directory; name a file inside it\n"},
		{link, "error: -o " + link + " is a symbolic link to " + target + "; kubeconfigs are never written through a link"},
		{filepath.Join(dir, "missing", "x.kubeconfig"), "cannot be created: directory " + filepath.Join(dir, "missing") + " does not exist"},
	} {
		for _, force := range []bool{false, true} {
			args := []string{"kubeconfig", "ttlout", "-o", tc.path}
			if force {
				args = append(args, "--force")
			}
			if r := must(t, bulkhead(t, "", args...), 2); !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Errorf("-o %s (--force=%t):\n%s", tc.path, force, r)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	inSub, _ := os.ReadDir(sub)
	if b, _ := os.ReadFile(target); len(entries) != 3 || len(inSub) != 0 || string(b) != "keep" {
		t.Errorf("something was written: %v, %v, target %q", entries, inSub, b)
	}
}
