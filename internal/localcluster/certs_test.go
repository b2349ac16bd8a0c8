package localcluster

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPKI(t *testing.T) {
	p, err := newPKI(net.ParseIP(serviceIP))
	if err != nil {
		t.Fatal(err)
	}
	serverRoots, clientRoots := x509.NewCertPool(), x509.NewCertPool()
	serverRoots.AddCert(p.serverCA.cert)
	clientRoots.AddCert(p.clientCA.cert)

	for _, name := range []string{"127.0.0.1", "localhost", "10.0.0.1", "kubernetes", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"} {
		if _, err := p.serving.cert.Verify(x509.VerifyOptions{
			DNSName:   name,
			Roots:     serverRoots,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}); err != nil {
			t.Errorf("serving cert does not verify for %q: %v", name, err)
		}
	}
	if _, err := p.serving.cert.Verify(x509.VerifyOptions{Roots: clientRoots}); err == nil {
		t.Error("serving cert verifies against the client CA; the CAs must be separate")
	}

	for _, c := range []struct {
		kp *keyPair
		cn string
	}{{p.admin, "bulkhead-admin"}, {p.kcm, "system:kube-controller-manager"}} {
		if _, err := c.kp.cert.Verify(x509.VerifyOptions{
			Roots:     clientRoots,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}); err != nil {
			t.Errorf("client cert %s does not verify against the client CA: %v", c.cn, err)
		}
		if got := c.kp.cert.Subject.CommonName; got != c.cn {
			t.Errorf("client cert CN = %q, want %q", got, c.cn)
		}
		if !slices.Equal(c.kp.cert.Subject.Organization, []string{"system:masters"}) {
			t.Errorf("client cert %s O = %v, want [system:masters]", c.cn, c.kp.cert.Subject.Organization)
		}
	}

	dir := t.TempDir()
	paths, err := p.write(dir)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(paths.saKey)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		t.Fatal("sa.key is not PEM")
	}
	saKey, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("sa.key is not an RSA key: %v", err)
	}
	pubPEM, err := os.ReadFile(paths.saPub)
	if err != nil {
		t.Fatal(err)
	}
	block, _ = pem.Decode(pubPEM)
	if block == nil {
		t.Fatal("sa.pub is not PEM")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatalf("parse sa.pub: %v", err)
	}
	if !saKey.PublicKey.Equal(pub) {
		t.Error("sa.pub does not match sa.key")
	}
	for _, f := range []string{paths.servingKey, paths.saKey} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", filepath.Base(f), fi.Mode().Perm())
		}
	}
}
