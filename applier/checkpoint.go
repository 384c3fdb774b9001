package applier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/position"
)

// CheckpointSchema holds dtle's progress on the destination. Sources never
// replicate it.
const CheckpointSchema = "dtle"

var checkpointDDL = []string{
	"CREATE DATABASE IF NOT EXISTS `" + CheckpointSchema + "`",
	"CREATE TABLE IF NOT EXISTS `" + CheckpointSchema + "`.`checkpoint` (" +
		"job_id VARCHAR(190) NOT NULL PRIMARY KEY, flavor VARCHAR(16) NOT NULL, stage VARCHAR(16) NOT NULL, " +
		"gtid_set LONGTEXT NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
	"CREATE TABLE IF NOT EXISTS `" + CheckpointSchema + "`.`copy_progress` (" +
		"job_id VARCHAR(190) NOT NULL, table_schema VARCHAR(64) NOT NULL, table_name VARCHAR(64) NOT NULL, " +
		"done TINYINT NOT NULL, pos LONGTEXT NOT NULL, PRIMARY KEY (job_id, table_schema, table_name)" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
	// One row per committed chunk of a keyed table, written in the chunk's
	// transaction: the chain of lo -> hi from the start is what is copied.
	"CREATE TABLE IF NOT EXISTS `" + CheckpointSchema + "`.`copy_chunks` (" +
		"id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, job_id VARCHAR(190) NOT NULL, table_schema VARCHAR(64) NOT NULL, " +
		"table_name VARCHAR(64) NOT NULL, lo LONGBLOB NOT NULL, hi LONGBLOB NOT NULL, KEY (job_id, table_schema, table_name)" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
	// The plain indexes of a table the job created without them, added when
	// its copy is complete (indexes.go).
	"CREATE TABLE IF NOT EXISTS `" + CheckpointSchema + "`.`deferred_indexes` (" +
		"job_id VARCHAR(190) NOT NULL, table_schema VARCHAR(64) NOT NULL, table_name VARCHAR(64) NOT NULL, " +
		"definitions LONGTEXT NOT NULL, PRIMARY KEY (job_id, table_schema, table_name)" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
	// Transactions an operator asked to skip or replace (handle.go).
	position.HandleErrorDDL,
}

// ensureCheckpointTables creates dtle's tables on the destination, where
// missing.
func ensureCheckpointTables(ctx context.Context, db *sql.DB) error {
	for _, q := range checkpointDDL {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return &ApplyError{What: "checkpoint table setup", Err: err}
		}
	}
	return nil
}

// readCheckpoint reads what the destination has committed for the job.
func readCheckpoint(ctx context.Context, db *sql.DB, job string) (*change.Checkpoint, error) {
	cp := &change.Checkpoint{}
	err := db.QueryRowContext(ctx, "SELECT flavor, stage, gtid_set FROM `"+CheckpointSchema+"`.`checkpoint` WHERE job_id = ?", job).
		Scan(&cp.Flavor, &cp.Stage, &cp.GTIDSet)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	rows, err := db.QueryContext(ctx, "SELECT table_schema, table_name, done, pos FROM `"+CheckpointSchema+"`.`copy_progress` WHERE job_id = ?", job)
	if err != nil {
		return nil, fmt.Errorf("read copy progress: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var p change.TableProgress
		if err := rows.Scan(&p.Schema, &p.Table, &p.Done, &p.Snapshot); err != nil {
			return nil, fmt.Errorf("read copy progress: %w", err)
		}
		cp.Tables = append(cp.Tables, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read copy progress: %w", err)
	}
	if cp.Stage == "" && len(cp.Tables) > 0 {
		cp.Stage = change.StageFull
	}
	for i := range cp.Tables {
		p := &cp.Tables[i]
		if p.Done {
			continue
		}
		prefix, _, err := committedPrefix(ctx, db, job, p.Name())
		if err != nil {
			return nil, err
		}
		p.CopiedUpTo = prefix
	}
	return cp, nil
}

// committedPrefix follows the chunk chain of a table from the start and
// returns the last key reached, and the ids of the chunk rows on the chain.
func committedPrefix(ctx context.Context, q querier, job string, table change.TableName) ([]byte, []int64, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, lo, hi FROM `"+CheckpointSchema+"`.`copy_chunks` WHERE job_id = ? AND table_schema = ? AND table_name = ?",
		job, table.Schema, table.Table)
	if err != nil {
		return nil, nil, fmt.Errorf("read copied chunks: %w", err)
	}
	defer func() { _ = rows.Close() }()
	type link struct {
		id int64
		hi []byte
	}
	next := map[string]link{}
	for rows.Next() {
		var id int64
		var lo, hi []byte
		if err := rows.Scan(&id, &lo, &hi); err != nil {
			return nil, nil, fmt.Errorf("read copied chunks: %w", err)
		}
		next[string(lo)] = link{id, hi}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read copied chunks: %w", err)
	}
	var cur []byte
	var ids []int64
	for {
		l, ok := next[string(cur)]
		if !ok || len(ids) > len(next) {
			return cur, ids, nil
		}
		ids = append(ids, l.id)
		cur = l.hi
	}
}

// execer is a *sql.Tx or *sql.Conn.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// checkpointSQL is the statement that records the job's stage and applied
// set.
func checkpointSQL(job, flavor, stage, gtidSet string) (string, []any) {
	return "INSERT INTO `" + CheckpointSchema + "`.`checkpoint` (job_id, flavor, stage, gtid_set) VALUES (?, ?, ?, ?) " +
		"ON DUPLICATE KEY UPDATE flavor = VALUES(flavor), stage = VALUES(stage), gtid_set = VALUES(gtid_set)", []any{job, flavor, stage, gtidSet}
}

// writeCheckpoint records, through ex, the job's stage and applied set.
func writeCheckpoint(ctx context.Context, ex execer, job, flavor, stage, gtidSet string) error {
	q, args := checkpointSQL(job, flavor, stage, gtidSet)
	if _, err := ex.ExecContext(ctx, q, args...); err != nil {
		return &ApplyError{What: "checkpoint", Err: err}
	}
	return nil
}

// markTableDone records that the copy of table is complete.
func markTableDone(ctx context.Context, ex execer, job string, table change.TableName) error {
	_, err := ex.ExecContext(ctx, "UPDATE `"+CheckpointSchema+"`.`copy_progress` SET done = 1 WHERE job_id = ? AND table_schema = ? AND table_name = ?",
		job, table.Schema, table.Table)
	if err != nil {
		return &ApplyError{What: "copy progress", Err: err}
	}
	return nil
}

// markTablesDone records, in one transaction, that the copies of tables
// are complete.
func markTablesDone(ctx context.Context, conn *sql.Conn, job string, tables []change.TableName) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return &ApplyError{What: "copy progress", Err: err}
	}
	defer func() { _ = tx.Rollback() }()
	for _, t := range tables {
		if err := markTableDone(ctx, tx, job, t); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return &ApplyError{What: "copy progress", Err: err}
	}
	return nil
}

// tableProgressSQL records where the copy of a table starts; its arguments
// are job, schema, table, done and snapshot.
const tableProgressSQL = "INSERT INTO `" + CheckpointSchema + "`.`copy_progress` (job_id, table_schema, table_name, done, pos) VALUES (?, ?, ?, ?, ?) " +
	"ON DUPLICATE KEY UPDATE done = VALUES(done), pos = VALUES(pos)"
