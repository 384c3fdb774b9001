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

// get returns the cluster's secret, reading it from Nomad (nomadAddr) the
// first time, and creating it when no plugin has yet. Two plugins that race
// to create it agree on the first one written.
func (c *clusterSecret) get(ctx context.Context, nomadAddr string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.secret != nil {
		return c.secret, nil
	}
	client, err := api.NomadClient(nomadAddr, "default")
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
		secret, err := d.secret.get(ctx, d.nodeConfig().NomadAddr)
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
