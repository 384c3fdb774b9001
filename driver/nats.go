package driver

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/dtle-io/dtle/internal/pipeline"
	"github.com/dtle-io/dtle/internal/retry"
)

// natsServer runs the embedded NATS server that carries job streams between
// the nodes. Binding is retried in the background, so a port still held by a
// previous plugin process delays the server instead of failing the plugin;
// the fingerprint reports it unhealthy meanwhile.
type natsServer struct {
	logger hclog.Logger

	mu      sync.RWMutex
	srv     *natsserver.Server
	lastErr error
}

func newNatsServer(logger hclog.Logger) *natsServer {
	return &natsServer{logger: logger, lastErr: fmt.Errorf("not started yet")}
}

// run starts the server and keeps retrying until it is up or ctx ends; on
// ctx's end it shuts the server down.
func (n *natsServer) run(ctx context.Context, bind, token string, tlsConfig *tls.Config) {
	opts, err := pipeline.ServerOptions(bind, token, tlsConfig)
	if err != nil {
		n.setErr(err)
		return
	}
	backoff := retry.New(200*time.Millisecond, 10*time.Second)
	var srv *natsserver.Server
	for {
		var err error
		srv, err = pipeline.StartServer(opts)
		if err == nil {
			n.mu.Lock()
			n.srv, n.lastErr = srv, nil
			n.mu.Unlock()
			n.logger.Info("embedded NATS server listening", "addr", srv.Addr().String())
			break
		}
		n.setErr(err)
		wait := backoff.Next()
		n.logger.Warn("embedded NATS server failed to start; retrying", "error", err, "retry_in", wait)
		if retry.Sleep(ctx, wait) != nil {
			return
		}
	}
	<-ctx.Done()
	// A restart may already have put its own server in n.srv: stop ours only.
	n.mu.Lock()
	if n.srv == srv {
		n.srv, n.lastErr = nil, fmt.Errorf("stopped")
	}
	n.mu.Unlock()
	srv.Shutdown()
	srv.WaitForShutdown()
}

func (n *natsServer) setErr(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lastErr = err
}

// health is nil when the server accepts connections.
func (n *natsServer) health() error {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.lastErr
}

// clientURL is how tasks on this node reach the local server; empty while
// it is not running.
func (n *natsServer) clientURL() string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.srv == nil {
		return ""
	}
	return n.srv.ClientURL()
}
