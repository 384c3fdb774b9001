package devagent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TLSFiles are PEM files: a CA, and a certificate it signed with its key.
// With Options.TLS an agent serves Nomad's HTTP API and RPC over TLS with
// them, and its plugin uses them for NATS, for its own HTTP API and to
// reach Nomad.
type TLSFiles struct {
	CA, Cert, Key string
}

// certNames are the names a node certificate holds: this machine, and the
// names Nomad checks in its agents' certificates (region "global").
var certNames = []string{"localhost", "server.global.nomad", "client.global.nomad"}

// NewTLSFiles writes a throwaway CA (ca.pem) and a certificate it signed
// (node.pem, node.key) into dir: ECDSA P-256, valid for a day, for
// 127.0.0.1 and certNames, for servers and clients alike. The CA's key is
// not kept: nothing else can be signed by it.
func NewTLSFiles(dir string) (TLSFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return TLSFiles{}, fmt.Errorf("devagent: %w", err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return TLSFiles{}, fmt.Errorf("devagent: CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: "dtle devagent CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return TLSFiles{}, fmt.Errorf("devagent: CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return TLSFiles{}, fmt.Errorf("devagent: CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return TLSFiles{}, fmt.Errorf("devagent: node key: %w", err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: "dtle devagent node"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: certNames,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return TLSFiles{}, fmt.Errorf("devagent: node certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return TLSFiles{}, fmt.Errorf("devagent: node key: %w", err)
	}
	f := TLSFiles{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "node.pem"), Key: filepath.Join(dir, "node.key")}
	for _, w := range []struct {
		path, typ string
		der       []byte
	}{{f.CA, "CERTIFICATE", caDER}, {f.Cert, "CERTIFICATE", der}, {f.Key, "PRIVATE KEY", keyDER}} {
		b := pem.EncodeToMemory(&pem.Block{Type: w.typ, Bytes: w.der})
		if err := os.WriteFile(w.path, b, 0o600); err != nil {
			return TLSFiles{}, fmt.Errorf("devagent: %w", err)
		}
	}
	return f, nil
}

// serial is a random certificate serial number.
func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n.Add(n, big.NewInt(1))
}

// ClientConfig is a TLS client configuration that trusts the CA and
// presents the certificate.
func (f TLSFiles) ClientConfig() (*tls.Config, error) {
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("devagent: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("devagent: %s holds no PEM certificate", f.CA)
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("devagent: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: []tls.Certificate{cert}}, nil
}

// nomadTLS is the Nomad API client's TLS configuration for the files.
func (f *TLSFiles) nomadTLS() *nomad.TLSConfig {
	if f == nil {
		return nil
	}
	return &nomad.TLSConfig{CACert: f.CA, ClientCert: f.Cert, ClientKey: f.Key}
}

// nomadEnv is the nomad CLI's environment for the files.
func (f *TLSFiles) nomadEnv() []string {
	if f == nil {
		return nil
	}
	return []string{"NOMAD_CACERT=" + f.CA, "NOMAD_CLIENT_CERT=" + f.Cert, "NOMAD_CLIENT_KEY=" + f.Key}
}

// HTTPClient is a client for the agent's dtle API: it trusts the agent's
// CA when the agent runs with TLS and sends the API token, when one is
// set, as "Authorization: Bearer <token>".
func (a *Agent) HTTPClient() *http.Client {
	return a.httpClient
}

// newHTTPClient builds the client HTTPClient returns.
func newHTTPClient(files *TLSFiles, token string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if files != nil {
		cfg, err := files.ClientConfig()
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = cfg
	}
	var rt http.RoundTripper = tr
	if token != "" {
		rt = bearer{token: token, next: tr}
	}
	return &http.Client{Transport: rt, Timeout: 2 * time.Minute}, nil
}

// bearer adds the API token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(req)
}
