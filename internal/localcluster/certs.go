package localcluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// certValidity is long enough for a detached demo cluster left running for
// weeks; the CA dies with the data dir anyway.
const certValidity = 365 * 24 * time.Hour

// keyPair is a certificate with its private key, both parsed and PEM-encoded.
type keyPair struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// pkiBundle is everything the control plane needs to authenticate itself and
// its clients. Serving and client certificates come from separate CAs so a
// client certificate can never be mistaken for a server identity.
type pkiBundle struct {
	serverCA *keyPair // signs the apiserver serving cert; what clients trust
	clientCA *keyPair // --client-ca-file; signs admin and controller-manager certs
	serving  *keyPair // kube-apiserver --tls-cert-file
	admin    *keyPair // CN=bulkhead-admin, O=system:masters
	kcm      *keyPair // CN=system:kube-controller-manager, O=system:masters

	// Service-account token signing key (RSA, as every consumer supports it).
	saKeyPEM []byte
	saPubPEM []byte
}

// pkiPaths are the on-disk locations handed to the binaries as flags.
type pkiPaths struct {
	serverCA, clientCA      string
	servingCert, servingKey string
	saKey, saPub            string
}

// newPKI creates fresh CAs and leaf certificates. serviceIP is the first IP
// of --service-cluster-ip-range: in-cluster clients reach the apiserver
// through the "kubernetes" Service, so the serving cert must cover it.
func newPKI(serviceIP net.IP) (*pkiBundle, error) {
	serverCA, err := newCA("bulkhead-local-server-ca")
	if err != nil {
		return nil, err
	}
	clientCA, err := newCA("bulkhead-local-client-ca")
	if err != nil {
		return nil, err
	}
	serving, err := newLeaf(serverCA, pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth,
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		[]net.IP{net.IPv4(127, 0, 0, 1), serviceIP})
	if err != nil {
		return nil, err
	}
	admin, err := newLeaf(clientCA, pkix.Name{CommonName: "bulkhead-admin", Organization: []string{"system:masters"}},
		x509.ExtKeyUsageClientAuth, nil, nil)
	if err != nil {
		return nil, err
	}
	// The controller manager runs with --use-service-account-credentials=false,
	// so its own identity needs every permission of every controller; the
	// system:masters group gives that, the CN keeps it apart in audit logs.
	kcm, err := newLeaf(clientCA, pkix.Name{CommonName: "system:kube-controller-manager", Organization: []string{"system:masters"}},
		x509.ExtKeyUsageClientAuth, nil, nil)
	if err != nil {
		return nil, err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate service-account key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encode service-account public key: %w", err)
	}
	return &pkiBundle{
		serverCA: serverCA,
		clientCA: clientCA,
		serving:  serving,
		admin:    admin,
		kcm:      kcm,
		saKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
		saPubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}),
	}, nil
}

func newCA(cn string) (*keyPair, error) {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	return sign(tmpl, nil)
}

func newLeaf(ca *keyPair, subject pkix.Name, usage x509.ExtKeyUsage, dns []string, ips []net.IP) (*keyPair, error) {
	tmpl := &x509.Certificate{
		Subject:     subject,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames:    dns,
		IPAddresses: ips,
	}
	return sign(tmpl, ca)
}

// sign issues tmpl with a new ECDSA P-256 key (fast to generate, accepted by
// every Kubernetes component). A nil parent makes it self-signed.
func sign(tmpl *x509.Certificate, parent *keyPair) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key for %q: %w", tmpl.Subject.CommonName, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial for %q: %w", tmpl.Subject.CommonName, err)
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	// Backdate a little so a slightly skewed clock does not reject fresh certs.
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(certValidity)
	parentCert, parentKey := tmpl, crypto.Signer(key)
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), parentKey)
	if err != nil {
		return nil, fmt.Errorf("sign certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key for %q: %w", tmpl.Subject.CommonName, err)
	}
	return &keyPair{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// write stores the files the binaries read; private keys are 0600.
func (p *pkiBundle) write(dir string) (pkiPaths, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return pkiPaths{}, fmt.Errorf("create pki dir: %w", err)
	}
	paths := pkiPaths{
		serverCA:    filepath.Join(dir, "server-ca.crt"),
		clientCA:    filepath.Join(dir, "client-ca.crt"),
		servingCert: filepath.Join(dir, "apiserver.crt"),
		servingKey:  filepath.Join(dir, "apiserver.key"),
		saKey:       filepath.Join(dir, "sa.key"),
		saPub:       filepath.Join(dir, "sa.pub"),
	}
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{paths.serverCA, p.serverCA.certPEM, 0o644},
		{paths.clientCA, p.clientCA.certPEM, 0o644},
		{paths.servingCert, p.serving.certPEM, 0o644},
		{paths.servingKey, p.serving.keyPEM, 0o600},
		{paths.saKey, p.saKeyPEM, 0o600},
		{paths.saPub, p.saPubPEM, 0o644},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return pkiPaths{}, fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return paths, nil
}
