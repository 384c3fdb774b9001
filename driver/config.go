package driver

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"

	"github.com/dtle-io/dtle/api"
)

// Node option defaults. They are also written into configSpec, which is
// where Nomad takes them from.
const (
	defaultAPIAddr   = "127.0.0.1:8190"
	defaultNomadAddr = "127.0.0.1:4646"
	defaultNatsBind  = "127.0.0.1:8193"
	defaultDataDir   = "/var/lib/dtle"
	defaultLogLevel  = "INFO"
)

// configSpec is the node configuration: the `plugin "dtle" { config {...} }`
// block of the Nomad agent.
var configSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"api_addr":              hclspec.NewDefault(hclspec.NewAttr("api_addr", "string", false), hclspec.NewLiteral(strconv.Quote(defaultAPIAddr))),
	"api_token":             hclspec.NewAttr("api_token", "string", false),
	"api_admin_password":    hclspec.NewAttr("api_admin_password", "string", false),
	"api_advertise":         hclspec.NewAttr("api_advertise", "string", false),
	"nomad_addr":            hclspec.NewDefault(hclspec.NewAttr("nomad_addr", "string", false), hclspec.NewLiteral(strconv.Quote(defaultNomadAddr))),
	"nomad_token":           hclspec.NewAttr("nomad_token", "string", false),
	"nomad_ca_cert":         hclspec.NewAttr("nomad_ca_cert", "string", false),
	"nomad_client_cert":     hclspec.NewAttr("nomad_client_cert", "string", false),
	"nomad_client_key":      hclspec.NewAttr("nomad_client_key", "string", false),
	"nomad_tls_server_name": hclspec.NewAttr("nomad_tls_server_name", "string", false),
	"api_tls_cert":          hclspec.NewAttr("api_tls_cert", "string", false),
	"api_tls_key":           hclspec.NewAttr("api_tls_key", "string", false),
	"api_tls_ca":            hclspec.NewAttr("api_tls_ca", "string", false),
	"nats_bind":             hclspec.NewDefault(hclspec.NewAttr("nats_bind", "string", false), hclspec.NewLiteral(strconv.Quote(defaultNatsBind))),
	"nats_advertise":        hclspec.NewAttr("nats_advertise", "string", false),
	"nats_token":            hclspec.NewAttr("nats_token", "string", false),
	"nats_tls_cert":         hclspec.NewAttr("nats_tls_cert", "string", false),
	"nats_tls_key":          hclspec.NewAttr("nats_tls_key", "string", false),
	"nats_tls_ca":           hclspec.NewAttr("nats_tls_ca", "string", false),
	"data_dir":              hclspec.NewDefault(hclspec.NewAttr("data_dir", "string", false), hclspec.NewLiteral(strconv.Quote(defaultDataDir))),
	"log_level":             hclspec.NewDefault(hclspec.NewAttr("log_level", "string", false), hclspec.NewLiteral(strconv.Quote(defaultLogLevel))),
	"rsa_private_key_path":  hclspec.NewAttr("rsa_private_key_path", "string", false),
})

// Config is the decoded node configuration.
type Config struct {
	// APIAddr is where the HTTP API listens; empty disables it.
	APIAddr string `codec:"api_addr"`
	// APIToken, when set, is required by every API route but health and swagger.
	APIToken string `codec:"api_token"`
	// APIAdminPassword, when set, is the password of the API's first user
	// (admin of tenant platform), made on the cluster's first start; without
	// it that user gets a random password, printed once to the log.
	APIAdminPassword string `codec:"api_admin_password"`
	// APIAdvertise is the address other nodes' APIs reach APIAddr at (for
	// live figures of the tasks running here); empty means APIAddr.
	APIAdvertise string `codec:"api_advertise"`
	// NomadAddr is the HTTP address of the local Nomad agent: host:port,
	// or an http:// or https:// URL.
	NomadAddr string `codec:"nomad_addr"`
	// NomadToken is the plugin's Nomad ACL token (NOMAD_TOKEN when empty).
	NomadToken string `codec:"nomad_token"`
	// NomadCACert, NomadClientCert, NomadClientKey and NomadTLSServerName
	// are the TLS settings for an https:// nomad_addr (NOMAD_CACERT,
	// NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY, NOMAD_TLS_SERVER_NAME when empty).
	NomadCACert        string `codec:"nomad_ca_cert"`
	NomadClientCert    string `codec:"nomad_client_cert"`
	NomadClientKey     string `codec:"nomad_client_key"`
	NomadTLSServerName string `codec:"nomad_tls_server_name"`
	// APITLSCert and APITLSKey make the API serve HTTPS only; APITLSCA is
	// the PEM CA of the other nodes' API certificates (the system's roots
	// when empty), checked when this node asks them for a task's figures.
	APITLSCert string `codec:"api_tls_cert"`
	APITLSKey  string `codec:"api_tls_key"`
	APITLSCA   string `codec:"api_tls_ca"`
	// NatsBind is where the embedded NATS server listens.
	NatsBind string `codec:"nats_bind"`
	// NatsAdvertise is the address other nodes use to reach NatsBind;
	// empty means NatsBind.
	NatsAdvertise string `codec:"nats_advertise"`
	// NatsToken authenticates NATS clients; all nodes of a cluster share it.
	NatsToken string `codec:"nats_token"`
	// NatsTLSCert and NatsTLSKey are this node's PEM certificate and key for
	// NATS: the server presents them, and clients present them to servers
	// that verify clients. NatsTLSCA is the PEM CA that signed every node's
	// certificate: the server verifies clients with it, clients the server.
	NatsTLSCert string `codec:"nats_tls_cert"`
	NatsTLSKey  string `codec:"nats_tls_key"`
	NatsTLSCA   string `codec:"nats_tls_ca"`
	// DataDir holds the plugin's local files.
	DataDir string `codec:"data_dir"`
	// LogLevel is TRACE, DEBUG, INFO, WARN or ERROR.
	LogLevel string `codec:"log_level"`
	// RSAPrivateKeyPath is a PEM file decrypting is_mysql_password_encrypted passwords.
	RSAPrivateKeyPath string `codec:"rsa_private_key_path"`
}

