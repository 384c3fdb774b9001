package driver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/retry"
	"github.com/dtle-io/dtle/internal/secret"
)

// The cluster's secret seals every job's stream (transport.JobKey): each
// job's key derives from it, so only the nodes of the cluster can read a
// job's rows or send it messages, whoever else reaches NATS. It lives in
// Nomad itself, as a Nomad Variable that the first plugin to need it
// creates; a Nomad ACL policy on the path keeps it from other readers.
const (
	secretPath = "dtle/cluster-secret"
	secretItem = "key"
)

// clusterSecret caches the cluster's secret once read.
type clusterSecret struct {
	mu     sync.Mutex
	secret []byte
}

// get returns the cluster's secret, reading it from Nomad (conn) the
// first time, and creating it when no plugin has yet. Two plugins that race
// to create it agree on the first one written.
func (c *clusterSecret) get(ctx context.Context, conn api.NomadConn) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.secret != nil {
		return c.secret, nil
	}
	client, err := conn.Client("default")
	if err != nil {
		return nil, fmt.Errorf("cluster secret: nomad_addr: %w", err)
	}
	vars := client.Variables()
	q := (&nomad.QueryOptions{Namespace: "default"}).WithContext(ctx)
	for range 3 {
		v, _, err := vars.Read(secretPath, q)
		switch {
		case err == nil:
			b, derr := hex.DecodeString(v.Items[secretItem])
			if derr != nil || len(b) != 32 {
				return nil, fmt.Errorf("cluster secret: Nomad variable %s holds no 32-byte hex %q item", secretPath, secretItem)
			}
			c.secret = b
			return b, nil
		case !errors.Is(err, nomad.ErrVariablePathNotFound):
			return nil, fmt.Errorf("cluster secret: read Nomad variable %s (the plugin's Nomad token needs read and write on it): %w", secretPath, err)
		}
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return nil, fmt.Errorf("cluster secret: %w", err)
		}
		w := (&nomad.WriteOptions{Namespace: "default"}).WithContext(ctx)
		_, _, err = vars.CheckedCreate(&nomad.Variable{Namespace: "default", Path: secretPath,
			Items: nomad.VariableItems{secretItem: hex.EncodeToString(fresh)}}, w)
		var conflict nomad.ErrCASConflict
		if err != nil && !errors.As(err, &conflict) {
			return nil, fmt.Errorf("cluster secret: create Nomad variable %s: %w", secretPath, err)
		}
		// Created, or another plugin was first: read what is there.
	}
	return nil, fmt.Errorf("cluster secret: Nomad variable %s could not be read after it was created", secretPath)
}

// waitSecret returns the cluster's secret, retrying while Nomad cannot give
// it (the agent is starting, a server is away) until ctx ends; each failure
// is logged with its reason.
func (d *Driver) waitSecret(ctx context.Context, h *taskHandle) ([]byte, error) {
	backoff := retry.New(time.Second, 30*time.Second)
	for {
		secret, err := d.secret.get(ctx, d.nodeConfig().nomadConn())
		if err == nil {
			return secret, nil
		}
		wait := backoff.Next()
		h.logger.Warn("cannot read the cluster's secret from Nomad; retrying", "error", err, "retry_in", wait)
		if err := retry.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// openPassword opens the task's sealed password (secret.Seal), bound to its
// job, task, server and user, with the cluster's secret from getSecret. A
// password that does not open is fatal: it was sealed for another job or
// server, and only a new password fixes that. Not reaching Nomad is not.
func (d *Driver) openPassword(ctx context.Context, h *taskHandle,
	getSecret func(context.Context, *taskHandle) ([]byte, error)) error {
	c := h.task.ConnectionConfig
	if c == nil || !h.task.PasswordSealed {
		return nil
	}
	key, err := getSecret(ctx, h)
	if err != nil {
		return retryablef("open the task's sealed mysql_password: %w", err)
	}
	b := secret.Binding{Namespace: h.cfg.Namespace, Job: h.cfg.JobID, Task: h.cfg.Name, Host: c.Host, Port: c.Port, User: c.User}
	pw, err := secret.Open(key, b, c.Password)
	if err != nil {
		return fatalf("task config: %w", err)
	}
	c.Password, h.task.PasswordSealed = pw, false
	return nil
}
