package applier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"golang.org/x/sync/semaphore"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/progress"
	"github.com/dtle-io/dtle/internal/transport"
)

// QueueCapacity bounds the row data of binlog transactions taken from the
// source and not yet applied; the applier stops taking messages at it.
const QueueCapacity = 64 << 20

// progressEvery is how often the full copy reports its progress as a task event.
const progressEvery = 30 * time.Second

// Config is what an applier needs.
type Config struct {
	JobID  string
	Task   *config.Task
	NATS   *nats.Conn
	Logger hclog.Logger
	// Event reports a stage change ("job_stage_full", "job_stage_incr").
	Event func(msg string)
}

// Stats are live figures of an applier.
type Stats = progress.Dest

// Applier writes one job's stream to the destination server.
type Applier struct {
	cfg    Config
	db     *sql.DB
	log    hclog.Logger
	Stats  Stats
	tables *tableCache

	// Full copy.
	resumed map[string]bool // schema.table -> resumed by key this session
	// loads holds the LOAD DATA plan of each table that has one (load.go);
	// load is the destination's support, read at the first table.
	loads       map[string]*loadPlan
	load        *loadSupport
	loadRefused atomic.Bool // the destination refused LOAD DATA LOCAL: INSERT from then on
	// indexWake wakes the builder of deferred indexes (indexes.go); indexMu
	// keeps builds one at a time.
	indexWake chan struct{}
	indexMu   sync.Mutex
	chunks    chan chunkJob
	chunkWG   sync.WaitGroup
	copyErr   atomic.Pointer[error]

	// fatal carries the first failure of asynchronous applying.
	fatal chan error
	// budget holds QueueCapacity; a queued transaction holds its Size until applied.
	budget *semaphore.Weighted

	// Binlog.
	par  *parallel // parallel_workers > 1
	grp  *grouper  // parallel_workers <= 1
	conn *sql.Conn
	// published is when Stats.GTIDSet was last refreshed.
	published time.Time
	tx        *sql.Tx // open while a transaction's parts arrive
	flavor    string
	stage     string
	executed  change.GTIDSet
	// copies holds the snapshots tables were copied at, nil once the applied
	// set contains them all. Parallel workers read it while the committer
	// drops it, so it is replaced whole, never changed.
	copies   atomic.Pointer[change.CopySnapshots]
	tolerant bool // the next DDL may have run before a restart
}

type chunkJob struct {
	table   *change.Table
	rows    change.PackedRows
	replace bool      // the table resumed: overlap with earlier rows is expected
	load    *loadPlan // nil: written as INSERT
	lo, hi  []byte    // encoded key bounds of a keyed chunk; hi nil for keyless
}

// New connects to the destination and prepares the checkpoint tables.
func New(ctx context.Context, cfg Config) (*Applier, error) {
	db, err := mysqlconn.Open(ctx, cfg.Task.ConnectionConfig, mysqlconn.WithMultiStatements(), mysqlconn.WithSessionVars(sessionVars))
	if err != nil {
		return nil, err
	}
	// The session, the chunk writers, the parallel workers, and a few for
	// metadata reads.
	conns := 1 + chunkWriters(cfg.Task) + max(cfg.Task.ParallelWorkers, 1) + 4
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if err := ensureCheckpointTables(ctx, db); err != nil {
		_ = db.Close()
		return nil, err
	}
	a := &Applier{cfg: cfg, db: db, log: cfg.Logger, tables: newTableCache(), tolerant: true, resumed: map[string]bool{}, loads: map[string]*loadPlan{},
		fatal: make(chan error, 1), budget: semaphore.NewWeighted(QueueCapacity)}
	a.Stats.QueueCapacity = QueueCapacity
	return a, nil
}

// Run serves the job's stream until ctx ends or applying fails.
func (a *Applier) Run(ctx context.Context) error {
	defer func() { _ = a.db.Close() }()
	conn, err := a.session(ctx)
	if err != nil {
		return err
	}
	a.conn = conn
	defer func() { _ = a.conn.Close() }()

	writers := chunkWriters(a.cfg.Task)
	a.chunks = make(chan chunkJob, 2*writers)
	a.indexWake = make(chan struct{}, 1)
	buildCtx, stopBuilding := context.WithCancel(ctx)
	built := make(chan struct{})
	go func() {
		defer close(built)
		a.buildIndexes(buildCtx)
	}()
	defer func() {
		stopBuilding() // a build under way is interrupted; the next start resumes it
		<-built
	}()
	a.wakeIndexBuilder() // tables an earlier start copied may still wait
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.writeChunks(ctx)
		}()
	}
	defer func() {
		close(a.chunks)
		wg.Wait()
	}()

	if n := a.cfg.Task.ParallelWorkers; n > 1 {
		if a.par, err = newParallel(ctx, a, n); err != nil {
			return err
		}
		defer a.par.close()
	} else {
		if a.grp, err = newGrouper(ctx, a); err != nil {
			return err
		}
		defer a.grp.close()
	}
	cp, err := a.Checkpoint(ctx)
	if err != nil {
		return err
	}
	if cp.Stage == change.StageIncr {
		a.event("job_stage_incr")
	}
	recv, err := transport.Listen(ctx, a.cfg.NATS, a.cfg.JobID, a)
	if err != nil {
		return err
	}
	defer recv.Close()
	a.log.Info("destination listening", "stage", cp.Stage, "gtid_set", cp.GTIDSet)
	progress := time.NewTicker(progressEvery)
	defer progress.Stop()
	var reported int64
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-recv.Errors():
			return err
		case err := <-a.fatal:
			return err
		case <-progress.C:
			if n := a.Stats.RowsCopied.Load(); n != reported {
				reported = n
				a.event(fmt.Sprintf("full copy: %d rows copied", n))
			}
		}
	}
}

