package verify

import (
	"encoding/hex"
	"regexp"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
)

// The SQL both servers run. Each row is hashed as one string of its
// compared columns in destination order, built so that equal data gives
// equal bytes on MySQL and MariaDB whatever each column's character set:
//   - text (CHAR, VARCHAR, TEXT, ENUM, SET) as its bytes when both sides
//     store it in one character set; otherwise, and for anything else
//     (JSON, ...), converted to utf8mb4 first. Bytes take no collation part;
//   - binary strings, BIT and spatial values as their bytes;
//   - integers, decimals, dates and times as the server writes them;
//   - FLOAT and DOUBLE as doubles, whose text is exact on both servers
//     (a FLOAT's own text has six digits);
//   - then the length of every text and binary value (in bytes where the
//     bytes are compared, else in characters), and a NULL flag per column,
//     so no two rows concatenate alike.
//
// A chunk's checksum is COUNT(*) and the sum of each row's CRC32, as
// DECIMAL: order does not matter, and a changed row goes unseen once in
// 2^32. A chunk that differs is compared row by row by each row's MD5.
// The conversion to utf8mb4 costs the servers more than the hash: for a
// table of one character set on both sides, as a job makes it, the chunk
// sum of sysbench's table costs a fifth of the converted MD5 sum.

// textType reports whether a column's values are text in its character
// set (not JSON, which each server writes its own way).
func textType(c *change.Column) bool {
	switch c.DataType {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		return !c.Binary
	}
	return false
}

// valueExpr is column c (quoted name) as it enters the row string, and
// whether it is a string whose length must be recorded. asBytes says that
// both sides store a text column in one character set: its bytes are then
// compared as they are.
func valueExpr(name string, c *change.Column, asBytes bool) (string, bool) {
	switch {
	case c.Binary:
		return name, true
	case change.NumericType(c.DataType), c.DataType == "year":
		return name, false
	case c.DataType == "float" || c.DataType == "double" || c.DataType == "real":
		return "(" + name + " + 0e0)", false
	case c.DataType == "date" || c.DataType == "time" || c.DataType == "datetime" || c.DataType == "timestamp":
		return name, false
	case asBytes && textType(c):
		return "CAST(" + name + " AS BINARY)", true
	}
	return "CAST(CONVERT(" + name + " USING utf8mb4) AS BINARY)", true
}

// rowString is the expression of a row's string over the columns;
// asBytes[i] is valueExpr's for column i (nil: none).
func rowString(names []string, cols []change.Column, asBytes []bool) string {
	var vals, lens, nulls []string
	for i, n := range names {
		raw := asBytes != nil && asBytes[i]
		v, str := valueExpr(n, &cols[i], raw)
		vals = append(vals, v)
		if str {
			// Bytes compared as they are are measured in bytes: LENGTH is
			// the stored length, where CHAR_LENGTH counts the characters of
			// a multi-byte text, every byte read again. Text converted is
			// measured in characters, the same in either character set.
			if cols[i].Binary || raw {
				lens = append(lens, "LENGTH("+n+")")
			} else {
				lens = append(lens, "CHAR_LENGTH("+n+")")
			}
		}
		nulls = append(nulls, "ISNULL("+n+")")
	}
	if len(lens) > 0 {
		vals = append(vals, "CONCAT_WS(',', "+strings.Join(lens, ", ")+")")
	}
	vals = append(vals, "CONCAT("+strings.Join(nulls, ", ")+")")
	return "CONCAT_WS('#', " + strings.Join(vals, ", ") + ")"
}

// rowHash is the expression of a row's MD5, 32 hex digits.
func rowHash(row string) string { return "MD5(" + row + ")" }

// sumSelect is the select list of a chunk's checksum: COUNT(*) and the
// sum of each row's CRC32.
func sumSelect(row string) string {
	return "COUNT(*), COALESCE(SUM(CRC32(" + row + ")), 0)"
}

// keyRead is key column c as rows are read for their keys: ENUM, SET and
// BIT as their numbers, which is how the key orders them.
func keyRead(name string, c *change.Column) string {
	if numericKey(c) && !change.NumericType(c.DataType) {
		return "(" + name + " + 0)"
	}
	return name
}

