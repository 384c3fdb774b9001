package applier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dtle-io/dtle/internal/change"
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
}

func ensureCheckpointTables(ctx context.Context, db *sql.DB) error {
	for _, q := range checkpointDDL {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return &ApplyError{What: "checkpoint table setup", Err: err}
		}
	}
	return nil
}

// loadCheckpoint reads what the destination has committed for the job.
func loadCheckpoint(ctx context.Context, db *sql.DB, job string) (*change.Checkpoint, error) {
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
		if err := rows.Scan(&p.Schema, &p.Table, &p.Done, &p.Pos); err != nil {
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
	return cp, nil
}

// execer is a *sql.Tx or *sql.Conn.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func saveCheckpoint(ctx context.Context, ex execer, job, flavor, stage, gtidSet string) error {
	_, err := ex.ExecContext(ctx, "INSERT INTO `"+CheckpointSchema+"`.`checkpoint` (job_id, flavor, stage, gtid_set) VALUES (?, ?, ?, ?) "+
		"ON DUPLICATE KEY UPDATE flavor = VALUES(flavor), stage = VALUES(stage), gtid_set = VALUES(gtid_set)",
		job, flavor, stage, gtidSet)
	if err != nil {
		return &ApplyError{What: "checkpoint", Err: err}
	}
	return nil
}

func saveTableProgress(ctx context.Context, ex execer, job string, p change.TableProgress) error {
	_, err := ex.ExecContext(ctx, "INSERT INTO `"+CheckpointSchema+"`.`copy_progress` (job_id, table_schema, table_name, done, pos) VALUES (?, ?, ?, ?, ?) "+
		"ON DUPLICATE KEY UPDATE done = VALUES(done), pos = VALUES(pos)", job, p.Schema, p.Table, p.Done, p.Pos)
	if err != nil {
		return &ApplyError{What: "copy progress", Err: err}
	}
	return nil
}
