package applier

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// applyTxns applies source transactions in order, each in one destination
// transaction with its checkpoint.
func (a *Applier) applyTxns(ctx context.Context, txns []change.Txn) error {
	if a.stage != change.StageIncr || a.executed == nil {
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

// applyRows applies one transaction or one part of it. A transaction that
// comes whole is retried on transient errors; one in parts is not (its
// earlier parts are gone with the rollback), and the failure makes the
// source resume from the checkpoint.
func (a *Applier) applyRows(ctx context.Context, t *change.Txn) error {
	whole := a.tx == nil && !t.More
	attempt := func() error {
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
		if err := a.executed.Add(t.GTID); err != nil {
			return err
		}
		if err := saveCheckpoint(ctx, a.tx, a.cfg.JobID, a.flavor, change.StageIncr, a.executed.String()); err != nil {
			return err
		}
		err := a.tx.Commit()
		a.tx = nil
		return err
	}
	var err error
	if whole {
		err = retry(ctx, a.log, "transaction "+t.GTID, func() error {
			snapshot := a.executed.Clone()
			e := attempt()
			if e != nil {
				_ = a.rollback()
				a.executed = snapshot
			}
			return e
		})
	} else {
		err = attempt()
	}
	if err != nil {
		_ = a.rollback()
		return fmt.Errorf("transaction %s: %w", t.GTID, err)
	}
	if !t.More {
		a.tolerant = false
		a.Stats.TxnsApplied.Add(1)
		a.Stats.LastCommitTS.Store(int64(t.Timestamp))
	}
	return nil
}

func (a *Applier) skip(gtid, schema, table string) (bool, error) {
	pos, ok := a.copyPos[schema+"."+table]
	if !ok {
		return false, nil
	}
	return pos.Contains(gtid)
}

func (a *Applier) applyChange(ctx context.Context, tx *sql.Tx, gtid string, c *change.RowChange) error {
	ops, err := a.rowOps(ctx, tx, gtid, c)
	if err != nil {
		return err
	}
	for _, o := range ops {
		q, args := o.sql()
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return &ApplyError{What: fmt.Sprintf("%s on %s.%s", opName(c.Op), c.Schema, c.Table), Err: err}
		}
	}
	a.Stats.RowsApplied.Add(1)
	return nil
}

// rowOps turns one row change into operations; none when the table's copy
// already holds it.
func (a *Applier) rowOps(ctx context.Context, q querier, gtid string, c *change.RowChange) ([]rowOp, error) {
	if skip, err := a.skip(gtid, c.Schema, c.Table); err != nil || skip {
		return nil, err
	}
	t, err := a.tables.get(ctx, q, c.Schema, c.Table)
	if err != nil {
		return nil, err
	}
	before, err := interpretRow(t, c.Before)
	if err != nil {
		return nil, &ApplyError{What: fmt.Sprintf("row of %s.%s", c.Schema, c.Table), Err: err}
	}
	after, err := interpretRow(t, c.After)
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
	skip := len(d.Tables) > 0
	for _, name := range d.Tables {
		pos, ok := a.copyPos[name]
		if !ok {
			skip = false
			break
		}
		if in, err := pos.Contains(t.GTID); err != nil || !in {
			skip = false
			break
		}
	}
	if !skip {
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
	a.tolerant = false
	a.tables.forgetAll()
	if err := a.executed.Add(t.GTID); err != nil {
		return err
	}
	if err := saveCheckpoint(ctx, a.conn, a.cfg.JobID, a.flavor, change.StageIncr, a.executed.String()); err != nil {
		return err
	}
	a.Stats.TxnsApplied.Add(1)
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
