package applier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/progress"
)

// progressEvery is how often the full copy reports its progress as a task event.
const progressEvery = 30 * time.Second

// Config is what an applier needs.
type Config struct {
	JobID  string
	Task   *config.Task
	Logger hclog.Logger
	// Event reports a stage change ("job_stage_full", "job_stage_incr").
	Event func(msg string)
}

// Stats are live figures of an applier.
type Stats = progress.Dest

// Applier writes one job's stream to the destination server. It is the
// pipeline's Sink: it takes messages through Checkpoint and Handle, and
// hands them to one of its two halves, the full copy (copier) and the
// binlog (replayer), which share dest.
type Applier struct {
	*dest
	event func(msg string)
	Stats Stats

	copier   *copier
	replayer *replayer

	// ready closes once Run has started the background work.
	ready    chan struct{}
	stage    string
	reported int64 // rows copied at the last progress event
}

// New connects to the destination and prepares the checkpoint tables. Run
// then does the background work; Close releases the connections.
func New(ctx context.Context, cfg Config) (*Applier, error) {
	db, err := mysqlconn.Open(ctx, cfg.Task.ConnectionConfig, mysqlconn.WithMultiStatements(), mysqlconn.WithSessionVars(sessionVars))
	if err != nil {
		return nil, err
	}
	// The session, the chunk writers, the table preparers and the marker,
	// the parallel workers, and a few for metadata reads.
	conns := 1 + chunkWriters(cfg.Task) + tablePreparers + 1 + max(cfg.Task.ParallelWorkers, 1) + 4
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if err := ensureCheckpointTables(ctx, db); err != nil {
		_ = db.Close()
		return nil, err
	}
	// Statements that come from the source (CREATE TABLE, replicated DDL,
	// index builds) run on connections that take one statement only.
	ddl, err := mysqlconn.Open(ctx, cfg.Task.ConnectionConfig, mysqlconn.WithSessionVars(sessionVars))
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	ddl.SetMaxOpenConns(4 + tablePreparers)
	a := &Applier{event: cfg.Event, ready: make(chan struct{})}
	a.dest = &dest{job: cfg.JobID, db: db, ddlDB: ddl, log: cfg.Logger, tables: newTableCache(), stats: &a.Stats, stop: newStopSignal()}
	a.Stats.QueueCapacity, a.Stats.QueueTxns = QueueCapacity, maxGroupTxns
	a.copier = newCopier(a.dest, chunkWriters(cfg.Task))
	a.replayer = newReplayer(a.dest, a.copier.indexes, cfg.Task.ParallelWorkers)
	a.replayer.event = a.notify
	return a, nil
}

// Run does the applier's background work until ctx ends (nil) or that
// work fails (the error): the chunk writers of the full copy, the builder
// of deferred indexes, and the binlog queue's workers, all in one errgroup.
// The first failure ends the rest, and the listener's side sees it.
func (a *Applier) Run(ctx context.Context) error {
	err := a.run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// run opens the listener's session and runs the background work; the stop
// signal tells the listener's side as soon as that work stops, and before
// run returns.
func (a *Applier) run(ctx context.Context) error {
	conn, err := a.session(ctx)
	if err != nil {
		a.stop.signal(err)
		return err
	}
	a.conn = conn
	defer func() { _ = conn.Close() }()
	if a.ddl, err = a.ddlSession(ctx); err != nil {
		a.stop.signal(err)
		return err
	}
	defer func() { _ = a.ddl.Close() }()
	g, gctx := errgroup.WithContext(ctx)
	context.AfterFunc(gctx, func() { a.stop.signal(context.Cause(gctx)) })
	a.copier.start(gctx, g)
	a.replayer.queue.start(gctx, g)
	close(a.ready)
	err = g.Wait() // it cancels gctx
	a.stop.signal(context.Cause(gctx))
	return err
}

// Tick reports the full copy's progress as a task event when it moved.
func (a *Applier) Tick(context.Context) error {
	if n := a.Stats.RowsCopied.Load(); n != a.reported {
		a.reported = n
		a.notify(fmt.Sprintf("full copy: %d rows copied", n))
	}
	return nil
}

// TickInterval is how often Tick reports progress.
func (a *Applier) TickInterval() time.Duration { return progressEvery }

// Figures returns the applier's live figures.
func (a *Applier) Figures() *progress.Dest { return &a.Stats }

// Close releases the destination connections.
func (a *Applier) Close() error { return errors.Join(a.db.Close(), a.ddlDB.Close()) }

// notify reports a stage change or progress as a task event.
func (a *Applier) notify(msg string) {
	if a.event != nil {
		a.event(msg)
	}
}

// Checkpoint reads the committed state and resets the binlog state to it;
// it is called for each new session. It waits for Run to start the
// background work, then for the work in flight to finish.
func (a *Applier) Checkpoint(ctx context.Context) (*change.Checkpoint, error) {
	select {
	case <-a.ready:
	case <-a.stop.stopped():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := a.stop.err(); err != nil {
		return nil, err
	}
	if err := a.replayer.rollback(); err != nil {
		return nil, err
	}
	if err := a.copier.waitChunks(); err != nil {
		return nil, err
	}
	a.copier.resetSession()
	if err := a.replayer.queue.drain(); err != nil {
		return nil, err
	}
	a.replayer.queue.reset()
	cp, err := readCheckpoint(ctx, a.db, a.job)
	if err != nil {
		return nil, err
	}
	a.setStage(cp.Stage)
	if err := a.replayer.resume(cp); err != nil {
		return nil, err
	}
	if err := a.replayer.loadHandles(ctx); err != nil {
		return nil, err
	}
	return cp, nil
}

// Handle applies one message.
func (a *Applier) Handle(ctx context.Context, m *change.Message) error {
	if err := a.stop.err(); err != nil {
		return err
	}
	a.replayer.learnFlavor(m.Flavor)
	switch m.Kind {
	case change.KindSchema:
		if err := a.startCopy(ctx, m.Flavor); err != nil {
			return err
		}
		return a.copier.createSchema(ctx, m)
	case change.KindTable:
		if err := a.startCopy(ctx, m.Flavor); err != nil {
			return err
		}
		return a.copier.createTable(ctx, m)
	case change.KindChunk:
		return a.copier.queueChunk(ctx, m)
	case change.KindTableDone:
		return a.copier.tableDone(ctx, m)
	case change.KindCopyDone:
		return a.copyDone(ctx, m)
	case change.KindTxns:
		a.Stats.TxnsReceived.Add(int64(len(m.Txns)))
		for i := range m.Txns {
			a.Stats.RowsReceived.Add(int64(len(m.Txns[i].Changes)))
		}
		if a.stage != change.StageIncr {
			return fmt.Errorf("binlog transaction before the full copy finished (stage %q)", a.stage)
		}
		return a.replayer.applyTxns(ctx, m.Txns)
	default:
		return fmt.Errorf("unknown message kind %d", m.Kind)
	}
}
