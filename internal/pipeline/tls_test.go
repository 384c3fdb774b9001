package pipeline

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/transport"
)

// testPKI is a CA and certificates it signed, for 127.0.0.1.
type testPKI struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	pool  *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dtle test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &testPKI{ca: ca, caKey: key, pool: pool}
}

// node returns a certificate for 127.0.0.1 signed by the CA.
func (p *testPKI) node(t *testing.T, serial int64) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "dtle node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// A job's stream runs over TLS with client certificates: the destination
// and the source, each with a certificate of the cluster's CA, exchange
// messages; a client without TLS, or with TLS and no certificate, does
// not get a connection, token or not.
func TestStreamOverTLS(t *testing.T) {
	pki := newTestPKI(t)
	serverCert := pki.node(t, 2)
	serverTLS := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{serverCert},
		ClientCAs: pki.pool, ClientAuth: tls.RequireAndVerifyClientCert}
	opts, err := ServerOptions("127.0.0.1:0", "tok", serverTLS)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := StartServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	url := srv.ClientURL()
	clientTLS := func(cert *tls.Certificate) *tls.Config {
		c := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pki.pool}
		if cert != nil {
			c.Certificates = []tls.Certificate{*cert}
		}
		return c
	}
	destCert, srcCert := pki.node(t, 3), pki.node(t, 4)

	dnc, err := transport.Connect(url, "tok", "dest", clientTLS(&destCert))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dnc.Close)
	sink := newFakeSink()
	d := Dest{SinkConfig: SinkConfig{JobID: "tls-job", Logger: hclog.NewNullLogger()}}
	r := Go(context.Background(), func(ctx context.Context) error { return d.run(ctx, dnc, sink) })
	t.Cleanup(func() { _ = r.Stop(10 * time.Second) })

	nc, err := transport.Connect(url, "tok", "src", clientTLS(&srcCert))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	s := transport.NewSender(nc, "tls-job", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Hello(ctx); err != nil {
		t.Fatalf("hello over TLS: %v", err)
	}
	if err := s.Send(ctx, &change.Message{Kind: change.KindTxns}); err != nil {
		t.Fatalf("send over TLS: %v", err)
	}
	if handled, _ := sink.snapshot(); len(handled) != 1 {
		t.Fatalf("handled %v", handled)
	}

	if c, err := transport.Connect(url, "tok", "plain", nil); err == nil {
		c.Close()
		t.Error("a client without TLS connected")
	}
	if c, err := transport.Connect(url, "tok", "no-cert", clientTLS(nil)); err == nil {
		// The server may accept the handshake and close at once: a
		// connection that cannot subscribe is as good as refused.
		_, serr := c.SubscribeSync("dtle.>")
		ferr := c.Flush()
		c.Close()
		if serr == nil && ferr == nil {
			t.Error("a client without a certificate got a working connection")
		}
	}
}
