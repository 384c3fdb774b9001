package applier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/position"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// replayer is the binlog half of the applier. Whole transactions go to its
// queue (grouper or parallel), which commits them in groups, each with its
// checkpoint; a DDL, and a transaction sent in parts, waits for the queue
// to drain and is applied on the listener's session (applied.go keeps the
// applied set).
type replayer struct {
	*dest
	queue   queue
	indexes *indexBuilder // a DDL waits for the index builds of its tables
	tx      *sql.Tx       // open while a transaction's parts arrive

	flavor   string
	executed change.GTIDSet
	// copies holds the snapshots tables were copied at, nil once the applied
	// set contains them all. Parallel workers read it while the committer
	// drops it, so it is replaced whole, never changed.
	copies   atomic.Pointer[change.CopySnapshots]
	tolerant bool // the next DDL may have run before a restart

	// handles are the transactions an operator asked to skip or replace,
	// by GTID, read with each checkpoint (handle.go); event reports each
	// one handled as a task event.
	handles map[string]position.Handle
	event   func(msg string)
}

func newReplayer(d *dest, indexes *indexBuilder, workers int) *replayer {
	r := &replayer{dest: d, indexes: indexes, tolerant: true}
	r.queue = newQueue(r, workers)
	return r
}

// learnFlavor takes the source's flavor from the first message that has one.
func (r *replayer) learnFlavor(flavor string) {
	if flavor != "" && r.flavor == "" {
		r.flavor = flavor
	}
}

// applyTxns applies source transactions in order, each in one destination
// transaction with its checkpoint.
func (r *replayer) applyTxns(ctx context.Context, txns []change.Txn) error {
	for i := range txns {
		t := &txns[i]
		if h, ok := r.handles[t.GTID]; ok {
			if err := r.handle(ctx, t, h); err != nil {
				return err
			}
			continue
		}
		if t.DDL == nil && !t.More && r.tx == nil {
			if err := r.queue.submit(ctx, t); err != nil {
				return err
			}
			continue
		}
		// DDL and transactions in parts go alone, after everything before them.
		if err := r.queue.drain(); err != nil {
			return err
		}
		if t.DDL != nil {
			if err := r.applyDDL(ctx, t); err != nil {
				return txnFailed(t.GTID, err)
			}
			continue
		}
		if err := r.applyRows(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// applyRows applies one part of a transaction sent in parts (whole ones go
// to the queue). The destination transaction stays open across parts and
// commits with the last. A failure is not retried: the earlier parts are
// gone with the rollback, and the source resumes from the checkpoint.
func (r *replayer) applyRows(ctx context.Context, t *change.Txn) error {
	err := func() error {
		if r.tx == nil {
			tx, err := r.conn.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			r.tx = tx
			// The checkpoint goes first too: a reverse job's source
			// (skip_dtle_applied) must know it before sending any part.
			if _, err := r.writeNext(ctx, r.tx, []change.Txn{*t}); err != nil {
				return err
			}
		}
		for j := range t.Changes {
			if err := r.applyChange(ctx, r.tx, t.GTID, &t.Changes[j]); err != nil {
				return err
			}
		}
		if t.More {
			return nil
		}
		next, err := r.writeNext(ctx, r.tx, []change.Txn{*t})
		if err != nil {
			return err
		}
		err = r.tx.Commit()
		r.tx = nil
		if err == nil {
			r.adopt(next, []change.Txn{*t}, 0)
		}
		return err
	}()
	if err != nil {
		_ = r.rollback()
		return txnFailed(t.GTID, err)
	}
	return nil
}

// rollback drops a transaction whose parts stopped arriving.
func (r *replayer) rollback() error {
	if r.tx == nil {
		return nil
	}
	err := r.tx.Rollback()
	r.tx = nil
	if err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("roll back an unfinished transaction: %w", err)
	}
	return nil
}

// applyDDL runs a schema change, then records it. A DDL cannot share a
// transaction with its checkpoint, so after a restart the first DDL may find
// itself already applied; that error is taken as success.
func (r *replayer) applyDDL(ctx context.Context, t *change.Txn) error {
	d := t.DDL
	skip, err := r.copies.Load().HoldsAll(d.Tables, t.GTID)
	if err != nil {
		return fmt.Errorf("ddl %s: %w", t.GTID, err)
	}
	if !skip {
		if err := position.CheckDDL(d.SQL, d.Schema); err != nil {
			return &ApplyError{What: "DDL " + t.GTID, Err: err}
		}
		// A table may still wait for its deferred indexes: a DDL finds it
		// with all of them (DROP INDEX, a dropped column). A DDL whose tables
		// are not known (DROP DATABASE) waits for every build.
		if err := r.indexes.buildPending(ctx, r.ddl, d.Tables...); err != nil {
			return err
		}
		if d.Schema != "" {
			if _, err := r.ddl.ExecContext(ctx, "USE "+tableinfo.Quote(d.Schema)); err != nil && !alreadyApplied(err) {
				return &ApplyError{What: "USE " + d.Schema, Err: err}
			}
		}
		// Marked, so a reverse job's source does not send it back.
		if _, err := r.ddl.ExecContext(ctx, change.AppliedMark(r.job)+d.SQL); err != nil {
			if !r.tolerant || !alreadyApplied(err) {
				return &ApplyError{What: "DDL " + t.GTID, Err: err}
			}
			r.log.Info("DDL already applied before a restart", "gtid", t.GTID)
		}
	}
	r.tables.forgetAll()
	next, err := r.writeNext(ctx, r.conn, []change.Txn{*t})
	if err != nil {
		return err
	}
	r.adopt(next, []change.Txn{*t}, 0)
	return nil
}
