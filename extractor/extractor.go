package extractor

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"

	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/position"
	"github.com/dtle-io/dtle/internal/progress"
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

// Stats are live figures of an extractor.
type Stats = progress.Source

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
		progress.Set(&e.Stats.Stage, change.StageFull)
		start, given := e.cfg.Task.Gtid, e.cfg.Task.Gtid != ""
		if cp.Stage == "" && e.cfg.Task.StartsAtPosition() {
			if start, err = e.positionStart(ctx); err != nil {
				return err
			}
			given = true
		}
		if !given || cp.Stage == change.StageFull {
			if start, err = e.fullCopy(ctx, cp); err != nil {
				return err
			}
		}
		if err := e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindCopyDone, Flavor: e.flavor, Snapshot: start}); err != nil {
			return err
		}
		// The destination now knows where the binlog starts for each table.
		if cp, err = e.cfg.Sender.Hello(ctx); err != nil {
			return err
		}
	}
	progress.Set(&e.Stats.Stage, change.StageIncr)
	from, err := change.ParseGTIDSet(e.flavor, cp.GTIDSet)
	if err != nil {
		return fmt.Errorf("destination checkpoint: %w", err)
	}
	return e.stream(ctx, from)
}

// positionStart is the GTID set executed at the task's binlog_file and
// binlog_pos, where a job without a checkpoint starts.
func (e *Extractor) positionStart(ctx context.Context) (string, error) {
	file, pos := e.cfg.Task.BinlogFile, e.cfg.Task.BinlogPos
	set, err := position.GTIDAt(ctx, e.db, e.flavor, file, pos)
	if position.IsPosition(err) {
		return "", fmt.Errorf("%w: %s:%d: %w", ErrBadStart, file, pos, err)
	}
	if err != nil {
		return "", err
	}
	e.log.Info("starting from a binlog position, without a full copy", "binlog_file", file, "binlog_pos", pos, "gtid_set", set)
	return set, nil
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
