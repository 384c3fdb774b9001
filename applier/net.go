package applier

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/dtle-io/dtle/internal/change"
)

// netChanges reduces the row changes of a batch, which commits as one
// destination transaction, to each row's final state: per keyed table, the
// keys last deleted and the rows last written. A row updated, deleted and
// inserted again in the batch is written once, and the batch becomes a few
// multi-row statements per table instead of one per change.
//
// Row images hold the values as stored, so one stored row has one map key.
// The rows present at the end are the source's rows at the batch's end: they
// coexist with each other and with every row the batch leaves untouched.
// Deleting the gone keys first removes any row a collation equates with one
// of them ('a' = 'A' = 'a '), and a REPLACE of a final row then removes only
// stale versions of rows the batch touched, so the destination ends at the
// source's state whatever the order within each group.
type netChanges struct {
	tables []*netTable
	byName map[*change.Table]*netTable
	key    []byte // scratch
}

type netTable struct {
	t     *change.Table
	index map[string]int // key -> position in rows
	rows  []netRow
}

type netRow struct {
	row     change.Row // the last image: the row written, or the row deleted
	present bool
}

// add records one operation; ok is false when o must instead keep its
// place among the operations in order (keyless tables, raw statements).
func (n *netChanges) add(o rowOp) (ok bool) {
	if (o.kind != opReplace && o.kind != opDeleteKey) || !o.t.HasKey() {
		return false
	}
	if n.byName == nil {
		n.byName = map[*change.Table]*netTable{}
	}
	nt := n.byName[o.t]
	if nt == nil {
		nt = &netTable{t: o.t, index: map[string]int{}}
		n.byName[o.t] = nt
		n.tables = append(n.tables, nt)
	}
	for _, r := range o.rows {
		n.key = appendKey(n.key[:0], o.t.Key, r)
		state := netRow{row: r, present: o.kind == opReplace}
		if i, seen := nt.index[string(n.key)]; seen {
			nt.rows[i] = state
			continue
		}
		nt.index[string(n.key)] = len(nt.rows)
		nt.rows = append(nt.rows, state)
	}
	return true
}

// ops renders the final states: per table, the deletes, then the writes,
// as many rows to a statement as rowsPerStatement allows.
func (n *netChanges) ops() []rowOp {
	var ops []rowOp
	for _, nt := range n.tables {
		for _, kind := range []opKind{opDeleteKey, opReplace} {
			var rows []change.Row
			for _, r := range nt.rows {
				if r.present == (kind == opReplace) {
					rows = append(rows, r.row)
				}
			}
			per := rowsPerStatement(kind, nt.t)
			for len(rows) > 0 {
				k := min(len(rows), per)
				ops = append(ops, rowOp{kind: kind, t: nt.t, rows: rows[:k:k]})
				rows = rows[k:]
			}
		}
	}
	return ops
}

// appendKey encodes a row's key values without ambiguity.
func appendKey(b []byte, cols []int, row change.Row) []byte {
	for _, c := range cols {
		switch v := row[c].(type) {
		case nil:
			b = append(b, 'n')
		case int64:
			b = binary.BigEndian.AppendUint64(append(b, 'i'), uint64(v))
		case uint64:
			b = binary.BigEndian.AppendUint64(append(b, 'u'), v)
		case string:
			b = binary.AppendUvarint(append(b, 's'), uint64(len(v)))
			b = append(b, v...)
		case []byte:
			b = binary.AppendUvarint(append(b, 'b'), uint64(len(v)))
			b = append(b, v...)
		case float64:
			b = binary.BigEndian.AppendUint64(append(b, 'f'), math.Float64bits(v))
		default:
			s := fmt.Sprintf("%T:%v", v, v)
			b = binary.AppendUvarint(append(b, 'x'), uint64(len(s)))
			b = append(b, s...)
		}
	}
	return b
}
