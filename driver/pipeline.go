package driver

import (
	"context"
	"fmt"
	"sort"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/applier"
	"github.com/dtle-io/dtle/extractor"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/transport"
	"github.com/dtle-io/dtle/kafka"
)

// runDest serves the job's stream on this node's NATS server until ctx ends.
func (d *Driver) runDest(ctx context.Context, h *taskHandle) error {
	url, err := d.waitNats(ctx)
	if err != nil {
		return err
	}
	cfg := d.nodeConfig()
	nc, err := transport.Connect(url, cfg.NatsToken, "dtle-dest-"+h.cfg.AllocID)
	if err != nil {
		return err
	}
	defer nc.Close()
	if h.task.IsKafka() {
		k, err := kafka.New(ctx, kafka.Config{JobID: h.cfg.JobID, Task: h.task, NATS: nc,
			Logger: h.logger.Named("kafka"), Event: func(msg string) { d.emit(h, msg) }})
		if err != nil {
			return err
		}
		h.live.cur.Store(&live{snk: k, nc: nc})
		defer h.live.cur.Store(nil)
		return k.Run(ctx)
	}
	a, err := applier.New(ctx, applier.Config{JobID: h.cfg.JobID, Task: h.task, NATS: nc,
		Logger: h.logger.Named("applier"), Event: func(msg string) { d.emit(h, msg) }})
	if err != nil {
		return err
	}
	h.live.cur.Store(&live{app: a, nc: nc})
	defer h.live.cur.Store(nil)
	return a.Run(ctx)
}

// maxSourceFailures is how many source-side failures in a row end the task
// (a destination that is away does not count).
const maxSourceFailures = 10

// runSource finds the job's destination through Nomad, streams to it, and
// finds it again whenever it stops answering (it restarted or moved). A
// failure on the source side resumes from the checkpoint too, unless it is
// fatal or keeps happening.
func (d *Driver) runSource(ctx context.Context, h *taskHandle) error {
	cfg := d.nodeConfig()
	client, err := api.NomadClient(cfg.NomadAddr, h.cfg.Namespace)
	if err != nil {
		return fmt.Errorf("nomad_addr: %w", err)
	}
	backoff := time.Second
	failures := 0
	for {
		started := time.Now()
		err := d.sourceOnce(ctx, h, client)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil || extractor.Fatal(err) {
			return err
		}
		if time.Since(started) > 5*time.Minute {
			failures, backoff = 0, time.Second // it had been working
		}
		h.live.failures.Add(1)
		if !transport.Retryable(err) {
			if failures++; failures >= maxSourceFailures {
				return fmt.Errorf("%d failures in a row, the last: %w", failures, err)
			}
		}
		h.logger.Warn("streaming stopped; resuming from the destination checkpoint", "reason", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (d *Driver) sourceOnce(ctx context.Context, h *taskHandle, client *nomad.Client) error {
	addr, err := locateDest(ctx, h, client)
	if err != nil {
		return err
	}
	cfg := d.nodeConfig()
	nc, err := transport.Connect("nats://"+addr, cfg.NatsToken, "dtle-src-"+h.cfg.AllocID)
	if err != nil {
		return fmt.Errorf("%w: %w", transport.ErrNoDestination, err)
	}
	defer nc.Close()
	e, err := extractor.New(ctx, extractor.Config{JobID: h.cfg.JobID, AllocID: h.cfg.AllocID, Task: h.task,
		Sender: transport.NewSender(nc, h.cfg.JobID), Logger: h.logger.Named("extractor")})
	if err != nil {
		return err
	}
	defer func() { _ = e.Close() }()
	h.live.cur.Store(&live{ext: e, nc: nc})
	defer h.live.cur.Store(nil)
	h.logger.Info("streaming to the destination", "nats", addr)
	return e.Run(ctx)
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
