package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	nomad "github.com/hashicorp/nomad/api"
)

// NomadConn says how the plugin reaches its Nomad agent. Empty fields take
// Nomad's own environment variables (NOMAD_TOKEN, NOMAD_CACERT,
// NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY, NOMAD_TLS_SERVER_NAME), as Nomad's
// CLI does.
type NomadConn struct {
	// Addr is "host:port" (plain HTTP) or an http:// or https:// URL.
	Addr string
	// Token is the ACL token the plugin uses.
	Token string
	// CACert is the PEM CA that signed the agent's HTTPS certificate;
	// ClientCert and ClientKey are presented when the agent verifies
	// clients; TLSServerName is the name checked in its certificate.
	CACert, ClientCert, ClientKey, TLSServerName string
}

// Client is a client of the agent in namespace ("" for the default).
func (n NomadConn) Client(namespace string) (*nomad.Client, error) {
	ncfg := nomad.DefaultConfig()
	ncfg.Address = n.URL()
	for _, o := range []struct {
		dst *string
		v   string
	}{
		{&ncfg.SecretID, n.Token}, {&ncfg.TLSConfig.CACert, n.CACert}, {&ncfg.TLSConfig.ClientCert, n.ClientCert},
		{&ncfg.TLSConfig.ClientKey, n.ClientKey}, {&ncfg.TLSConfig.TLSServerName, n.TLSServerName}, {&ncfg.Namespace, namespace},
	} {
		if o.v != "" {
			*o.dst = o.v
		}
	}
	nc, err := nomad.NewClient(ncfg)
	if err != nil {
		return nil, fmt.Errorf("nomad client for %s: %w", ncfg.Address, err)
	}
	return nc, nil
}

// URL is Addr with its scheme (http:// when it has none).
func (n NomadConn) URL() string {
	if strings.Contains(n.Addr, "://") {
		return n.Addr
	}
	return "http://" + n.Addr
}

// Check names what is wrong with the options: the address's form, and TLS
// files that cannot be read. prefix is the option names' prefix.
func (n NomadConn) Check(prefix string) error {
	var errs []error
	u, err := url.Parse(n.URL())
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("%saddr: %w", prefix, err))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("%saddr: scheme %q: use http:// or https://", prefix, u.Scheme))
	case u.Port() == "" || u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
		errs = append(errs, fmt.Errorf("%saddr: %q: want host:port, http://host:port or https://host:port", prefix, n.Addr))
	}
	for _, f := range []struct{ name, path string }{
		{"ca_cert", n.CACert}, {"client_cert", n.ClientCert}, {"client_key", n.ClientKey},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s%s: %w", prefix, f.name, err))
		}
	}
	if (n.ClientCert == "") != (n.ClientKey == "") {
		errs = append(errs, fmt.Errorf("%sclient_cert and %sclient_key: set both or neither", prefix, prefix))
	}
	return errors.Join(errs...)
}

// TLSFiles are the API's own TLS options: the certificate and key it
// serves, and the CA that signed the other nodes' API certificates (the
// system's roots when empty), which this node checks when it asks them for
// a task's figures.
type TLSFiles struct {
	Cert, Key, CA string
}

// enabled says whether the API serves HTTPS.
func (f TLSFiles) enabled() bool { return f.Cert != "" }

// Load reads the files: the server's config (nil without a certificate)
// and the client's, for calls to other nodes' APIs.
func (f TLSFiles) Load() (server, client *tls.Config, err error) {
	if (f.Cert == "") != (f.Key == "") {
		return nil, nil, errors.New("api_tls_cert and api_tls_key: set both or neither")
	}
	client = &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CA != "" {
		pem, err := os.ReadFile(f.CA)
		if err != nil {
			return nil, nil, fmt.Errorf("api_tls_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("api_tls_ca: %s holds no PEM certificate", f.CA)
		}
		client.RootCAs = pool
	}
	if !f.enabled() {
		return nil, client, nil
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("api_tls_cert and api_tls_key: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, client, nil
}

// peerURL is the base URL of the API a node advertises: "https://host:port"
// as nodes with TLS advertise it, or a bare host:port served over HTTP.
func peerURL(advertised string) string {
	if strings.Contains(advertised, "://") {
		return strings.TrimSuffix(advertised, "/")
	}
	return "http://" + advertised
}

// tokenSafe says whether a request to base may carry the API token: over
// TLS, or to this machine.
func tokenSafe(base string) bool {
	u, err := url.Parse(base)
	if err != nil {
		return false
	}
	return u.Scheme == "https" || isLoopback(u.Host)
}
