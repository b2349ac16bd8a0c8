package kubeconfig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// TestWriteFileRefusesPaths covers the paths WriteFile must not write to,
// with or without overwrite: each is a *PathError naming the path and what
// to do, and nothing is written anywhere.
func TestWriteFileRefusesPaths(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		want       []string
	}{
		{"directory", sub, []string{sub + " is a directory; name a file inside it"}},
		{"directory with a slash", sub + "/", []string{sub + "/ is a directory"}},
		{"symbolic link", link, []string{link + " is a symbolic link to " + target, "never written through a link", "name the file itself, or remove the link"}},
		{"dangling link", dangling, []string{dangling + " is a symbolic link to ", "nowhere"}},
		{"missing directory", filepath.Join(dir, "missing", "bob.kubeconfig"),
			[]string{"bob.kubeconfig cannot be created: directory " + filepath.Join(dir, "missing") + " does not exist; create the directory first"}},
		{"file as directory", filepath.Join(target, "bob.kubeconfig"), []string{"cannot be created: " + target + " is not a directory"}},
	}
	for _, tc := range cases {
		for _, overwrite := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/overwrite=%t", tc.name, overwrite), func(t *testing.T) {
				for fn, err := range map[string]error{
					"CheckPath": CheckPath(tc.path, overwrite),
					"WriteFile": WriteFile(ForToken(testCluster(), "u", "bob", "secret-token"), tc.path, overwrite),
				} {
					var pe *PathError
					if !errors.As(err, &pe) {
						t.Fatalf("%s: err = %v (%T), want *PathError", fn, err, err)
					}
					if errors.Is(err, ErrExists) {
						t.Errorf("%s: %v is ErrExists", fn, err)
					}
					for _, w := range tc.want {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("%s: %q lacks %q", fn, err, w)
						}
					}
				}
				assertNothingWritten(t, dir, target)
			})
		}
	}
}

// assertNothingWritten checks dir holds only the fixtures and target its
// original content.
func assertNothingWritten(t *testing.T, dir, target string) {
	t.Helper()
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "dangling link sub target" {
		t.Errorf("directory holds %s", got)
	}
	if sub, _ := os.ReadDir(filepath.Join(dir, "sub")); len(sub) != 0 {
		t.Errorf("wrote into the directory: %v", sub)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target was written: %q", b)
	}
}

func TestCheckPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bob.kubeconfig")
	if err := CheckPath(path, false); err != nil {
		t.Errorf("a new file: %v", err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := CheckPath(path, false)
	if !errors.Is(err, ErrExists) || err.Error() != path+" exists; remove it or choose another path" {
		t.Errorf("an existing file: %v", err)
	}
	if err := CheckPath(path, true); err != nil {
		t.Errorf("an existing file with overwrite: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("CheckPath left files behind: %v", entries)
	}
}

// TestNeverInsecure checks that no kubeconfig written skips TLS
// verification: a cluster the admin's kubeconfig does not verify is refused
// unless a CA is known, ForToken never sets the flag, and Encode refuses a
// config that has it.
func TestNeverInsecure(t *testing.T) {
	insecure := Cluster{Name: "lab", Server: "https://10.0.0.1:6443", Insecure: true}
	if err := insecure.Check(); !errors.Is(err, ErrInsecure) || !strings.Contains(err.Error(), "cluster lab") {
		t.Errorf("Check of an insecure cluster without CA = %v, want ErrInsecure naming it", err)
	}
	withCA := insecure
	withCA.CAData = []byte("ca-pem")
	if err := withCA.Check(); err != nil {
		t.Errorf("Check with a CA given = %v", err)
	}
	if err := testCluster().Check(); err != nil {
		t.Errorf("Check of a verified cluster = %v", err)
	}
	for _, cl := range []Cluster{insecure, withCA} {
		cfg := ForToken(cl, "u", "bob", "t")
		if cfg.Clusters["lab"].InsecureSkipTLSVerify {
			t.Errorf("ForToken(%+v) skips TLS verification", cl)
		}
		data, err := Encode(cfg)
		if err != nil || strings.Contains(string(data), "insecure") {
			t.Errorf("Encode = %v\n%s", err, data)
		}
	}
	cfg := ForToken(testCluster(), "u", "bob", "t")
	cfg.Clusters["lab"].InsecureSkipTLSVerify = true
	if _, err := Encode(cfg); !errors.Is(err, ErrInsecure) {
		t.Errorf("Encode of an insecure config = %v, want ErrInsecure", err)
	}
	path := filepath.Join(t.TempDir(), "bob.kubeconfig")
	if err := WriteFile(cfg, path, false); !errors.Is(err, ErrInsecure) {
		t.Errorf("WriteFile of an insecure config = %v, want ErrInsecure", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteFile wrote an insecure config: %v", err)
	}
}
