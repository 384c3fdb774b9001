package pipeline

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// MaxPayload bounds one NATS message; the source splits what is larger.
const MaxPayload = 8 << 20

// ServerOptions are the options of the embedded NATS server for a bind
// address ("host:port"; port 0 picks a free one), a token ("" for none) and
// a TLS configuration (nil for none; one with ClientCAs verifies clients'
// certificates). The plugin, the tests and the benchmark all start their
// servers with them.
func ServerOptions(bind, token string, tlsConfig *tls.Config) (*natsserver.Options, error) {
	host, port, err := net.SplitHostPort(bind)
	if err != nil {
		return nil, fmt.Errorf("nats_bind: %w", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("nats_bind: port: %w", err)
	}
	if p == 0 {
		p = natsserver.RANDOM_PORT
	}
	opts := &natsserver.Options{
		ServerName:            "dtle",
		Host:                  host,
		Port:                  p,
		Authorization:         token,
		NoSigs:                true,
		NoLog:                 true,
		MaxPayload:            MaxPayload,
		MaxPending:            64 << 20,
		WriteDeadline:         10 * time.Second,
		DisableShortFirstPing: true,
	}
	if tlsConfig != nil {
		opts.TLS, opts.TLSConfig = true, tlsConfig.Clone()
		opts.TLSVerify = tlsConfig.ClientCAs != nil
		opts.TLSTimeout = 5
	}
	return opts, nil
}

// StartServer starts a NATS server and waits until it accepts connections.
func StartServer(opts *natsserver.Options) (*natsserver.Server, error) {
	srv, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(5 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("nats server: not listening on %s:%d after 5s (is the port in use?)", opts.Host, opts.Port)
	}
	return srv, nil
}

// StartLocalServer starts a NATS server on a free loopback port, as a
// plugin would with nats_bind "127.0.0.1:0": for jobs run in one process.
func StartLocalServer(token string) (*natsserver.Server, error) {
	opts, err := ServerOptions("127.0.0.1:0", token, nil)
	if err != nil {
		return nil, err
	}
	return StartServer(opts)
}
