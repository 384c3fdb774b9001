package applier

import (
	"context"
	"database/sql"
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
	var sb strings.Builder
	var args []any
	flush := func() error {
		if sb.Len() == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, sb.String(), args...)
		sb.Reset()
		args = args[:0]
		return err
	}
	for i := range ops {
		q, qargs := ops[i].sql()
		sb.WriteString(q)
		sb.WriteString(";\n")
		args = append(args, qargs...)
		if sb.Len() >= maxBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
