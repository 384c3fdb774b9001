package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dtle-io/dtle/internal/retry"
)

// Repair rewrites the rows found to differ, a batch of keys at a time, each
// batch in one destination transaction:
//
//  1. the transaction locks the job's checkpoint row on the destination
//     (SELECT ... FOR UPDATE): the applier writes that row in every
//     transaction it commits, so it commits nothing until the repair ends,
//     and the applied set A read there holds still;
//  2. the source's rows for the keys are read in a snapshot S opened after
//     that. Everything in A was committed on the source before the
//     destination applied it, so S sees all of A (checked: S's low GTID set
//     must hold A, else the batch starts again);
//  3. the keys are deleted, the source's rows written with REPLACE, and the
//     transaction commits, releasing the applier. It waited for a few
//     milliseconds: one read of at most repairBatch rows by key.
//
// Why this does not race the applier: when the rows are written, the
// destination holds exactly A, and S holds A and possibly more. Every
// transaction of S beyond A is one the applier has not applied yet; it
// will, later, and it writes whole row images by key (REPLACE, DELETE by
// key), so each row it touches ends as the source has it then, whatever the
// repair wrote. A row no later transaction touches keeps S's version, which
// is the source's. Writing the rows of a later point than A is therefore
// harmless; writing those of an earlier point would not be, and reading
// the source only once A is frozen rules it out. Deleting first (as the
// applier does) removes a row the key's collation holds equal ('a' for
// 'A'); REPLACE removes a row holding a unique value of a new row, which
// only a transaction beyond A can have moved, and which the applier will
// write again. A deadlock with the applier (it holds rows and waits for the
// checkpoint row) is retried on both sides. Tables without a key are not
// repaired: no row can be named.

// repairBatch bounds the keys of one repair transaction.
const repairBatch = 200

// repairAll rewrites the rows found to differ, then compares them again.
func (r *tableRun) repairAll(ctx context.Context) (string, error) {
	keys := make([][]keyValue, len(r.found))
	for i := range r.found {
		keys[i] = r.found[i].key
	}
	for rest := keys; len(rest) > 0; {
		n := min(len(rest), repairBatch)
		if err := r.repair(ctx, rest[:n]); err != nil {
			return TableFailed, fmt.Errorf("repair: %w", err)
		}
		r.set(func(t *TableReport) { t.Repaired += int64(n) })
		rest = rest[n:]
	}
	r.suspectAll(keys)
	left, unsettled, err := r.confirm(ctx)
	if err != nil {
		return TableFailed, fmt.Errorf("compare after repair: %w", err)
	}
	if len(left) > 0 || unsettled > 0 {
		r.set(func(t *TableReport) {
			t.Reason = joinReason(t.Reason, fmt.Sprintf("after the repair %d rows still differ and %d kept changing", len(left), unsettled))
		})
		return TableDiffers, nil
	}
	return TableRepaired, nil
}

// repair rewrites the rows of keys, retrying deadlocks and a destination
// that got ahead of the source's snapshot.
func (r *tableRun) repair(ctx context.Context, keys [][]keyValue) error {
	p := retry.Policy{First: 50 * time.Millisecond, Max: 2 * time.Second, Attempts: 20,
		Again: func(err error) bool { return transient(err) || errors.Is(err, errDestAhead) }}
	return p.Do(ctx, func() error { return r.repairOnce(ctx, keys) })
}

func (r *tableRun) repairOnce(ctx context.Context, keys [][]keyValue) error {
	tx, err := r.dst.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	cp, err := readCheckpoint(ctx, tx, r.v.cfg.JobID, true)
	if err != nil {
		return err
	}
	s, err := exactSourceSnapshot(ctx, r.src, r.flavor)
	if err != nil {
		return err
	}
	rows, err := r.sourceRows(ctx, s.conn, keys)
	low := s.low
	s.close(ctx)
	if err != nil {
		return err
	}
	if !low.ContainsSet(cp.set) {
		return fmt.Errorf("%w: applied %s, snapshot at %s", errDestAhead, cp.set, low)
	}
	var args []any
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+r.d.from+" WHERE "+r.d.key.in(keys, &args), args...); err != nil {
		return fmt.Errorf("delete from %s: %w", r.d.from, err)
	}
	for len(rows) > 0 {
		n := min(len(rows), 50)
		marks := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(r.d.names)), ", ") + ")"
		vals := make([]string, n)
		args = args[:0]
		for i, row := range rows[:n] {
			vals[i] = marks
			args = append(args, row...)
		}
		q := "REPLACE INTO " + r.d.from + " (" + strings.Join(r.d.names, ", ") + ") VALUES " + strings.Join(vals, ", ")
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("write into %s: %w", r.d.from, err)
		}
		rows = rows[n:]
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit the repair of %s: %w", r.d.from, err)
	}
	return nil
}

// sourceRows reads the compared columns of the source rows of keys (those
// the where filter passes), as values to write: NULL, bytes for binary
// strings, text for the rest. FLOAT and DOUBLE are read as doubles, whose
// text is exact.
func (r *tableRun) sourceRows(ctx context.Context, conn *sql.Conn, keys [][]keyValue) ([][]any, error) {
	cols := make([]string, len(r.s.names))
	for i, n := range r.s.names {
		cols[i] = n
		switch r.p.cols[i].DataType {
		case "float", "double", "real":
			cols[i] = "(" + n + " + 0e0)"
		}
	}
	var args []any
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + r.s.from + whereClause(r.s.where, r.s.key.in(keys, &args))
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read rows of %s: %w", r.s.from, err)
	}
	defer func() { _ = rows.Close() }()
	raw := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range raw {
		dest[i] = &raw[i]
	}
	var out [][]any
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read rows of %s: %w", r.s.from, err)
		}
		row := make([]any, len(raw))
		for i, b := range raw {
			switch {
			case b == nil:
			case r.p.cols[i].Binary:
				row[i] = append([]byte{}, b...)
			default:
				row[i] = string(b)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rows of %s: %w", r.s.from, err)
	}
	return out, nil
}
