package credentials

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// fakeToken looks like a ServiceAccount token: three base64url parts, the
// first two JSON objects.
func fakeToken(sub string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","kid":"test"}`)) + "." +
		enc([]byte(`{"sub":"`+sub+`","iss":"https://kubernetes.default.svc"}`)) + "." +
		enc([]byte("signature-bytes-that-are-long-enough"))
}

func TestRedact(t *testing.T) {
	tok := fakeToken("system:serviceaccount:bob:bob-user")
	std := base64.StdEncoding.EncodeToString([]byte(tok))
	cases := []struct{ in, want string }{
		{"token " + tok + " end", "token <redacted> end"},
		{`{"token":"` + tok + `"}`, `{"token":"<redacted>"}`},
		{"truncated " + tok[:30], "truncated <redacted>"},
		{`"data":{"token":"` + std + `"}`, `"data":{"token":"<redacted>"}`},
		{"Bearer <masked>", "Bearer <masked>"},
		{"no secrets here: eyJ short", "no secrets here: eyJ short"},
	}
	for _, c := range cases {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLogFilter(t *testing.T) {
	const head = `I1202 06:30:00.000000    1 request.go:1212] "Response Body" body=`
	cases := []struct{ name, in, want string }{
		{"secret list", head + `"{\"kind\":\"SecretList\",\"items\":[{\"data\":{\"namespace\":\"Ym9i\"}}]}"` + "\n",
			head + `"<not logged: it holds credentials>"` + "\n"},
		{"token request", head + `"{\"kind\":\"TokenRequest\",\"status\":{\"token\":\"x\"}}"` + "\n",
			head + `"<not logged: it holds credentials>"` + "\n"},
		{"hex dump", head + "<\n\t00000000  6b 38 73 00 0a 0c 0a 02  76 31 12 06 53 65 63 72  |k8s.....v1..Secr|\n >\n",
			head + `"<not logged: protobuf>"` + "\n"},
		{"namespace", head + `"{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"bob\"}}"` + "\n",
			head + `"{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"bob\"}}"` + "\n"},
		{"any line with a token", `I1202 controller.go:1] "reconciled" note="` + fakeToken("x") + `"` + "\n",
			`I1202 controller.go:1] "reconciled" note="<redacted>"` + "\n"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		n, err := LogFilter(&out).Write([]byte(c.in))
		if err != nil || n != len(c.in) {
			t.Errorf("%s: Write = %d, %v", c.name, n, err)
		}
		if out.String() != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, out.String(), c.want)
		}
	}
}

// verbose sets klog's process-wide verbosity to v with its output in a
// buffer, for one test; client-go's debugging round tripper is added to
// clients created afterwards.
func verbose(t *testing.T, v int) *syncBuffer {
	t.Helper()
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for k, val := range map[string]string{"logtostderr": "false", "alsologtostderr": "false",
		"stderrthreshold": "FATAL", "one_output": "true", "v": fmt.Sprint(v)} {
		if err := fs.Set(k, val); err != nil {
			t.Fatal(err)
		}
	}
	buf := &syncBuffer{}
	klog.SetOutput(buf)
	t.Cleanup(func() {
		_ = fs.Set("v", "0")
		klog.SetOutput(io.Discard)
	})
	return buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeAPI serves the few requests credentials makes, with tok as the token
// of every TokenRequest and token Secret.
func fakeAPI(t *testing.T, tok string) kubernetes.Interface {
	t.Helper()
	secret := corev1.Secret{
		TypeMeta:   metav1.TypeMeta{Kind: "Secret", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "bob-user-token", Namespace: "bob", Annotations: map[string]string{corev1.ServiceAccountNameKey: "bob-user"}},
		Type:       corev1.SecretTypeServiceAccountToken,
		Data:       map[string][]byte{corev1.ServiceAccountTokenKey: []byte(tok)},
	}
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("POST /api/v1/namespaces/bob/serviceaccounts/bob-user/token", func(w http.ResponseWriter, _ *http.Request) {
		write(w, authenticationv1.TokenRequest{TypeMeta: metav1.TypeMeta{Kind: "TokenRequest", APIVersion: "authentication.k8s.io/v1"},
			Status: authenticationv1.TokenRequestStatus{Token: tok, ExpirationTimestamp: metav1.NewTime(time.Now().Add(time.Hour))}})
	})
	sa := corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{Kind: "ServiceAccount", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "bob-user", Namespace: "bob"}}
	mux.HandleFunc("GET /api/v1/namespaces/bob/serviceaccounts/bob-user", func(w http.ResponseWriter, _ *http.Request) { write(w, sa) })
	mux.HandleFunc("PATCH /api/v1/namespaces/bob/serviceaccounts/bob-user", func(w http.ResponseWriter, _ *http.Request) { write(w, sa) })
	mux.HandleFunc("DELETE /api/v1/namespaces/bob/serviceaccounts/bob-user", func(w http.ResponseWriter, _ *http.Request) {
		write(w, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess})
	})
	mux.HandleFunc("PATCH /api/v1/namespaces/bob/secrets/bob-user-token", func(w http.ResponseWriter, _ *http.Request) { write(w, secret) })
	mux.HandleFunc("GET /api/v1/namespaces/bob/secrets/bob-user-token", func(w http.ResponseWriter, _ *http.Request) { write(w, secret) })
	mux.HandleFunc("DELETE /api/v1/namespaces/bob/secrets/bob-user-token", func(w http.ResponseWriter, _ *http.Request) { write(w, secret) })
	mux.HandleFunc("GET /api/v1/namespaces/bob/secrets", func(w http.ResponseWriter, _ *http.Request) {
		write(w, corev1.SecretList{TypeMeta: metav1.TypeMeta{Kind: "SecretList", APIVersion: "v1"}, Items: []corev1.Secret{secret}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, BearerToken: "admin-token-" + tok[:4]})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTokensAreNotLoggedAtV9 runs every call of the package at -v 9, with
// klog's output unfiltered: the requests are logged (URL, status), their
// bodies are not, and no token is. The same request made without the
// package's care logs the token, so the check can fail.
func TestTokensAreNotLoggedAtV9(t *testing.T) {
	log := verbose(t, 9)
	tok := fakeToken("system:serviceaccount:bob:bob-user")
	c := fakeAPI(t, tok)
	ctx := context.Background()

	got, err := Request(ctx, c.CoreV1(), "bob", "bob-user", time.Hour)
	if err != nil || got.Value != tok {
		t.Fatalf("Request = %q, %v", got.Value, err)
	}
	if got, err = Legacy(ctx, c.CoreV1(), "bob", "bob", "bob-user", time.Second); err != nil || got.Value != tok {
		t.Fatalf("Legacy = %q, %v", got.Value, err)
	}
	if _, err := Revoke(ctx, c.CoreV1(), "bob", "bob-user", nil, true); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	for _, want := range []string{
		`"POST" url="` /* the request itself is visible */, "/api/v1/namespaces/bob/serviceaccounts/bob-user/token",
		"/api/v1/namespaces/bob/secrets/bob-user-token", "/api/v1/namespaces/bob/secrets?fieldSelector=",
		"Authorization: Bearer <masked>", `status="200 OK"`,
		// Calls that carry no token still log their bodies: the recreated
		// ServiceAccount's apply.
		`"Request Body" body=`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the -v 9 log lacks %q:\n%s", want, out)
		}
	}
	for _, leak := range []string{tok, base64.StdEncoding.EncodeToString([]byte(tok)), tok[:20], `"kind":"TokenRequest"`, `"kind":"SecretList"`} {
		if strings.Contains(out, leak) {
			t.Errorf("the -v 9 log shows %q:\n%s", leak, out)
		}
	}

	// The control: without quiet, client-go logs the response body and
	// with it the token.
	if _, err := c.CoreV1().ServiceAccounts("bob").CreateToken(ctx, "bob-user", &authenticationv1.TokenRequest{}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), tok) {
		t.Fatalf("a plain TokenRequest at -v 9 did not log its token: the check above cannot fail\n%s", log.String())
	}
	// And LogFilter keeps it out even then.
	var filtered bytes.Buffer
	if _, err := io.Copy(LogFilter(&filtered), strings.NewReader(log.String())); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(filtered.String(), tok) || strings.Contains(filtered.String(), tok[:20]) {
		t.Errorf("LogFilter let the token through:\n%s", filtered.String())
	}
}
