package driver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
)

// checkNatsSecurity refuses a NATS server that other machines can reach
// with nothing to keep them out: a non-loopback nats_bind needs nats_token
// or client certificates (nats_tls_*). It also checks that the TLS options
// go together; SetConfig reads the files (natsTLS) once.
func (c *Config) checkNatsSecurity() []error {
	var errs []error
	if (c.NatsTLSCert == "") != (c.NatsTLSKey == "") {
		errs = append(errs, errors.New("nats_tls_cert and nats_tls_key: set both or neither"))
	}
	if c.NatsTLSCert != "" && c.NatsTLSCA == "" {
		errs = append(errs, errors.New("nats_tls_ca: required with nats_tls_cert: the CA that signed every node's certificate"))
	}
	if c.NatsTLSCA != "" && c.NatsTLSCert == "" {
		errs = append(errs, errors.New("nats_tls_cert and nats_tls_key: required with nats_tls_ca"))
	}
	host, _, err := net.SplitHostPort(c.NatsBind)
	if err == nil && !isLoopback(host) && c.NatsToken == "" && c.NatsTLSCA == "" {
		errs = append(errs, fmt.Errorf("nats_bind: %s is reachable from other machines, and nothing authenticates "+
			"its clients, who could read and change every job's rows: set nats_token (the same on every node), "+
			"and nats_tls_cert, nats_tls_key and nats_tls_ca for TLS; or bind 127.0.0.1 on a single machine", c.NatsBind))
	}
	return errs
}

// isLoopback reports whether host (a name or an address) is this machine
// only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// natsTLS builds the NATS server's and clients' TLS configurations from
// the node's files; both nil without nats_tls_cert. The server verifies
// client certificates against the CA, and clients verify the server's.
func (c *Config) natsTLS() (server, client *tls.Config, err error) {
	if c.NatsTLSCert == "" {
		return nil, nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.NatsTLSCert, c.NatsTLSKey)
	if err != nil {
		return nil, nil, fmt.Errorf("nats_tls_cert, nats_tls_key: %w", err)
	}
	pem, err := os.ReadFile(c.NatsTLSCA)
	if err != nil {
		return nil, nil, fmt.Errorf("nats_tls_ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, nil, fmt.Errorf("nats_tls_ca: %s holds no PEM certificate", c.NatsTLSCA)
	}
	server = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	client = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, RootCAs: pool}
	return server, client, nil
}

// natsTLSClient is the TLS configuration of this node's NATS clients; nil
// without nats_tls_*.
func (d *Driver) natsTLSClient() *tls.Config {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.natsClientTLS
}