// numericKey reports whether a key column is bounded by numbers, written
// as literals (a quoted number would compare as a double).
func numericKey(c *change.Column) bool {
	return change.NumericType(c.DataType) || c.DataType == "enum" || c.DataType == "set" || c.DataType == "bit"
}

var numberLiteral = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// keyValue is one key value as read (keyRead) in the text protocol.
type keyValue []byte

// keyArg is a key value in SQL: a number as a literal, text as a string
// parameter, bytes as a binary one.
func keyArg(c *change.Column, v keyValue) (string, []any) {
	switch {
	case numericKey(c) && numberLiteral.Match(v):
		return string(v), nil
	case c.Binary:
		return "?", []any{[]byte(v)}
	}
	return "?", []any{string(v)}
}

// keyText shows a key value in a report: text as it is, bytes in hex.
func keyText(c *change.Column, v keyValue) string {
	if c.Binary && !numericKey(c) {
		return "0x" + hex.EncodeToString(v)
	}
	return string(v)
}

// keyCols is the key part of a plan on one side: the quoted names and
// definitions of the key columns.
type keyCols struct {
	names []string
	cols  []*change.Column
}

func (p *plan) keyCols(names []string) keyCols {
	k := keyCols{}
	for _, i := range p.key {
		k.names = append(k.names, names[i])
		k.cols = append(k.cols, &p.cols[i])
	}
	return k
}

// cmp is names[i] op v, with its arguments.
func (k keyCols) cmp(i int, op string, v keyValue, args *[]any) string {
	frag, a := keyArg(k.cols[i], v)
	*args = append(*args, a...)
	return k.names[i] + " " + op + " " + frag
}

// after is "key > v", spelled out column by column, which every server
// plans as a range on the key.
func (k keyCols) after(v []keyValue, args *[]any) string {
	var ors []string
	for i := range k.names {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, k.cmp(j, "=", v[j], args))
		}
		ands = append(ands, k.cmp(i, ">", v[i], args))
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// upTo is "key <= v".
func (k keyCols) upTo(v []keyValue, args *[]any) string {
	var ors []string
	for i := range k.names {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, k.cmp(j, "=", v[j], args))
		}
		op := "<"
		if i == len(k.names)-1 {
			op = "<="
		}
		ands = append(ands, k.cmp(i, op, v[i], args))
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// between is "lo < key <= hi"; a nil bound is open.
func (k keyCols) between(lo, hi []keyValue, args *[]any) string {
	var conds []string
	if lo != nil {
		conds = append(conds, k.after(lo, args))
	}
	if hi != nil {
		conds = append(conds, k.upTo(hi, args))
	}
	return strings.Join(conds, " AND ")
}

// in is "key is one of keys".
func (k keyCols) in(keys [][]keyValue, args *[]any) string {
	if len(k.names) == 1 {
		var vals []string
		for _, key := range keys {
			frag, a := keyArg(k.cols[0], key[0])
			vals = append(vals, frag)
			*args = append(*args, a...)
		}
		return k.names[0] + " IN (" + strings.Join(vals, ", ") + ")"
	}
	var ors []string
	for _, key := range keys {
		var ands []string
		for i := range k.names {
			ands = append(ands, k.cmp(i, "=", key[i], args))
		}
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// order is "ORDER BY key".
func (k keyCols) order() string { return " ORDER BY " + strings.Join(k.names, ", ") }

// reads is the select list of the key columns as read (keyRead).
func (k keyCols) reads() string {
	out := make([]string, len(k.names))
	for i, n := range k.names {
		out[i] = keyRead(n, k.cols[i])
	}
	return strings.Join(out, ", ")
}

// whereClause joins a row filter and a condition; either may be empty.
func whereClause(filter, cond string) string {
	switch {
	case filter == "" && cond == "":
		return ""
	case filter == "":
		return " WHERE " + cond
	case cond == "":
		return " WHERE (" + filter + ")"
	}
	return " WHERE (" + filter + ") AND " + cond
}
