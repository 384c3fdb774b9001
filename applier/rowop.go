package applier

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

type opKind int

const (
	opReplace   opKind = iota + 1 // REPLACE rows of a keyed table
	opInsert                      // INSERT rows of a keyless table
	opDeleteKey                   // DELETE rows of a keyed table by key
	opRaw                         // a ready statement (keyless updates and deletes)
)

// rowOp is one write of the binlog stage. Adjacent operations of the same
// kind on the same table merge into one multi-row statement, which runs
// the rows in order just as separate statements would.
type rowOp struct {
	kind  opKind
	t     *change.Table
	rows  []change.Row
	query string
	args  []any
}

// maxMergedRows bounds the rows of one merged statement.
const maxMergedRows = 1000

// merge appends o to ops, folding it into the last operation when it can.
// rowsPerStatement is how many rows one statement of kind may carry for t:
// inserts, replaces and deletes by a one-column key go together, up to
// maxMergedRows; deletes by a composite key one by one; a ready statement
// (opRaw) carries none and never merges.
func rowsPerStatement(kind opKind, t *change.Table) int {
	switch {
	case kind == opRaw:
		return 0
	case kind == opDeleteKey && len(t.Key) > 1:
		return 1
	}
	return maxMergedRows
}

func merge(ops []rowOp, o rowOp) []rowOp {
	if n := len(ops); n > 0 {
		last := &ops[n-1]
		same := last.kind == o.kind && last.t.Schema == o.t.Schema && last.t.Name == o.t.Name
		if same && len(last.rows) < rowsPerStatement(o.kind, o.t) {
			last.rows = append(last.rows, o.rows...)
			return ops
		}
	}
	return append(ops, o)
}

// sql renders the operation as one statement.
func (o *rowOp) sql() (string, []any) {
	switch o.kind {
	case opReplace, opInsert:
		verb := "REPLACE"
		if o.kind == opInsert {
			verb = "INSERT"
		}
		stmts, args := batchInsert(verb, o.t, o.rows)
		if len(stmts) == 1 {
			return stmts[0], args[0]
		}
		// Too big for one statement: several, one after another.
		var all []any
		for _, a := range args {
			all = append(all, a...)
		}
		return strings.Join(stmts, ";\n"), all
	case opDeleteKey:
		if len(o.rows) == 1 {
			return deleteRow(o.t, o.rows[0])
		}
		col := tableinfo.Quote(o.t.Columns[o.t.Key[0]].Name)
		args := make([]any, len(o.rows))
		for i, r := range o.rows {
			args[i] = r[o.t.Key[0]]
		}
		return "DELETE FROM " + tableinfo.QuoteName(o.t.Schema, o.t.Name) + " WHERE " + col + " IN (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(o.rows)), ", ") + ")", args
	default:
		return o.query, o.args
	}
}

// execOps runs operations several per round trip, in order.
func execOps(ctx context.Context, tx *sql.Tx, ops []rowOp) error {
	b := stmtBatch{ex: tx}
	if err := b.addOps(ctx, ops); err != nil {
		return err
	}
	return b.send(ctx)
}

// applyChange applies one row change in tx.
func (r *replayer) applyChange(ctx context.Context, tx *sql.Tx, gtid string, c *change.RowChange) error {
	ops, err := r.rowOps(ctx, tx, gtid, c)
	if err != nil {
		return err
	}
	if err := execOps(ctx, tx, ops); err != nil {
		return &ApplyError{What: fmt.Sprintf("%s on %s.%s", opName(c.Op), c.Schema, c.Table), Err: err}
	}
	r.stats.RowsApplied.Add(1)
	return nil
}

// rowOps turns one row change into operations; none when the table's copy
// already holds it.
func (r *replayer) rowOps(ctx context.Context, q querier, gtid string, c *change.RowChange) ([]rowOp, error) {
	if r.copies.Load() != nil { // the key is built only while snapshots remain
		if skip, err := r.skip(gtid, c.Name()); err != nil || skip {
			return nil, err
		}
	}
	t, err := r.tables.get(ctx, q, c.Name())
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
	for _, row := range []change.Row{before, after} {
		if err := serverText(ctx, q, t, row); err != nil {
			return nil, err
		}
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

// batchOps turns a batch's row changes into operations: each row's final
// state for tables whose keys fold (netChanges), the rest in order with
// adjacent operations merged.
func (r *replayer) batchOps(ctx context.Context, q querier, batch []change.Txn) ([]rowOp, int, error) {
	var ops []rowOp
	var net netChanges
	rows := 0
	for i := range batch {
		t := &batch[i]
		for j := range t.Changes {
			tops, err := r.rowOps(ctx, q, t.GTID, &t.Changes[j])
			if err != nil {
				return nil, 0, err
			}
			for _, o := range tops {
				if !net.add(o) {
					ops = merge(ops, o)
				}
			}
			rows++
		}
	}
	return append(ops, net.ops()...), rows, nil
}