// sessionVars are what every write needs, on every connection: no
// zero-date or auto-increment surprises, no foreign key checks (the source
// already enforced them, and parents may arrive after children). UTC comes
// with every mysqlconn connection.
var sessionVars = map[string]string{
	"sql_mode":           "'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'",
	"foreign_key_checks": "0",
}

// session returns a connection of its own, for a writer that keeps one.
func (a *Applier) session(ctx context.Context) (*sql.Conn, error) {
	conn, err := a.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("destination connection: %w", err)
	}
	return conn, nil
}

func (a *Applier) event(msg string) {
	if a.cfg.Event != nil {
		a.cfg.Event(msg)
	}
}

// Checkpoint reads the committed state and resets the binlog state to it;
// it is called for each new session.
func (a *Applier) Checkpoint(ctx context.Context) (*change.Checkpoint, error) {
	if err := a.rollback(); err != nil {
		return nil, err
	}
	if err := a.waitChunks(); err != nil {
		return nil, err
	}
	// Finish what is in flight; a failure is forgotten, as the new session
	// resumes from what is committed.
	_ = a.drainTxns()
	if a.par != nil {
		a.par.reset()
	}
	if a.grp != nil {
		a.grp.reset()
	}
	cp, err := loadCheckpoint(ctx, a.db, a.cfg.JobID)
	if err != nil {
		return nil, err
	}
	a.flavor = cp.Flavor
	a.setStage(cp.Stage)
	if cp.Stage == change.StageIncr {
		gs := cp.GTIDSet
		a.Stats.GTIDSet.Store(&gs)
	}
	if cp.Flavor != "" && cp.Stage == change.StageIncr {
		if a.executed, err = change.ParseGTIDSet(cp.Flavor, cp.GTIDSet); err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
	}
	if err := a.setCopyPos(cp); err != nil {
		return nil, err
	}
	a.tolerant = true
	return cp, nil
}

// Handle applies one message.
func (a *Applier) Handle(ctx context.Context, m *change.Message) error {
	if err := a.copyError(); err != nil {
		return err
	}
	if m.Flavor != "" && a.flavor == "" {
		a.flavor = m.Flavor
	}
	switch m.Kind {
	case change.KindTable:
		return a.createTable(ctx, m)
	case change.KindChunk:
		return a.queueChunk(ctx, m)
	case change.KindTableDone:
		return a.tableDone(ctx, m)
	case change.KindCopyDone:
		return a.copyDone(ctx, m)
	case change.KindTxns:
		a.Stats.TxnsReceived.Add(int64(len(m.Txns)))
		for i := range m.Txns {
			a.Stats.RowsReceived.Add(int64(len(m.Txns[i].Changes)))
		}
		return a.applyTxns(ctx, m.Txns)
	default:
		return fmt.Errorf("unknown message kind %d", m.Kind)
	}
}

func (a *Applier) rollback() error {
	if a.tx == nil {
		return nil
	}
	err := a.tx.Rollback()
	a.tx = nil
	if err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("roll back an unfinished transaction: %w", err)
	}
	return nil
}

// retry runs f until it succeeds, fails for good, or ctx ends; transient
// errors (deadlock, lock wait timeout, lost connection) back off and retry.
func retry(ctx context.Context, log hclog.Logger, what string, f func() error) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !transient(err) || attempt >= 10 {
			return err
		}
		log.Warn("transient error; retrying", "what", what, "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// chunkWriters is how many connections write full-copy chunks.
func chunkWriters(t *config.Task) int { return max(t.ParallelWorkers, 4) }

// fail reports a failure of asynchronous applying; Run returns it.
func (a *Applier) fail(err error) {
	select {
	case a.fatal <- err:
	default:
	}
}

// reserve takes t's size from the byte budget, waiting while it is spent;
// one transaction larger than the whole budget takes all of it.
func (a *Applier) reserve(ctx context.Context, t *change.Txn) error {
	n := budgetOf(t)
	if err := a.budget.Acquire(ctx, n); err != nil {
		return err
	}
	a.Stats.QueueBytes.Add(n)
	return nil
}

// release returns what reserve took for t.
func (a *Applier) release(t *change.Txn) {
	n := budgetOf(t)
	a.Stats.QueueBytes.Add(-n)
	a.budget.Release(n)
}

// setStage changes the stage, for the applier and its readers.
func (a *Applier) setStage(s string) {
	a.stage = s
	a.Stats.Stage.Store(&s)
}

func budgetOf(t *change.Txn) int64 { return min(int64(t.Size()), QueueCapacity) }

// setCopyPos records the snapshot each finished table was copied at, for
// skipping binlog events its rows already hold; positions the applied set
// has passed are left out.
func (a *Applier) setCopyPos(cp *change.Checkpoint) error {
	a.copies.Store(nil)
	if cp.Flavor == "" {
		return nil
	}
	s, err := change.NewCopySnapshots(cp.Flavor, cp.Tables, a.executed)
	if err != nil {
		return err
	}
	a.copies.Store(s)
	return nil
}
