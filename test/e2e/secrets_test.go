package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
)

// transcript is everything a run printed, stdout and stderr, with the
// arguments of each command: what a careless terminal, a CI log or a
// support ticket would hold.
type transcript struct{ b strings.Builder }

func (tr *transcript) add(name string, args []string, r result) {
	fmt.Fprintf(&tr.b, "$ %s %s\n%s\n%s\n", name, strings.Join(args, " "), r.stdout, r.stderr)
}

func (tr *transcript) addText(what, text string) { fmt.Fprintf(&tr.b, "# %s\n%s\n", what, text) }

// anyFindings is v9's code for audit, which exits 0 or 1 by what it found.
const anyFindings = -1

// v9 runs bulkhead at -v 9, records its output and checks its exit code.
func (tr *transcript) v9(t *testing.T, code int, stdin string, args ...string) result {
	t.Helper()
	all := append([]string{"-v", "9"}, args...)
	r := command(t, stdin, e2e.verbose, all...)
	tr.add("bulkhead", all, r)
	// -v 9 works on every verb: each that talks to the cluster logs its
	// requests as curl lines.
	if args[0] != "render" && !strings.Contains(r.stderr, "curlCommand=") {
		t.Errorf("bulkhead %s at -v 9 logs no request:\n%s", strings.Join(args, " "), r)
	}
	if code == anyFindings && r.code <= 1 {
		return r
	}
	return must(t, r, code)
}

