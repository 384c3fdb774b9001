package driver

import (
	"context"
	"fmt"
	"time"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/retry"
)

// apiState is what the running API server was started with; a change of
// it restarts the server.
func apiState(c *Config) string {
	return fmt.Sprintf("%q", []any{c.APIAddr, c.APIToken, c.APIAdminPassword, c.nomadConn(), c.apiTLS(), c.RSAPrivateKeyPath})
}

// startAPI (re)starts the HTTP API for the node config, or stops it when
// api_addr is empty. The caller holds d.mu.
func (d *Driver) startAPI(c *Config) {
	state := apiState(c)
	if state == d.apiState {
		return
	}
	if d.apiStop != nil {
		d.apiStop()
		d.apiStop = nil
	}
	d.apiState = state
	if c.APIAddr == "" {
		return
	}
	ctx, stop := context.WithCancel(d.ctx)
	d.apiStop = stop
	nomadConn := c.nomadConn()
	cfg := api.Config{Addr: c.APIAddr, Token: c.APIToken, Nomad: nomadConn, TLS: c.apiTLS(), RSAKey: d.rsaKey,
		AdminPassword: c.APIAdminPassword,
		ClusterSecret: func(ctx context.Context) ([]byte, error) { return d.secret.get(ctx, nomadConn) },
		Version:       Version, Logger: d.logger.Named("api"), Local: d}
	go d.serveAPI(ctx, cfg)
}

// serveAPI runs the API until ctx ends, retrying while its address is taken
// (a plugin that just restarted may find its predecessor's socket).
func (d *Driver) serveAPI(ctx context.Context, cfg api.Config) {
	srv, err := api.New(cfg)
	if err != nil {
		d.logger.Error("API not started", "error", err)
		return
	}
	backoff := retry.New(200*time.Millisecond, 10*time.Second)
	for {
		err := srv.Serve(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := backoff.Next()
		d.logger.Warn("API server stopped; retrying", "error", err, "retry_in", wait)
		if retry.Sleep(ctx, wait) != nil {
			return
		}
	}
}
