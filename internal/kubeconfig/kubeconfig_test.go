package kubeconfig

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func testCluster() Cluster {
	return Cluster{Name: "lab", Server: "https://127.0.0.1:6443", CAData: []byte("ca-pem")}
}

func TestForTokenRoundTrips(t *testing.T) {
	cfg := ForToken(testCluster(), "bob-user@bob", "bob", "secret-token")
	data, err := Encode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := clientcmd.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	ctx := back.Contexts[back.CurrentContext]
	if ctx == nil || ctx.Namespace != "bob" || ctx.Cluster != "lab" || ctx.AuthInfo != "bob-user@bob" {
		t.Fatalf("current context %q = %+v, want namespace bob, cluster lab, user bob-user@bob", back.CurrentContext, ctx)
	}
	if got := back.AuthInfos["bob-user@bob"].Token; got != "secret-token" {
		t.Errorf("token = %q", got)
	}
	if c := back.Clusters["lab"]; c.Server != "https://127.0.0.1:6443" || string(c.CertificateAuthorityData) != "ca-pem" || c.InsecureSkipTLSVerify {
		t.Errorf("cluster = %+v", c)
	}
}

func TestWriteFileModeAndForce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bob.kubeconfig")
	if err := WriteFile(ForToken(testCluster(), "u", "bob", "one"), path, false); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %o, want 600", st.Mode().Perm())
	}
	err = WriteFile(ForToken(testCluster(), "u", "bob", "two"), path, false)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second write without force: err = %v, want ErrExists", err)
	}
	if cfg, _ := clientcmd.LoadFromFile(path); cfg.AuthInfos["u"].Token != "one" {
		t.Errorf("file was overwritten without --force")
	}
	if err := WriteFile(ForToken(testCluster(), "u", "bob", "two"), path, true); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := clientcmd.LoadFromFile(path); cfg.AuthInfos["u"].Token != "two" {
		t.Errorf("--force did not overwrite")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("left temporary files behind: %v", entries)
	}
}
