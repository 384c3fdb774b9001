package applier

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/position"
)

// An operator may ask, through the API, that a source transaction the
// destination refused be skipped, or replaced with statements of theirs
// (DM's handle-error). The request waits in dtle.handle_error
// (internal/position) until the replayer meets that GTID: it then applies
// the transaction alone, after everything queued before it, as the
// statements given (none: nothing), and commits the checkpoint past it and
// the request's done mark in the same destination transaction. So the
// request takes effect exactly once, for exactly that GTID: a crash before
// the commit leaves both undone, and after it the applied set holds the
// GTID, which the source never sends again.
//
// Row changes run in that transaction, each statement prepared on its own
// (the server takes one statement per prepare, so no item can carry a
// second). Schema changes commit on their own: they run first, one by one
// on the connection that takes one statement only, as a replicated DDL
// does, then the checkpoint commits; after a crash between the two they run
// again, and a statement that finds itself applied ("table exists", ...)
// counts as applied, as with replicated DDL.

// loadHandles reads the requests not handled yet, for a new session.
func (r *replayer) loadHandles(ctx context.Context) error {
	hs, err := position.Pending(ctx, r.db, r.job)
	if err != nil {
		return err
	}
	r.handles = hs
	for gtid, h := range hs {
		r.log.Info("an operator's request waits for its transaction", "gtid", gtid, "action", h.Summary())
	}
	return nil
}

// handle skips or replaces t as h asks. Parts of a transaction sent in
// parts are dropped until the last, which does the work.
func (r *replayer) handle(ctx context.Context, t *change.Txn, h position.Handle) error {
	if err := r.queue.drain(); err != nil {
		return err
	}
	if t.More {
		return nil
	}
	kind, err := position.CheckStatements(h.Statements)
	if err != nil {
		return txnFailed(t.GTID, &ApplyError{What: "the replacement", Err: err})
	}
	if kind == position.SchemaChange {
		if err := r.replaceSchema(ctx, h.Statements); err != nil {
			return txnFailed(t.GTID, err)
		}
	}
	txns := []change.Txn{*t}
	var next change.GTIDSet
	err = retryTransient(ctx, r.log, "handle transaction "+t.GTID, func() error {
		tx, err := r.conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		if kind == position.RowChange {
			for i, s := range h.Statements {
				if err := execPrepared(ctx, tx, s); err != nil {
					return &ApplyError{What: fmt.Sprintf("replacement statement %d", i+1), Err: err}
				}
			}
		}
		if next, err = r.writeNext(ctx, tx, txns); err != nil {
			return err
		}
		if err := position.MarkDone(ctx, tx, r.job, t.GTID); err != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		return txnFailed(t.GTID, err)
	}
	r.adopt(next, txns, 0)
	delete(r.handles, t.GTID)
	msg := "skipped transaction " + t.GTID
	switch n := len(h.Statements); {
	case n == 1:
		msg = "replaced transaction " + t.GTID + " with 1 statement"
	case n > 1:
		msg = fmt.Sprintf("replaced transaction %s with %d statements", t.GTID, n)
	}
	r.log.Info(msg+", as an operator asked", "gtid", t.GTID, "requested_at", h.Created.Format(time.RFC3339Nano))
	if r.event != nil {
		r.event(msg)
	}
	return nil
}

// replaceSchema runs an operator's schema changes, in order, once the
// deferred index builds are done.
func (r *replayer) replaceSchema(ctx context.Context, stmts []string) error {
	if err := r.indexes.buildPending(ctx, r.ddl); err != nil {
		return err
	}
	for i, s := range stmts {
		if _, err := r.ddl.ExecContext(ctx, s); err != nil {
			if !r.tolerant || !alreadyApplied(err) {
				return &ApplyError{What: fmt.Sprintf("replacement statement %d", i+1), Err: err}
			}
			r.log.Info("a replacement statement was applied before a restart", "statement", i+1)
		}
	}
	r.tables.forgetAll()
	return nil
}

// execPrepared runs one statement as a prepared statement: the server
// refuses a second statement in it.
func execPrepared(ctx context.Context, tx *sql.Tx, s string) error {
	stmt, err := tx.PrepareContext(ctx, s)
	if err != nil {
		return err
	}
	defer func() { _ = stmt.Close() }()
	_, err = stmt.ExecContext(ctx)
	return err
}
