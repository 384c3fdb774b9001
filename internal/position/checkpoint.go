package position

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"github.com/dtle-io/dtle/internal/change"
)

// checkpointTable is the applier's checkpoint row per job
// (applier/checkpoint.go).
const checkpointTable = "`dtle`.`checkpoint`"

// Checkpoint is a job's checkpoint row.
type Checkpoint struct {
	Flavor, Stage string
	// GTIDSet is every transaction applied, in stage "incr".
	GTIDSet string
}

// QueryRower is a *sql.DB, *sql.Conn or *sql.Tx.
type QueryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ReadRow reads job's checkpoint, under a lock with forUpdate; the job
// must replicate its binlog (ErrNoCheckpoint, ErrNotReplicating).
func ReadRow(ctx context.Context, q QueryRower, job string, forUpdate bool) (Checkpoint, error) {
	var cp Checkpoint
	query := "SELECT flavor, stage, gtid_set FROM " + checkpointTable + " WHERE job_id = ?"
	if forUpdate {
		query += " FOR UPDATE"
	}
	err := q.QueryRowContext(ctx, query, job).Scan(&cp.Flavor, &cp.Stage, &cp.GTIDSet)
	switch {
	case errors.Is(err, sql.ErrNoRows), isNoTable(err):
		return cp, fmt.Errorf("job %q: %w", job, ErrNoCheckpoint)
	case err != nil:
		return cp, fmt.Errorf("read the checkpoint: %w", err)
	case cp.Stage != change.StageIncr:
		return cp, fmt.Errorf("job %q: %w (stage %q): let its full copy finish first", job, ErrNotReplicating, cp.Stage)
	}
	return cp, nil
}

// Read reads a job's checkpoint; the job must replicate its binlog.
func Read(ctx context.Context, db *sql.DB, job string) (Checkpoint, error) {
	return ReadRow(ctx, db, job, false)
}

// Moved is a checkpoint moved: from one applied set to another.
type Moved struct {
	Flavor   string
	From, To string
}

// Move rewrites job's checkpoint to the applied set to: a job resumed
// after it reads the binlog from there, skipping what lies between (moved
// forward) or applying it again (moved back). Tables copied at snapshots
// after to still skip the events their rows hold. The job's tasks must be
// stopped: the row is locked while it is rewritten, but a running applier
// would go on from what it had read before.
func Move(ctx context.Context, db *sql.DB, job, to string) (Moved, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Moved{}, fmt.Errorf("move the checkpoint: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	cp, err := ReadRow(ctx, tx, job, true)
	if err != nil {
		return Moved{}, err
	}
	set, err := NormalizeSet(cp.Flavor, to)
	if err != nil {
		return Moved{}, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE "+checkpointTable+" SET gtid_set = ? WHERE job_id = ?", set, job); err != nil {
		return Moved{}, fmt.Errorf("move the checkpoint: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Moved{}, fmt.Errorf("move the checkpoint: %w", err)
	}
	return Moved{Flavor: cp.Flavor, From: cp.GTIDSet, To: set}, nil
}

// erNoSuchTable is MySQL's "table doesn't exist".
const erNoSuchTable = 1146

// isNoTable reports whether err says a table does not exist: dtle's tables
// are made by the applier when it first runs.
func isNoTable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == erNoSuchTable
}