// validate checks every option and names each bad one. It returns the
// parsed RSA key when one is configured.
func (c *Config) validate() (*rsa.PrivateKey, error) {
	var errs []error
	if c.APIAddr != "" {
		if err := checkHostPort(c.APIAddr); err != nil {
			errs = append(errs, fmt.Errorf("api_addr: %w", err))
		}
	}
	if c.APIAdminPassword != "" {
		if err := api.CheckUserPassword(c.APIAdminPassword); err != nil {
			errs = append(errs, fmt.Errorf("api_admin_password: %w", err))
		}
	}
	if c.APIAdvertise != "" {
		if err := checkHostPort(c.APIAdvertise); err != nil {
			errs = append(errs, fmt.Errorf("api_advertise: %w", err))
		}
	} else if host, _, _ := net.SplitHostPort(c.APIAddr); c.APIAddr != "" && isUnspecified(host) {
		errs = append(errs, fmt.Errorf("api_advertise: required when api_addr (%s) listens on all addresses; set the address other nodes reach this one's API at", c.APIAddr))
	}
	if err := c.nomadConn().Check("nomad_"); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := c.apiTLS().Load(); err != nil {
		errs = append(errs, err)
	}
	if err := checkHostPort(c.NatsBind); err != nil {
		errs = append(errs, fmt.Errorf("nats_bind: %w", err))
	}
	if c.NatsAdvertise != "" {
		if err := checkHostPort(c.NatsAdvertise); err != nil {
			errs = append(errs, fmt.Errorf("nats_advertise: %w", err))
		}
	} else if host, _, _ := net.SplitHostPort(c.NatsBind); isUnspecified(host) {
		errs = append(errs, fmt.Errorf("nats_advertise: required when nats_bind (%s) listens on all addresses; set the address other nodes reach this one at", c.NatsBind))
	}
	errs = append(errs, c.checkNatsSecurity()...)
	if hclog.LevelFromString(c.LogLevel) == hclog.NoLevel {
		errs = append(errs, fmt.Errorf("log_level: %q is not one of TRACE, DEBUG, INFO, WARN, ERROR", c.LogLevel))
	}
	if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	} else if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		errs = append(errs, fmt.Errorf("data_dir: %w", err))
	}
	var key *rsa.PrivateKey
	if c.RSAPrivateKeyPath != "" {
		k, err := loadRSAKey(c.RSAPrivateKeyPath)
		if err != nil {
			errs = append(errs, fmt.Errorf("rsa_private_key_path: %w", err))
		}
		key = k
	}
	return key, errors.Join(errs...)
}

// apiAdvertise is where other nodes reach this node's API: host:port, with
// https:// in front when it serves TLS.
func (c *Config) apiAdvertise() string {
	addr := c.APIAdvertise
	if addr == "" {
		addr = c.APIAddr
	}
	if addr != "" && c.APITLSCert != "" {
		return "https://" + addr
	}
	return addr
}

// nomadConn is how the plugin reaches its Nomad agent.
func (c *Config) nomadConn() api.NomadConn {
	return api.NomadConn{Addr: c.NomadAddr, Token: c.NomadToken, CACert: c.NomadCACert, ClientCert: c.NomadClientCert,
		ClientKey: c.NomadClientKey, TLSServerName: c.NomadTLSServerName}
}

// apiTLS are the API's TLS files.
func (c *Config) apiTLS() api.TLSFiles {
	return api.TLSFiles{Cert: c.APITLSCert, Key: c.APITLSKey, CA: c.APITLSCA}
}

// natsAdvertise is the address other nodes use for this node's NATS server.

func (c *Config) natsAdvertise() string {
	if c.NatsAdvertise != "" {
		return c.NatsAdvertise
	}
	return c.NatsBind
}

func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: port must be 0-65535", addr)
	}
	return nil
}

func isUnspecified(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

func loadRSAKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: not an RSA private key in PKCS#1 or PKCS#8: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: key is %T, want RSA", path, k)
	}
	return rk, nil
}
