package extractor

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/mysqlconn"
)

// Sender delivers messages to the destination (internal/transport.Sender).
type Sender interface {
	Hello(ctx context.Context) (*change.Checkpoint, error)
	Send(ctx context.Context, m *change.Message) error
}

// Config is what an extractor needs.
type Config struct {
	JobID   string
	AllocID string
	Task    *config.Task
	Sender  Sender
	Logger  hclog.Logger
}

// Stages of an extractor, in Stats.Stage.
const (
	StageStarting int32 = iota
	StageFullCopy
	StageBinlog
)

// Stats are live figures of an extractor.
type Stats struct {
	Stage      atomic.Int32
	RowsRead   atomic.Int64
	TxnsRead   atomic.Int64
	TablesDone atomic.Int64
	TablesAll  atomic.Int64
	// RowsEstimate is the server's estimate of the rows this copy reads.
	RowsEstimate atomic.Int64
	BinlogFile   atomic.Pointer[string]
	BinlogPos    atomic.Int64
	// GTIDSet is what has been read, refreshed at most once a second.
	GTIDSet atomic.Pointer[string]
	// LastCommitTS is the source commit time of the last transaction read,
	// unix seconds.
	LastCommitTS atomic.Int64
	// Pending is how many complete transactions wait to be sent.
	Pending atomic.Int64
	// SentByTimeout and SentBySizeFull count the groups sent because
	// group_timeout passed or group_max_size was reached.
	SentByTimeout  atomic.Int64
	SentBySizeFull atomic.Int64
}

// Extractor reads one job's source.
type Extractor struct {
	cfg    Config
	log    hclog.Logger
	db     *sql.DB
	server mysqlconn.Server
	flavor string
	rules  *filter.Rules
	// shapes are the source definitions of binlog tables with a column map
	// or where filter, by schema NUL table.
	shapes map[string]*shape
	Stats  Stats
}

// New connects to the source.
func New(ctx context.Context, cfg Config) (*Extractor, error) {
	rules, err := filter.New(cfg.Task)
	if err != nil {
		return nil, err
	}
	db, err := mysqlconn.Open(ctx, cfg.Task.ConnectionConfig)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	srv, err := mysqlconn.Detect(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	flavor := change.FlavorMySQL
	if srv.Flavor == mysqlconn.FlavorMariaDB {
		flavor = change.FlavorMariaDB
	}
	return &Extractor{cfg: cfg, log: cfg.Logger, db: db, server: srv, flavor: flavor, rules: rules,
		shapes: map[string]*shape{}}, nil
}

// Close releases the source connections.
func (e *Extractor) Close() error { return e.db.Close() }

// Run resumes the job from the destination's checkpoint: the full copy of
// what is not copied yet, then the binlog.
func (e *Extractor) Run(ctx context.Context) error {
	cp, err := e.cfg.Sender.Hello(ctx)
	if err != nil {
		return err
	}
	if cp.Flavor != "" && cp.Flavor != e.flavor {
		return fmt.Errorf("%w: checkpoint %s, source %s", ErrFlavorChanged, cp.Flavor, e.flavor)
	}
	e.log.Info("resuming from the destination checkpoint", "stage", cp.Stage, "gtid_set", cp.GTIDSet, "tables_done", countDone(cp))
	if cp.Stage != change.StageIncr {
		e.Stats.Stage.Store(StageFullCopy)
		start := e.cfg.Task.Gtid
		if start == "" || cp.Stage == change.StageFull {
			if start, err = e.fullCopy(ctx, cp); err != nil {
				return err
			}
		}
		if err := e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindCopyDone, Flavor: e.flavor, Pos: start}); err != nil {
			return err
		}
		// The destination now knows where the binlog starts for each table.
		if cp, err = e.cfg.Sender.Hello(ctx); err != nil {
			return err
		}
	}
	e.Stats.Stage.Store(StageBinlog)
	return e.stream(ctx, cp.GTIDSet)
}

func countDone(cp *change.Checkpoint) int {
	n := 0
	for _, t := range cp.Tables {
		if t.Done {
			n++
		}
	}
	return n
}

// serverID is the replica server_id the binlog reader presents: the task's
// option, else one derived from the job and allocation so two tasks never
// share one (a duplicate would disconnect the other).
func (e *Extractor) serverID() uint32 {
	if id := e.cfg.Task.ServerID; id > 0 {
		return uint32(id)
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(e.cfg.JobID + "/" + e.cfg.AllocID))
	id := h.Sum32() | 0x40000000 // stay clear of small, hand-picked ids
	return id
}

// RunResuming calls Run until ctx ends, saying hello again whenever the
// destination asks to resync (it restarted) or cannot be reached for a
// while. Other errors end it.
func (e *Extractor) RunResuming(ctx context.Context, retryable func(error) bool) error {
	backoff := 500 * time.Millisecond
	for {
		err := e.Run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil || !retryable(err) {
			return err
		}
		e.log.Info("resuming from the destination checkpoint again", "reason", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}
