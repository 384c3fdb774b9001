package applier

import (
	"strings"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// maxStatementBytes keeps one multi-row INSERT well under max_allowed_packet.
const maxStatementBytes = 4 << 20

// writable are the indexes of the columns the applier writes (not generated).
func writable(t *change.Table) []int {
	out := make([]int, 0, len(t.Columns))
	for i, c := range t.Columns {
		if !c.Generated {
			out = append(out, i)
		}
	}
	return out
}

func columnList(t *change.Table, cols []int) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tableinfo.Quote(t.Columns[c].Name))
	}
	return b.String()
}

func placeholders(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// batchInsert builds statements inserting rows, each under
// maxStatementBytes. verb is "INSERT" or "REPLACE".
func batchInsert(verb string, t *change.Table, rows []change.Row) (stmts []string, args [][]any) {
	cols := writable(t)
	head := verb + " INTO " + tableinfo.QuoteName(t.Schema, t.Name) + " (" + columnList(t, cols) + ") VALUES "
	ph := placeholders(len(cols))
	var b strings.Builder
	var cur []any
	size := 0
	flush := func() {
		if len(cur) > 0 {
			stmts = append(stmts, b.String())
			args = append(args, cur)
		}
		b.Reset()
		cur = nil
		size = 0
	}
	for _, r := range rows {
		if size == 0 {
			b.WriteString(head)
		} else {
			b.WriteString(", ")
		}
		b.WriteString(ph)
		for _, c := range cols {
			v := r[c]
			cur = append(cur, v)
			size += valueSize(v)
		}
		size += len(ph) + 2
		if size >= maxStatementBytes || len(cur)+len(cols) > 60000 {
			flush()
		}
	}
	flush()
	return stmts, args
}

func valueSize(v any) int {
	switch x := v.(type) {
	case string:
		return len(x) + 3
	case []byte:
		return 2*len(x) + 10
	default:
		return 12
	}
}

// whereRow matches a row by its key, or by every written column (null-safe)
// for a table without one. limit is " LIMIT 1" for keyless tables, which
// may hold duplicate rows.
func whereRow(t *change.Table, row change.Row) (where string, args []any, limit string) {
	cols := t.Key
	op := " = ?"
	if !t.HasKey() {
		cols = writable(t)
		op = " <=> ?"
		limit = " LIMIT 1"
	}
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = tableinfo.Quote(t.Columns[c].Name) + op
		args = append(args, row[c])
	}
	return strings.Join(parts, " AND "), args, limit
}

func deleteRow(t *change.Table, row change.Row) (string, []any) {
	where, args, limit := whereRow(t, row)
	return "DELETE FROM " + tableinfo.QuoteName(t.Schema, t.Name) + " WHERE " + where + limit, args
}

// updateRow is used for keyless tables only; keyed tables replace.
func updateRow(t *change.Table, before, after change.Row) (string, []any) {
	cols := writable(t)
	sets := make([]string, len(cols))
	args := make([]any, 0, 2*len(cols))
	for i, c := range cols {
		sets[i] = tableinfo.Quote(t.Columns[c].Name) + " = ?"
		args = append(args, after[c])
	}
	where, wargs, limit := whereRow(t, before)
	return "UPDATE " + tableinfo.QuoteName(t.Schema, t.Name) + " SET " + strings.Join(sets, ", ") +
		" WHERE " + where + limit, append(args, wargs...)
}

// keyChanged reports whether an update moves a keyed row to another key.
func keyChanged(t *change.Table, before, after change.Row) bool {
	for _, c := range t.Key {
		if !equalValue(before[c], after[c]) {
			return true
		}
	}
	return false
}

func equalValue(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && string(x) == string(y)
	default:
		return a == b
	}
}
