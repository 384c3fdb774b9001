package applier

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

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

// packedInsert renders statements inserting packed rows (a full-copy
// chunk), each under maxStatementBytes, the values written as literals
// straight from the packed data. The session's sql_mode keeps backslash
// escapes (see sessionVars).
func packedInsert(verb string, t *change.Table, rows change.PackedRows) ([]string, error) {
	head := verb + " INTO " + tableinfo.QuoteName(t.Schema, t.Name) + " (" + columnList(t, writable(t)) + ") VALUES "
	var stmts []string
	size := min(len(head)+len(rows.Data)*5/4+8*rows.N, maxStatementBytes+64<<10)
	var b []byte
	// A statement's bytes become its string as they are: each gets its own
	// buffer, never written again.
	done := func() {
		stmts = append(stmts, unsafe.String(unsafe.SliceData(b), len(b)))
		b = nil
	}
	err := walkWritten(t, rows, func() {
		if len(b) == 0 {
			b = append(make([]byte, 0, size), head...)
		} else {
			b = append(b, ", "...)
		}
		b = append(b, '(')
	}, func(_ int, first bool, x *change.Value) {
		if !first {
			b = append(b, ", "...)
		}
		b = appendLiteral(b, x)
	}, func() {
		b = append(b, ')')
		if len(b) >= maxStatementBytes {
			done()
		}
	})
	if err != nil {
		return nil, err
	}
	if len(b) > 0 {
		done()
	}
	return stmts, nil
}

// walkWritten walks packed rows, calling begin and end around each row and
// value for each written (not generated) column's value, with the column's
// index and whether it is the row's first.
func walkWritten(t *change.Table, rows change.PackedRows, begin func(), value func(col int, first bool, x *change.Value), end func()) error {
	v := rows.Values()
	var x change.Value
	for n, ok := v.NextRow(); ok; n, ok = v.NextRow() {
		if n != len(t.Columns) {
			return fmt.Errorf("a row of %d columns for table %s.%s of %d", n, t.Schema, t.Name, len(t.Columns))
		}
		begin()
		first := true
		for i := range n {
			v.Next(&x)
			if !t.Columns[i].Generated {
				value(i, first, &x)
				first = false
			}
		}
		end()
	}
	return v.Err()
}

// appendLiteral writes a value as an SQL literal, as the driver would
// interpolate it: bytes as _binary strings, floats in the shortest form
// that reads back the same.
func appendLiteral(b []byte, x *change.Value) []byte {
	if out, ok := appendNumeric(b, x); ok {
		return out
	}
	switch x.Kind {
	case change.ValueNull:
		return append(b, "NULL"...)
	case change.ValueNumber:
		if numeral(x.Raw) {
			return append(b, x.Raw...)
		}
		b = append(b, '\'') // not a plain number: quoted, the server converts
	case change.ValueBytes:
		b = append(b, "_binary'"...)
	default:
		b = append(b, '\'')
	}
	return append(appendEscaped(b, x.Raw, &escapes), '\'')
}

// appendNumeric writes a value that is a Go number (integers, floats in
// the shortest form that reads back the same), as SQL literals and LOAD
// DATA fields both take it; ok is false for other kinds.
func appendNumeric(b []byte, x *change.Value) (out []byte, ok bool) {
	switch x.Kind {
	case change.ValueInt:
		return strconv.AppendInt(b, x.Int, 10), true
	case change.ValueUint:
		return strconv.AppendUint(b, x.Uint, 10), true
	case change.ValueFloat32, change.ValueFloat64:
		return strconv.AppendFloat(b, x.Float, 'g', -1, 64), true
	}
	return b, false
}

// numeral reports whether s is a plain decimal number: an optional sign,
// digits, and at most one point. Zero-filled integers ("0005") are not: a
// destination column of another type would lose the zeros.
func numeral(s []byte) bool {
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if len(s) > 1 && s[0] == '0' && s[1] != '.' {
		return false
	}
	digits, points := 0, 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			points++
		default:
			return false
		}
	}
	return digits > 0 && points <= 1
}

// escapes maps each byte that needs a backslash in a quoted literal to the
// letter that follows the backslash.
var escapes = [256]byte{0: '0', '\n': 'n', '\r': 'r', 0x1a: 'Z', '\'': '\'', '"': '"', '\\': '\\'}

// appendEscaped writes s with backslash escapes: each byte esc maps is
// written as a backslash and its letter. Eight bytes at a time are checked
// for anything to escape (either table's bytes are control characters,
// quotes or backslashes); most text has nothing, and is copied whole.
func appendEscaped(b, s []byte, esc *[256]byte) []byte {
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && !mayEscape(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
			continue
		}
		if e := esc[s[i]]; e != 0 {
			b = append(b, s[start:i]...)
			b = append(b, '\\', e)
			start = i + 1
		}
		i++
	}
	return append(b, s[start:]...)
}

// mayEscape reports whether any of eight bytes is a control character, a
// quote or a backslash.
func mayEscape(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(x uint64) uint64 { return (x - ones) &^ x }
	control := (w - ones*0x20) &^ w
	return (control|zero(w^ones*'"')|zero(w^ones*'\'')|zero(w^ones*'\\'))&highs != 0
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
