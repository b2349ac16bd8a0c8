package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
