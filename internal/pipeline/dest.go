package pipeline

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/sync/errgroup"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/transport"
)

// Dest is the destination side of a job.
type Dest struct {
	SinkConfig
	// URL and Token reach the NATS server the destination listens on (its
	// own node's), over TLS when set; Name names the connection.
	URL, Token, Name string
	TLS              *tls.Config
	// Direct, when set, is where the destination is offered to the job's
	// source in this process (transport.Direct).
	Direct *transport.Direct
	// Live, when set, is handed the running sink's figures and connection,
	// and nil once it stops.
	Live func(*Live)
}

// Run builds the sink, serves the job's stream to it until ctx ends (nil)
// or the sink or a message fails (the error), and closes it.
func (d Dest) Run(ctx context.Context) error {
	nc, err := transport.Connect(d.URL, d.Token, d.Name, d.TLS)
	if err != nil {
		return err
	}
	defer nc.Close()
	sink, err := NewSink(ctx, d.SinkConfig)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while connecting to the destination, as run
		}
		return err
	}
	return d.run(ctx, nc, sink)
}

// run serves the stream to sink over nc, and closes sink.
func (d Dest) run(ctx context.Context, nc *nats.Conn, sink Sink) error {
	defer func() { _ = sink.Close() }()
	traffic := &transport.Traffic{}
	if d.Live != nil {
		d.Live(&Live{Dest: sink.Figures(), NATS: nc, Direct: traffic})
		defer d.Live(nil)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return sink.Run(gctx) })
	g.Go(func() error { return d.serve(gctx, nc, sink, traffic) })
	err := g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// serve listens on the job's subjects for sink and ticks it, until ctx
// ends (nil) or a message or a tick fails.
func (d Dest) serve(ctx context.Context, nc *nats.Conn, sink Sink, traffic *transport.Traffic) error {
	cp, err := sink.Checkpoint(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while reading the position
		}
		return fmt.Errorf("destination checkpoint: %w", err)
	}
	if cp.Stage == change.StageIncr && d.Event != nil {
		d.Event("job_stage_incr")
	}
	seal, err := sealer(d.Secret, Key(d.Namespace, d.JobID))
	if err != nil {
		return err
	}
	recv, err := transport.Listen(ctx, nc, Key(d.Namespace, d.JobID), sink, seal)
	if err != nil {
		return err
	}
	defer recv.Close()
	recv.Offer(d.Direct, traffic)
	d.Logger.Info("destination listening", "stage", cp.Stage, "gtid_set", cp.GTIDSet)
	tick := time.NewTicker(sink.TickInterval())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-recv.Errors():
			return err
		case <-tick.C:
			if err := sink.Tick(ctx); err != nil {
				return err
			}
		}
	}
}
