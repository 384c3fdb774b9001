package change

import (
	"fmt"

	"golang.org/x/text/encoding/charmap"
)

// intBits is the width of each integer type, for reading binlog integers
// (always signed on the wire) into unsigned columns.
var intBits = map[string]uint{"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}

// InterpretRow reads a binlog row image against the destination's table
// definition: unsigned integers get their sign bit back, and text arrives in
// its column's character set.
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

// Interpret reads one binlog value against its column (see InterpretRow).
func Interpret(c *Column, v any) any {
	switch x := v.(type) {
	case int64:
		if bits, ok := intBits[c.DataType]; ok && c.Unsigned && x < 0 {
			if bits == 64 {
				return uint64(x)
			}
			return uint64(x) & (1<<bits - 1)
		}
		return x
	case []byte:
		if c.Binary {
			return x
		}
		return Text(x, c.Charset)
	default:
		return v
	}
}

// Text decodes bytes of a column's character set into a UTF-8 string, which
// the utf8mb4 connection writes back in the column's set.
func Text(b []byte, charset string) string {
	if charset == "latin1" {
		if s, err := charmap.Windows1252.NewDecoder().Bytes(b); err == nil {
			return string(s)
		}
	}
	return string(b)
}
