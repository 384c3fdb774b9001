package change

import (
	"fmt"
	"strings"
)

// intBits is the width of each integer type, for reading binlog integers
// (always signed on the wire) into unsigned columns.
var intBits = map[string]uint{"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}

// InterpretRow reads a binlog row image against the destination's table
// definition: unsigned integers get their sign bit back, and text arrives in
// its column's character set, decoded to UTF-8 (a string), except text of a
// ServerDecoded set, which stays bytes for the destination to decode.
func InterpretRow(t *Table, row Row) (Row, error) {
	if row == nil {
		return nil, nil
	}
	if len(row) != len(t.Columns) {
		return nil, fmt.Errorf("the row has %d columns, the destination table %s.%s %d: the schemas differ",
			len(row), t.Schema, t.Name, len(t.Columns))
	}
	out := make(Row, len(row))
	for i, v := range row {
		out[i] = Interpret(&t.Columns[i], v)
	}
	return out, nil
}

// Unsigned gives a binlog integer of an unsigned column its sign bit back:
// ok is false when the value is already right (a signed column, or a value
// below the sign bit).
func Unsigned(dataType string, unsigned bool, x int64) (uint64, bool) {
	bits, isInt := intBits[dataType]
	if !isInt || !unsigned || x >= 0 {
		return 0, false
	}
	if bits == 64 {
		return uint64(x), true
	}
	return uint64(x) & (1<<bits - 1), true
}

// Interpret reads one binlog value against its column (see InterpretRow).
func Interpret(c *Column, v any) any {
	switch x := v.(type) {
	case int64:
		if u, ok := Unsigned(c.DataType, c.Unsigned, x); ok {
			return u
		}
		return x
	case []byte:
		if c.Binary || ServerDecoded(c.Charset) {
			return x // bytes, or text for the server to decode
		}
		return Text(x, c.Charset)
	default:
		return v
	}
}

// Text decodes bytes of a column's character set into a UTF-8 string, which
// the utf8mb4 connection writes back in the column's set. Bytes of a set
// it does not know (or that do not decode) are kept as they are.
func Text(b []byte, charset string) string {
	enc := charsetEncoding(charset)
	if ascii(b) && !wideCharsets[strings.ToLower(charset)] {
		return string(b)
	}
	if enc != nil {
		if s, err := enc.NewDecoder().Bytes(b); err == nil {
			return string(s)
		}
	}
	return string(b)
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
