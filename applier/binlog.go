package applier

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// applyTxns applies source transactions in order, each in one destination
// transaction with its checkpoint.
func (a *Applier) applyTxns(ctx context.Context, txns []change.Txn) error {
	if a.stage != change.StageIncr {
		return fmt.Errorf("binlog transaction before the full copy finished (stage %q)", a.stage)
	}
	for i := range txns {
		t := &txns[i]
		if t.DDL == nil && !t.More && a.tx == nil {
			var err error
			if a.par != nil {
				err = a.par.submit(ctx, t)
			} else {
				err = a.grp.submit(ctx, t)
			}
			if err != nil {
				return err
			}
			continue
		}
		// DDL and transactions in parts go alone, after everything before them.
		if err := a.drainTxns(); err != nil {
			return err
		}
		if t.DDL != nil {
			if err := a.applyDDL(ctx, t); err != nil {
				return err
			}
			continue
		}
		if err := a.applyRows(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// applyRows applies one part of a transaction sent in parts (whole ones go
// to the grouper or the parallel workers). The destination transaction stays
// open across parts and commits with the last. A failure is not retried:
// the earlier parts are gone with the rollback, and the source resumes from
// the checkpoint.
func (a *Applier) applyRows(ctx context.Context, t *change.Txn) error {
	err := func() error {
		if a.tx == nil {
			tx, err := a.conn.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			a.tx = tx
		}
		for j := range t.Changes {
			if err := a.applyChange(ctx, a.tx, t.GTID, &t.Changes[j]); err != nil {
				return err
			}
		}
		if t.More {
			return nil
		}
		next, err := a.checkpoint(ctx, a.tx, []change.Txn{*t})
		if err != nil {
			return err
		}
		err = a.tx.Commit()
		a.tx = nil
		if err == nil {
			a.applied(next, []change.Txn{*t}, 0)
		}
		return err
	}()
	if err != nil {
		_ = a.rollback()
		return fmt.Errorf("transaction %s: %w", t.GTID, err)
	}
	return nil
}

// checkpoint writes, in ex's transaction, the applied set extended by txns
// and returns it; the caller adopts it with applied once ex commits.
func (a *Applier) checkpoint(ctx context.Context, ex execer, txns []change.Txn) (change.GTIDSet, error) {
	next := a.executed.Clone()
	for i := range txns {
		if err := next.Add(txns[i].GTID); err != nil {
			return nil, err
		}
	}
	return next, saveCheckpoint(ctx, ex, a.cfg.JobID, a.flavor, change.StageIncr, next.String())
}

// applied adopts a committed checkpoint. Once it holds the latest snapshot
// any table was copied at, no later event can be inside one, and the
// per-row snapshot check is dropped.
func (a *Applier) applied(next change.GTIDSet, txns []change.Txn, rows int) {
	a.executed = next
	a.tolerant = false
	a.Stats.TxnsApplied.Add(int64(len(txns)))
	a.Stats.RowsApplied.Add(int64(rows))
	a.Stats.LastCommitTS.Store(int64(txns[len(txns)-1].Timestamp))
	last := &txns[len(txns)-1]
	a.Stats.LogPos.Store(int64(last.LogPos))
	if f := a.Stats.LogFile.Load(); last.LogFile != "" && (f == nil || *f != last.LogFile) {
		file := last.LogFile
		a.Stats.LogFile.Store(&file)
	}
	if now := time.Now(); now.Sub(a.published) >= time.Second {
		a.published = now
		s := next.String()
		a.Stats.GTIDSet.Store(&s)
	}
	if s := a.copies.Load(); s != nil && s.PassedBy(next) {
		a.copies.Store(nil)
	}
}

// skip reports whether table ("schema.table") was copied at a snapshot that
// already holds transaction gtid.
func (a *Applier) skip(gtid, table string) (bool, error) {
	return a.copies.Load().Holds(table, gtid)
}

func (a *Applier) applyChange(ctx context.Context, tx *sql.Tx, gtid string, c *change.RowChange) error {
	ops, err := a.rowOps(ctx, tx, gtid, c)
	if err != nil {
		return err
	}
	if err := execOps(ctx, tx, ops); err != nil {
		return &ApplyError{What: fmt.Sprintf("%s on %s.%s", opName(c.Op), c.Schema, c.Table), Err: err}
	}
	a.Stats.RowsApplied.Add(1)
	return nil
}

// rowOps turns one row change into operations; none when the table's copy
// already holds it.
func (a *Applier) rowOps(ctx context.Context, q querier, gtid string, c *change.RowChange) ([]rowOp, error) {
	if a.copies.Load() != nil { // the key is built only while snapshots remain
		if skip, err := a.skip(gtid, c.Schema+"."+c.Table); err != nil || skip {
			return nil, err
		}
	}
	t, err := a.tables.get(ctx, q, c.Schema, c.Table)
	if err != nil {
		return nil, err
	}
	before, err := change.InterpretRow(t, c.Before)
	if err != nil {
		return nil, &ApplyError{What: fmt.Sprintf("row of %s.%s", c.Schema, c.Table), Err: err}
	}
	after, err := change.InterpretRow(t, c.After)
	if err != nil {
		return nil, &ApplyError{What: fmt.Sprintf("row of %s.%s", c.Schema, c.Table), Err: err}
	}
	switch {
	case c.Op == change.OpInsert && t.HasKey():
		// REPLACE makes replaying a span the copy already holds harmless.
		return []rowOp{{kind: opReplace, t: t, rows: []change.Row{after}}}, nil
	case c.Op == change.OpInsert:
		return []rowOp{{kind: opInsert, t: t, rows: []change.Row{after}}}, nil
	case c.Op == change.OpDelete && t.HasKey():
		return []rowOp{{kind: opDeleteKey, t: t, rows: []change.Row{before}}}, nil
	case c.Op == change.OpDelete:
		q, args := deleteRow(t, before)
		return []rowOp{{kind: opRaw, t: t, query: q, args: args}}, nil
	case c.Op == change.OpUpdate && t.HasKey():
		var ops []rowOp
		if keyChanged(t, before, after) {
			ops = append(ops, rowOp{kind: opDeleteKey, t: t, rows: []change.Row{before}})
		}
		return append(ops, rowOp{kind: opReplace, t: t, rows: []change.Row{after}}), nil
	case c.Op == change.OpUpdate:
		q, args := updateRow(t, before, after)
		return []rowOp{{kind: opRaw, t: t, query: q, args: args}}, nil
	default:
		return nil, fmt.Errorf("row change of unknown kind %d", c.Op)
	}
}

func opName(op change.Op) string {
	switch op {
	case change.OpInsert:
		return "insert"
	case change.OpUpdate:
		return "update"
	default:
		return "delete"
	}
}

// applyDDL runs a schema change, then records it. A DDL cannot share a
// transaction with its checkpoint, so after a restart the first DDL may find
// itself already applied; that error is taken as success.
func (a *Applier) applyDDL(ctx context.Context, t *change.Txn) error {
	d := t.DDL
	skip, err := a.copies.Load().HoldsAll(d.Tables, t.GTID)
	if err != nil {
		return fmt.Errorf("ddl %s: %w", t.GTID, err)
	}
	if !skip {
		// A table may still wait for its deferred indexes: a DDL finds it
		// with all of them (DROP INDEX, a dropped column). A DDL whose tables
		// are not known (DROP DATABASE) waits for every build.
		if err := a.buildPending(ctx, a.conn, d.Tables...); err != nil {
			return err
		}
		if d.Schema != "" {
			if _, err := a.conn.ExecContext(ctx, "USE "+tableinfo.Quote(d.Schema)); err != nil && !alreadyApplied(err) {
				return &ApplyError{What: "USE " + d.Schema, Err: err}
			}
		}
		if _, err := a.conn.ExecContext(ctx, d.SQL); err != nil {
			if !a.tolerant || !alreadyApplied(err) {
				return &ApplyError{What: "DDL " + t.GTID, Err: err}
			}
			a.log.Info("DDL already applied before a restart", "gtid", t.GTID)
		}
	}
	a.tables.forgetAll()
	next, err := a.checkpoint(ctx, a.conn, []change.Txn{*t})
	if err != nil {
		return err
	}
	a.applied(next, []change.Txn{*t}, 0)
	return nil
}

// drainTxns waits until every queued transaction is applied.
func (a *Applier) drainTxns() error {
	if a.par != nil {
		return a.par.drain()
	}
	if a.grp != nil {
		return a.grp.drain()
	}
	return nil
}
