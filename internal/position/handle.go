package position

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dtle-io/dtle/internal/change"
)

// handleTable holds, per job and GTID, a source transaction to skip or
// replace.
const handleTable = "`dtle`.`handle_error`"

// HandleErrorDDL creates dtle.handle_error: per job and GTID, the
// statements that replace the transaction (a JSON array; empty: skip it),
// when the request was recorded, and when the applier handled it (NULL
// while pending).
const HandleErrorDDL = "CREATE TABLE IF NOT EXISTS " + handleTable + " (" +
	"job_id VARCHAR(190) NOT NULL, gtid VARCHAR(190) NOT NULL, statements LONGTEXT NOT NULL, " +
	"created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), done_at TIMESTAMP(6) NULL DEFAULT NULL, " +
	"PRIMARY KEY (job_id, gtid)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"

// Handle is a source transaction to skip, or to replace with Statements.
type Handle struct {
	GTID string
	// Statements replace the transaction, in order; none: it is skipped.
	Statements []string
	// Created is when it was recorded; Done when the applier handled it,
	// zero while pending. Both UTC.
	Created, Done time.Time
}

// Action is "skip" or "replace".
func (h *Handle) Action() string {
	if len(h.Statements) == 0 {
		return "skip"
	}
	return "replace"
}

// execer is a *sql.DB, *sql.Tx or *sql.Conn.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// querier is a *sql.DB, *sql.Tx or *sql.Conn.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Record asks the applier to skip job's transaction gtid the next time it
// meets it, or with stmts to run them instead. The transaction must not be
// applied yet; a request recorded before for it is replaced. Each
// statement must pass CheckStatement, and they must be all row changes or
// all schema changes. It returns the request as recorded.
func Record(ctx context.Context, db *sql.DB, job, gtid string, stmts []string) (Handle, error) {
	if _, err := CheckStatements(stmts); err != nil {
		return Handle{}, err
	}
	if _, err := db.ExecContext(ctx, HandleErrorDDL); err != nil {
		return Handle{}, fmt.Errorf("create %s: %w", handleTable, err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Handle{}, fmt.Errorf("record the transaction to handle: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	cp, err := ReadRow(ctx, tx, job, true)
	if err != nil {
		return Handle{}, err
	}
	if gtid, err = NormalizeGTID(cp.Flavor, gtid); err != nil {
		return Handle{}, err
	}
	applied, err := change.ParseGTIDSet(cp.Flavor, cp.GTIDSet)
	if err != nil {
		return Handle{}, fmt.Errorf("the checkpoint: %w", err)
	}
	if in, err := applied.Contains(gtid); err != nil || in {
		if err == nil {
			err = fmt.Errorf("transaction %s: %w (its applied set is %s)", gtid, ErrAlreadyApplied, cp.GTIDSet)
		}
		return Handle{}, err
	}
	if stmts == nil {
		stmts = []string{}
	}
	js, err := json.Marshal(stmts)
	if err != nil {
		return Handle{}, err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO "+handleTable+" (job_id, gtid, statements) VALUES (?, ?, ?) "+
		"ON DUPLICATE KEY UPDATE statements = VALUES(statements), created_at = CURRENT_TIMESTAMP(6), done_at = NULL",
		job, gtid, string(js))
	if err != nil {
		return Handle{}, fmt.Errorf("record the transaction to handle: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Handle{}, fmt.Errorf("record the transaction to handle: %w", err)
	}
	hs, err := list(ctx, db, job, " AND gtid = ?", gtid)
	if err != nil || len(hs) != 1 {
		return Handle{GTID: gtid, Statements: stmts, Created: time.Now().UTC()}, err
	}
	return hs[0], nil
}

// Cancel drops job's pending request for gtid.
func Cancel(ctx context.Context, db *sql.DB, job, gtid string) error {
	cp, err := Read(ctx, db, job)
	if err != nil {
		return err
	}
	if gtid, err = NormalizeGTID(cp.Flavor, gtid); err != nil {
		return err
	}
	res, err := db.ExecContext(ctx, "DELETE FROM "+handleTable+" WHERE job_id = ? AND gtid = ? AND done_at IS NULL", job, gtid)
	if isNoTable(err) {
		return fmt.Errorf("transaction %s: %w", gtid, ErrNoHandle)
	}
	if err != nil {
		return fmt.Errorf("cancel: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("transaction %s: %w", gtid, ErrNoHandle)
	}
	return nil
}

// List is every request recorded for job, pending and handled, oldest
// first.
func List(ctx context.Context, db *sql.DB, job string) ([]Handle, error) {
	hs, err := list(ctx, db, job, "")
	if isNoTable(err) {
		return nil, nil
	}
	return hs, err
}

// Pending is job's requests not handled yet, by GTID.
func Pending(ctx context.Context, q querier, job string) (map[string]Handle, error) {
	hs, err := list(ctx, q, job, " AND done_at IS NULL")
	if err != nil {
		return nil, err
	}
	out := make(map[string]Handle, len(hs))
	for _, h := range hs {
		out[h.GTID] = h
	}
	return out, nil
}

// timeLayout is how the server writes a TIMESTAMP(6) (the connection's
// time zone is UTC).
const timeLayout = "2006-01-02 15:04:05.999999"

func list(ctx context.Context, q querier, job, where string, args ...any) ([]Handle, error) {
	rows, err := q.QueryContext(ctx, "SELECT gtid, statements, created_at, done_at FROM "+handleTable+
		" WHERE job_id = ?"+where+" ORDER BY created_at, gtid", append([]any{job}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", handleTable, err)
	}
	defer func() { _ = rows.Close() }()
	var out []Handle
	for rows.Next() {
		var h Handle
		var stmts, created string
		var done sql.NullString
		if err := rows.Scan(&h.GTID, &stmts, &created, &done); err != nil {
			return nil, fmt.Errorf("read %s: %w", handleTable, err)
		}
		if err := json.Unmarshal([]byte(stmts), &h.Statements); err != nil {
			return nil, fmt.Errorf("read %s: statements of %s: %w", handleTable, h.GTID, err)
		}
		h.Created, _ = time.Parse(timeLayout, created)
		if done.Valid {
			h.Done, _ = time.Parse(timeLayout, done.String)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", handleTable, err)
	}
	return out, nil
}

// MarkDone records, through ex, that job's transaction gtid was handled:
// ex is the transaction that advances the checkpoint past it.
func MarkDone(ctx context.Context, ex execer, job, gtid string) error {
	_, err := ex.ExecContext(ctx, "UPDATE "+handleTable+" SET done_at = CURRENT_TIMESTAMP(6) WHERE job_id = ? AND gtid = ? AND done_at IS NULL",
		job, gtid)
	if err != nil {
		return fmt.Errorf("mark transaction %s handled: %w", gtid, err)
	}
	return nil
}

// Summary is a request in a few words, for logs and events.
func (h *Handle) Summary() string {
	if len(h.Statements) == 0 {
		return "skip"
	}
	if len(h.Statements) == 1 {
		return "replace with 1 statement"
	}
	return fmt.Sprintf("replace with %d statements", len(h.Statements))
}