var (
	// jwtLike and encodedJWTLike are a token or the start of one, plain
	// or in base64 as a Secret's data holds it.
	jwtLike        = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}`)
	encodedJWTLike = regexp.MustCompile(`ZXlK[A-Za-z0-9+/]{8,}`)
)

// hexColumn is the text column of a hex dump line, as client-go logs a
// protobuf body: 16 bytes a line, so a token is split across lines.
var hexColumn = regexp.MustCompile(`(?m)^\s*[0-9a-f]{8}  (?:[0-9a-f]{2} {1,2}| {3,4}){16} ?\|(.{1,16})\|$`)

// dehexed joins the text columns of every hex dump in text.
func dehexed(text string) string {
	var b strings.Builder
	for _, m := range hexColumn.FindAllStringSubmatch(text, -1) {
		b.WriteString(m[1])
	}
	return b.String()
}

// leaks lists where text shows one of tokens (whole, in base64, or its
// payload or signature alone), also across the lines of a hex dump, or
// anything that looks like a token.
func leaks(text string, tokens []string) []string {
	var out []string
	text += "\n" + dehexed(text)
	for i, tok := range tokens {
		parts := strings.Split(tok, ".")
		needles := map[string]string{"token": tok, "base64 token": base64.StdEncoding.EncodeToString([]byte(tok))}
		if len(parts) == 3 {
			needles["payload"], needles["signature"] = parts[1], parts[2]
		}
		for what, n := range needles {
			if c := strings.Count(text, n); c > 0 {
				out = append(out, fmt.Sprintf("token %d's %s, %d times", i, what, c))
			}
		}
	}
	for _, re := range []*regexp.Regexp{jwtLike, encodedJWTLike} {
		for _, m := range re.FindAllStringIndex(text, 3) {
			out = append(out, fmt.Sprintf("a token-like string: ...%s...", text[max(0, m[0]-80):min(len(text), m[0]+40)]))
		}
	}
	return out
}

// tokenSecrets returns the token of every ServiceAccount token Secret on
// the cluster now.
func tokenSecrets(t *testing.T) []string {
	t.Helper()
	l, err := e2e.client.CoreV1().Secrets("").List(t.Context(), metav1.ListOptions{FieldSelector: "type=" + string(corev1.SecretTypeServiceAccountToken)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range l.Items {
		if tok := s.Data[corev1.ServiceAccountTokenKey]; len(tok) > 0 {
			out = append(out, string(tok))
		}
	}
	return out
}

// installCRDs installs the Tenant CRDs for the test's controller and
// removes them (and any Tenant left) when the test ends, so the other
// tests of the package see the cluster as before.
func installCRDs(t *testing.T) {
	t.Helper()
	must(t, kubectl(t, "apply", "--server-side", "-f", "config/crd/bases"), 0)
	must(t, kubectl(t, "wait", "--for", "condition=Established", "--timeout", "60s", "crd/tenants.bulkhead.dev", "crd/tenantdefaults.bulkhead.dev"), 0)
	t.Cleanup(func() {
		out, _ := cleanupKubectl("get", "tenants", "-o", "name")
		for _, name := range strings.Fields(out) {
			_, _ = cleanupKubectl("patch", name, "--type", "merge", "-p", `{"metadata":{"finalizers":null}}`)
		}
		if out, err := cleanupKubectl("delete", "--wait", "--timeout", "60s", "-f", "config/crd/bases"); err != nil {
			t.Errorf("remove the CRDs: %v\n%s", err, out)
		}
	})
}

// cleanupKubectl runs kubectl in a cleanup, when the test's context is
// already cancelled.
func cleanupKubectl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e2e.kubeconfig)
	cmd.Dir = e2e.root
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// controllerProc is `bulkhead -v 9 controller` running beside the cluster.
type controllerProc struct {
	cmd    *exec.Cmd
	log    string
	exited chan error
}

func startController(t *testing.T) *controllerProc {
	t.Helper()
	p := &controllerProc{log: filepath.Join(t.TempDir(), "controller.log"), exited: make(chan error, 1)}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	// No metrics or probe ports: nothing to collide with on a shared machine.
	p.cmd = exec.Command(e2e.verbose, "-v", "9", "controller", "--kubeconfig", e2e.kubeconfig,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--audit-debounce", "1s")
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait(); f.Close() }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the controller with SIGTERM and returns its log.
func (p *controllerProc) stop(t *testing.T) string {
	t.Helper()
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			t.Errorf("the controller did not exit within 30s of SIGTERM; killing it")
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	b, err := os.ReadFile(p.log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cmdline is the controller's argument vector as the system shows it to
// every user (ps, /proc/PID/cmdline).
func (p *controllerProc) cmdline(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\x00", " ")
}

// TestNoTokenInAnyOutput runs every verb at -v 9 and the controller at
// -v 9 through a whole life cycle (apply, plan, dry run, bound and legacy
// kubeconfigs, verify, audit, who-can, can, revoke; a Tenant reconciled,
// verified and offboarded by the controller), collects all they printed,
// the controller's Events and status and the processes' arguments, and
// searches it for every token issued in the run and for anything that
// looks like a token: there must be none. The kubeconfig files written on
// purpose are the only place the tokens go. A control run prints a
// kubeconfig on stdout, where the same search must find its token.
func TestNoTokenInAnyOutput(t *testing.T) {
	var tr transcript
	dir := t.TempDir()
	spec := filepath.Join(dir, "tenants.yaml")
	if err := os.WriteFile(spec, []byte(tenantsYAML("sec-bob", "sec-alice")), 0o600); err != nil {
		t.Fatal(err)
	}
	var tokens []string

	tr.v9(t, 0, "", "apply", "-f", spec)
	tr.v9(t, 0, "", "plan", "-f", spec)
	tr.v9(t, 0, "", "apply", "-f", spec, "--dry-run")
	tr.v9(t, 0, "", "render", "-f", spec)

	bob := filepath.Join(dir, "bob.kubeconfig")
	r := tr.v9(t, 0, "", "kubeconfig", "sec-bob", "--ttl", "1h", "-o", bob)
	tokens = append(tokens, tokenOf(t, bob))
	if !strings.Contains(r.stderr, "/api/v1/namespaces/sec-bob/serviceaccounts/sec-bob-user/token") {
		t.Errorf("-v 9 does not show the TokenRequest:\n%s", r.stderr)
	}
	alice := filepath.Join(dir, "alice.kubeconfig")
	r = tr.v9(t, 0, "", "kubeconfig", "sec-alice", "--legacy-token", "-o", alice)
	tokens = append(tokens, tokenOf(t, alice))
	if !strings.HasPrefix(r.stderr, "warning: a legacy token never expires and survives the person it is issued to") {
		t.Errorf("--legacy-token does not start with its warning:\n%s", r.stderr)
	}
	// Again, with the Secret already filled: its apply answers with the token.
	r = tr.v9(t, 0, "", "kubeconfig", "sec-alice", "--legacy-token", "-o", alice, "--force")
	tokens = append(tokens, tokenOf(t, alice))
	must(t, kubectl(t, "--kubeconfig", bob, "get", "pods"), 0)
	must(t, kubectl(t, "--kubeconfig", alice, "get", "pods"), 0)

	installCRDs(t)
	ctl := startController(t)
	tenant := filepath.Join(dir, "tenant.yaml")
	if err := os.WriteFile(tenant, []byte(tenantsYAML("sec-ctl")+"spec:\n  members:\n  - name: worker\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, kubectl(t, "apply", "-f", tenant), 0)
	must(t, kubectl(t, "wait", "--for", "condition=Verified=True", "--timeout", "120s", "tenant/sec-ctl"), 0)
	tokens = append(tokens, tokenSecrets(t)...) // every legacy token on the cluster, other tests' too

	r = tr.v9(t, 0, "", "verify", "-f", spec)
	if !strings.Contains(r.stderr, "Authorization: Bearer <masked>") {
		t.Errorf("verify's requests with the members' tokens do not show a masked Authorization header at -v 9")
	}
	tr.v9(t, 0, "", "apply", "-f", spec) // the legacy token Secret is bulkhead's now
	tr.v9(t, anyFindings, "", "audit")
	tr.v9(t, anyFindings, "", "audit", "-o", "json")
	tr.v9(t, 0, "", "who-can", "get", "secrets", "-n", "sec-alice")
	tr.v9(t, 0, "", "can", "system:serviceaccount:sec-alice:sec-alice-user", "-n", "sec-alice")
	tr.v9(t, 0, "", "revoke", "sec-alice")
	tr.v9(t, 0, "", "revoke", "sec-bob")

	for _, what := range [][]string{{"get", "tenants", "-o", "yaml"}, {"get", "events", "-A", "-o", "yaml"}} {
		r := must(t, kubectl(t, what...), 0)
		tr.addText("kubectl "+strings.Join(what, " "), r.stdout)
	}
	tr.addText("controller command line", ctl.cmdline(t))
	must(t, kubectl(t, "delete", "--wait", "--timeout", "120s", "tenant/sec-ctl"), 0) // offboarding revokes
	log := ctl.stop(t)
	tr.addText("controller log", log)
	for _, want := range []string{"round_trippers.go", "curlCommand=", "Response Body", "Request Body", "sec-ctl"} {
		if !strings.Contains(log, want) {
			t.Errorf("the controller's -v 9 log lacks %q", want)
		}
	}

	out := tr.b.String()
	for _, want := range []string{"curlCommand=", `"Response Body"`, "/serviceaccounts/sec-bob-user/token", "/secrets"} {
		if !strings.Contains(out, want) {
			t.Errorf("the -v 9 output lacks %q: it does not log what it should, so its lack of tokens proves little", want)
		}
	}
	for _, l := range leaks(out, tokens) {
		t.Errorf("found in the output: %s", l)
	}
	t.Logf("searched %d bytes of output for %d tokens: %d hits; the filter redacted %d strings and left out %d bodies",
		len(out), len(tokens), len(leaks(out, tokens)), strings.Count(out, "<redacted>"), strings.Count(out, "<not logged:"))

	// The search can fail: a kubeconfig on stdout shows its token, and so
	// does any of the run's tokens fed back into the output.
	r = command(t, "", e2e.verbose, "-v", "9", "kubeconfig", "sec-bob")
	must(t, r, 0)
	cfg, err := clientcmd.Load([]byte(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	printed := cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo].Token
	if len(leaks(r.stdout, []string{printed})) == 0 {
		t.Errorf("the search does not find the token of a kubeconfig printed on stdout")
	}
	if l := leaks(r.stderr, []string{printed}); len(l) > 0 {
		t.Errorf("kubeconfig's -v 9 stderr shows its token: %v", l)
	}
	for i, tok := range tokens {
		if len(leaks(out+tok, tokens)) == 0 || len(leaks(out+base64.StdEncoding.EncodeToString([]byte(tok)), nil)) == 0 {
			t.Errorf("the search does not find token %d fed into the output", i)
		}
	}
}

// TestKubeconfigTargetsRefusedBeforeAnyRequest checks that a -o that cannot
// take a kubeconfig (a directory, a link, a dangling link) and an admin
// context that skips TLS verification are refused with exit 2 before any
// request, so no token is issued and thrown away: at -v 6, which logs every
// request, nothing is logged. The same command with a good target logs
// its TokenRequest.
func TestKubeconfigTargetsRefusedBeforeAnyRequest(t *testing.T) {
	must(t, bulkhead(t, tenantsYAML("sec-target"), "apply", "-f", "-"), 0)
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link, dangling, sub := filepath.Join(dir, "link"), filepath.Join(dir, "dangling"), filepath.Join(dir, "sub")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	insecure, ca := insecureAdmin(t, dir)
	secretsBefore := len(tokenSecrets(t))

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"directory", []string{"-o", sub}, "error: -o " + sub + " is a directory; name a file inside it\n"},
		{"symbolic link", []string{"-o", link, "--force"}, "error: -o " + link + " is a symbolic link to " + target +
			"; kubeconfigs are never written through a link or in its place; name the file itself, or remove the link\n"},
		{"dangling link", []string{"-o", dangling, "--force"}, "error: -o " + dangling + " is a symbolic link to " + filepath.Join(dir, "nowhere") +
			"; kubeconfigs are never written through a link or in its place; name the file itself, or remove the link\n"},
		{"legacy token to a link", []string{"-o", link, "--legacy-token"}, "error: -o " + link + " is a symbolic link to " + target},
		{"insecure admin context", []string{"--kubeconfig", insecure, "-o", filepath.Join(dir, "new.kubeconfig")},
			"error: cluster bulkhead-local in your kubeconfig skips TLS verification (insecure-skip-tls-verify), which a member's kubeconfig never does: " +
				"pass --certificate-authority FILE with the CA bundle of https://"},
	}
	for _, tc := range cases {
		r := bulkhead(t, "", append([]string{"-v", "6", "kubeconfig", "sec-target"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%s: want exit 2 and %q, got %s", tc.name, tc.want, r)
		}
		if strings.Contains(r.stderr, "round_trippers.go") {
			t.Errorf("%s: requests were made before the refusal:\n%s", tc.name, r.stderr)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target was written: %q", b)
	}
	if entries, _ := os.ReadDir(sub); len(entries) != 0 {
		t.Errorf("a file was written in the directory: %v", entries)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); err == nil {
		t.Errorf("a kubeconfig was written through the dangling link")
	}
	if n := len(tokenSecrets(t)); n != secretsBefore {
		t.Errorf("%d token Secrets now, %d before: a legacy token was issued for a refused target", n, secretsBefore)
	}

	// The witness works: -v 6 logs the TokenRequest of a good target, and
	// --certificate-authority makes the insecure context usable, verified.
	good := filepath.Join(dir, "good.kubeconfig")
	r := must(t, bulkhead(t, "", "-v", "6", "kubeconfig", "sec-target", "-o", good, "--kubeconfig", insecure, "--certificate-authority", ca), 0)
	if !regexp.MustCompile(`"Response" verb="POST" url="https://[^"]+/api/v1/namespaces/sec-target/serviceaccounts/sec-target-user/token" status="201 Created"`).MatchString(r.stderr) {
		t.Errorf("-v 6 does not log the TokenRequest:\n%s", r.stderr)
	}
	st, err := os.Lstat(good)
	if err != nil || st.Mode() != 0o600 {
		t.Fatalf("kubeconfig mode %v, %v; want a regular file with mode 0600", st.Mode(), err)
	}
	cfg, err := clientcmd.LoadFromFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range cfg.Clusters {
		if c.InsecureSkipTLSVerify || len(c.CertificateAuthorityData) == 0 {
			t.Errorf("cluster %s of the written kubeconfig: insecure %t, %d bytes of CA", name, c.InsecureSkipTLSVerify, len(c.CertificateAuthorityData))
		}
	}
	must(t, kubectl(t, "--kubeconfig", good, "get", "pods"), 0)
}

// insecureAdmin writes a copy of the admin kubeconfig that skips TLS
// verification and has no CA, and the CA to a file of its own.
func insecureAdmin(t *testing.T, dir string) (kubeconfig, ca string) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(e2e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ca = filepath.Join(dir, "ca.pem")
	for _, c := range cfg.Clusters {
		if err := os.WriteFile(ca, c.CertificateAuthorityData, 0o600); err != nil {
			t.Fatal(err)
		}
		c.CertificateAuthorityData, c.CertificateAuthority, c.InsecureSkipTLSVerify = nil, "", true
	}
	kubeconfig = filepath.Join(dir, "insecure-admin.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	return kubeconfig, ca
}
