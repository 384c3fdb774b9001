package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// Defaults of Config.
const (
	DefaultMaxKeys        = 100
	DefaultCatchUpTimeout = 2 * time.Minute
	DefaultAttempts       = 6
)

// Config is one comparison of a job's tables.
type Config struct {
	// JobID names the job in the destination's checkpoint (for a job of
	// Nomad's default namespace, its id).
	JobID string
	// Source is the job's source task: its connection (password in clear)
	// and its rules; its chunk_size is the default chunk size.
	Source *config.Task
	// Dest is the destination's connection, password in clear.
	Dest *config.MySQLConnection
	// Tables limits the comparison to these source tables; nil compares
	// every table the job replicates.
	Tables []change.TableName
	// ChunkSize is the rows per chunk. 0 sizes chunks to the server's speed:
	// the first has the job's chunk_size rows, the next are sized to take
	// about chunkTarget to sum on the source, at most maxChunkRows rows.
	ChunkSize int
	// RowsPerSecond caps the source rows read per second; 0: no cap.
	RowsPerSecond int
	// Repair rewrites the rows that differ on the destination.
	Repair bool
	// MaxKeys caps the keys listed per kind of difference and table (0:
	// DefaultMaxKeys); the counts are always whole.
	MaxKeys int
	// CatchUpTimeout bounds each wait for the destination to apply a source
	// snapshot (0: DefaultCatchUpTimeout).
	CatchUpTimeout time.Duration
	// Attempts bounds the row-by-row comparisons of a chunk that differs
	// (0: DefaultAttempts).
	Attempts int
	Logger   hclog.Logger
}

// Verifier runs one comparison. Report is safe to call while Run runs.
type Verifier struct {
	cfg   Config
	rules *filter.Rules
	// adaptive sizes chunks to the server's speed (Config.ChunkSize 0).
	adaptive bool
	log      hclog.Logger

	mu     sync.Mutex
	report Report
}

// New checks cfg and compiles the job's rules.
func New(cfg Config) (*Verifier, error) {
	if cfg.JobID == "" {
		return nil, fmt.Errorf("%w: no job id", ErrConfig)
	}
	if cfg.Source == nil || cfg.Source.ConnectionConfig == nil || cfg.Dest == nil {
		return nil, fmt.Errorf("%w: the source and destination connections are required", ErrConfig)
	}
	if cfg.ChunkSize < 0 || cfg.RowsPerSecond < 0 || cfg.MaxKeys < 0 || cfg.Attempts < 0 {
		return nil, fmt.Errorf("%w: chunk size, rows per second, keys and attempts must not be negative", ErrConfig)
	}
	rules, err := filter.New(cfg.Source)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	adaptive := cfg.ChunkSize == 0
	if adaptive {
		cfg.ChunkSize = cfg.Source.ChunkSize
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = config.DefaultChunkSize
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.CatchUpTimeout == 0 {
		cfg.CatchUpTimeout = DefaultCatchUpTimeout
	}
	if cfg.Attempts == 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	v := &Verifier{cfg: cfg, rules: rules, log: cfg.Logger.With("job", cfg.JobID), adaptive: adaptive}
	v.report = Report{JobID: cfg.JobID, State: StateRunning, Repair: cfg.Repair, Started: time.Now(), Tables: []TableReport{}}
	return v, nil
}

// Report returns a copy of what the comparison found so far.
func (v *Verifier) Report() Report {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.report.clone()
}

// update changes the report under the lock.
func (v *Verifier) update(f func(r *Report)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f(&v.report)
}

// Run compares the tables and returns the final report; the error is what
// stopped the comparison as a whole (a failed table does not).
func (v *Verifier) Run(ctx context.Context) (Report, error) {
	err := v.run(ctx)
	v.update(func(r *Report) {
		r.Finished = time.Now()
		r.State = StateDone
		if err != nil {
			r.State, r.Error = StateFailed, err.Error()
		}
	})
	return v.Report(), err
}

// repairVars are the destination session's settings: as the applier
// writes (no zero-date or auto-increment surprises, no foreign key checks),
// and short lock waits, as a repair holds the job's checkpoint row.
var repairVars = map[string]string{
	"sql_mode":                 "'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'",
	"foreign_key_checks":       "0",
	"innodb_lock_wait_timeout": "10",
}

// open connects in utf8mb4, whatever the job's connection character set:
// every column's text reaches the comparison.
func open(ctx context.Context, c *config.MySQLConnection, opts ...mysqlconn.Option) (*sql.DB, error) {
	cc := *c
	cc.CharacterSet = config.DefaultCharacterSet
	db, err := mysqlconn.Open(ctx, &cc, opts...)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	return db, nil
}

func (v *Verifier) run(ctx context.Context) error {
	src, err := open(ctx, v.cfg.Source.ConnectionConfig)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer func() { _ = src.Close() }()
	dst, err := open(ctx, v.cfg.Dest, mysqlconn.WithSessionVars(repairVars))
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	defer func() { _ = dst.Close() }()
	server, err := mysqlconn.Detect(ctx, src)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	flavor := change.FlavorMySQL
	if server.Flavor == mysqlconn.FlavorMariaDB {
		flavor = change.FlavorMariaDB
	}
	cp, err := readCheckpoint(ctx, dst, v.cfg.JobID, false)
	if err != nil {
		return err
	}
	if cp.flavor != flavor {
		return fmt.Errorf("%w: the checkpoint of job %q is of a %s source, this source is %s", ErrConfig, v.cfg.JobID, cp.flavor, server)
	}
	items, err := v.tables(ctx, src)
	if err != nil {
		return err
	}
	v.update(func(r *Report) {
		for _, it := range items {
			r.Tables = append(r.Tables, TableReport{Source: it.n, State: TableWaiting, Reason: note(it.tg),
				Dest: change.TableName{Schema: it.tg.Schema, Table: it.tg.Table}})
		}
	})
	for i, it := range items {
		run := &tableRun{v: v, src: src, dst: dst, flavor: flavor, index: i, throttle: newThrottle(v.cfg.RowsPerSecond),
			size: v.cfg.ChunkSize}
		run.compare(ctx, it)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// item is a source table the job replicates and its target.
type item struct {
	n  change.TableName
	tg *filter.Target
}

// tables lists the source tables to compare: every one the job's rules
// replicate, or those of Config.Tables, which must all be replicated.
func (v *Verifier) tables(ctx context.Context, src *sql.DB) ([]item, error) {
	all, err := tableinfo.ListTables(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	var out []item
	for _, n := range all {
		if v.cfg.Tables != nil && !slices.Contains(v.cfg.Tables, n) {
			continue
		}
		tg := v.rules.Table(n.Schema, n.Table)
		if tg == nil {
			if v.cfg.Tables != nil {
				return nil, fmt.Errorf("%w: %s", ErrNotReplicated, n)
			}
			continue
		}
		out = append(out, item{n: n, tg: tg})
	}
	var errs []error
	for _, n := range v.cfg.Tables {
		if !slices.Contains(all, n) {
			errs = append(errs, fmt.Errorf("%w: %s is not a table of the source", ErrNotReplicated, n))
		}
	}
	return out, errors.Join(errs...)
}
