package driver

import (
	"context"
	"fmt"
	"sort"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/pipeline"
	"github.com/dtle-io/dtle/internal/transport"
)

// runDest serves the job's stream on this node's NATS server until ctx ends.
func (d *Driver) runDest(ctx context.Context, h *taskHandle) error {
	url, err := d.waitNats(ctx)
	if err != nil {
		return err
	}
	secret, err := d.waitSecret(ctx, h)
	if err != nil {
		return err
	}
	return pipeline.Dest{
		SinkConfig: pipeline.SinkConfig{Namespace: h.cfg.Namespace, JobID: h.cfg.JobID, Task: h.task, Logger: h.logger,
			Secret: secret, Event: func(msg string) { d.emit(h, msg) }},
		URL: url, Token: d.nodeConfig().NatsToken, TLS: d.natsTLSClient(), Name: "dtle-dest-" + h.cfg.AllocID,
		Live: h.live.set, Direct: d.direct,
	}.Run(ctx)
}

// runSource streams to the job's destination, which it finds through Nomad
// before each attempt (it may have restarted or moved).
func (d *Driver) runSource(ctx context.Context, h *taskHandle) error {
	cfg := d.nodeConfig()
	client, err := cfg.nomadConn().Client(h.cfg.Namespace)
	if err != nil {
		return fmt.Errorf("nomad_addr: %w", err)
	}
	secret, err := d.waitSecret(ctx, h)
	if err != nil {
		return err
	}
	go d.watchSpeedLimit(ctx, h, client)
	go d.runVerifySchedule(ctx, h, client)
	return pipeline.Source{
		Namespace: h.cfg.Namespace, JobID: h.cfg.JobID, AllocID: h.cfg.AllocID, Task: h.task, Logger: h.logger,
		Limiter: h.speed.limiter,
		Secret:  secret, Token: cfg.NatsToken, TLS: d.natsTLSClient(),
		Locate: func(ctx context.Context) (string, error) {
			addr, err := locateDest(ctx, h, client)
			return "nats://" + addr, err
		},
		Live:    h.live.set,
		OnRetry: h.live.failed,
		Direct:  d.direct,
	}.Run(ctx)
}

// locateDest asks Nomad where the job's running dest task is and returns
// the NATS address its node advertises.
func locateDest(ctx context.Context, h *taskHandle, client *nomad.Client) (string, error) {
	q := (&nomad.QueryOptions{Namespace: h.cfg.Namespace}).WithContext(ctx)
	allocs, _, err := client.Jobs().Allocations(h.cfg.JobID, false, q)
	if err != nil {
		return "", fmt.Errorf("%w: list allocations of %s at %s: %w", transport.ErrNoDestination, h.cfg.JobID, client.Address(), err)
	}
	sort.Slice(allocs, func(i, j int) bool { return allocs[i].CreateIndex > allocs[j].CreateIndex })
	for _, a := range allocs {
		st, ok := a.TaskStates[config.RoleDest]
		if !ok || st.State != "running" || a.ClientStatus != "running" {
			continue
		}
		node, _, err := client.Nodes().Info(a.NodeID, q)
		if err != nil {
			return "", fmt.Errorf("%w: node %s: %w", transport.ErrNoDestination, a.NodeID, err)
		}
		if addr := node.Attributes[attrNatsAdvertise]; addr != "" {
			return addr, nil
		}
	}
	return "", fmt.Errorf("%w: job %s has no running %q task yet", transport.ErrNoDestination, h.cfg.JobID, config.RoleDest)
}

// waitNats waits for this node's NATS server.
func (d *Driver) waitNats(ctx context.Context) (string, error) {
	for {
		if url := d.nats.clientURL(); url != "" {
			return url, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
