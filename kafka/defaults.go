package kafka

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
)

// Column defaults go into the field schemas as Debezium writes them: the
// constant converted to the field's type, under "default". DEFAULT NULL,
// no DEFAULT and expressions give none, except CURRENT_TIMESTAMP (NOW())
// on a DATETIME or TIMESTAMP, which Debezium takes as 1970-01-01 00:00:00
// (for a nullable TIMESTAMP, whose epoch default it drops, none).

// epochDefault is what CURRENT_TIMESTAMP is kept as.
const epochDefault = "1970-01-01 00:00:00"

// defaultOf reads a DEFAULT clause into the text kept in the catalog: a
// string's bytes, a number's digits, a bit or hex literal's unsigned value
// for a numeric or BIT column, a YEAR in four digits. ok is false for
// NULL and for expressions.
func defaultOf(e ast.ExprNode, c *colDef) (text []byte, ok bool) {
	switch x := e.(type) {
	case ast.ValueExpr:
		return literalText(x.GetValue(), c)
	case *ast.UnaryOperationExpr:
		v, isValue := x.V.(ast.ValueExpr)
		if !isValue || (x.Op != opcode.Minus && x.Op != opcode.Plus) {
			return nil, false
		}
		s, ok := literalText(v.GetValue(), c)
		if !ok || x.Op == opcode.Plus {
			return s, ok
		}
		if s[0] == '-' {
			return s[1:], true
		}
		return append([]byte{'-'}, s...), true
	case *ast.FuncCallExpr:
		if x.FnName.L == "current_timestamp" && (c.Kind == "datetime" || c.Kind == "timestamp") {
			return []byte(epochDefault), true
		}
	}
	return nil, false
}

func literalText(v any, c *colDef) ([]byte, bool) {
	switch x := v.(type) {
	case int64:
		if c.Kind == "year" && x > 0 && x < 100 {
			x = twoDigitYear(int(x))
		}
		return strconv.AppendInt(nil, x, 10), true
	case uint64:
		return strconv.AppendUint(nil, x, 10), true
	case float64:
		return strconv.AppendFloat(nil, x, 'g', -1, 64), true
	case float32:
		return strconv.AppendFloat(nil, float64(x), 'g', -1, 32), true
	case *test_driver.MyDecimal:
		return []byte(x.String()), true
	case string:
		if c.Kind == "year" && len(x) > 0 && len(x) <= 2 && isDigits(x) {
			n, _ := strconv.Atoi(x)
			return strconv.AppendInt(nil, twoDigitYear(n), 10), true // '0' and '00' are 2000
		}
		return []byte(x), true
	case test_driver.BinaryLiteral:
		if !numericKind(c.Kind) {
			return []byte(x), true
		}
		n := new(big.Int).SetBytes(x)
		if !n.IsUint64() {
			return nil, false
		}
		return strconv.AppendUint(nil, n.Uint64(), 10), true
	case []byte:
		return x, true
	}
	return nil, false // NULL, or a value no column type takes
}

func numericKind(kind string) bool {
	switch kind {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "bit", "float", "double", "real",
		"decimal", "numeric", "year":
		return true
	}
	return false
}

// twoDigitYear places a two-digit year as the server and Debezium's
// default time adjuster do: 00-69 in 2000-2069, 70-99 in 1970-1999.
func twoDigitYear(y int) int64 {
	if y < 70 {
		return int64(2000 + y)
	}
	return int64(1900 + y)
}

// defaultJSON is the column's default as the field's JSON value; nil when
// it has none or its text does not read as the column's type.
func (f *field) defaultJSON() []byte {
	c := f.col
	if !c.HasDefault || f.typ == "struct" {
		return nil
	}
	text := string(c.Default)
	var v any = strings.TrimSpace(text)
	switch c.Kind {
	case "decimal", "numeric":
		n, ok := unscaled(text, c.Scale)
		if !ok {
			return nil
		}
		v = plainDecimal(n, c.Scale) // rounded to the scale, then as decimal.handling.mode says
	case "bit":
		n, err := strconv.ParseUint(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return nil
		}
		v = n
	case "date", "datetime", "timestamp":
		s, zero, ok := temporalText(text)
		switch {
		case !ok, (zero || (c.Kind == "timestamp" && s == epochDefault)) && c.Nullable:
			return nil
		case c.Kind == "date":
			s = s[:len("2006-01-02")]
		}
		v = s
	case "time":
		s, ok := timeText(text)
		if !ok {
			return nil
		}
		v = s
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json":
		v = text
	case "float", "double":
		x, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return nil
		}
		v = x // Debezium reads a default as a double, whatever the column stores
	}
	if f.binary {
		v = []byte(text)
	}
	out, err := f.conv(nil, v)
	if err != nil || string(out) == "null" {
		return nil
	}
	return out
}

// unscaled is a decimal's text as its unscaled value at scale, rounded
// half up as Debezium rounds defaults.
func unscaled(text string, scale int) (*big.Int, bool) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(text))
	if !ok {
		return nil, false
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	num, den := new(big.Int).Abs(r.Num()), r.Denom()
	q, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	if rem.Lsh(rem, 1).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if r.Sign() < 0 {
		q.Neg(q)
	}
	return q, true
}

// temporalText reads a date or date-and-time literal the way the server
// does (any punctuation between the parts, or digits alone as YYMMDD,
// YYYYMMDD, YYMMDDhhmmss or YYYYMMDDhhmmss), a year of one or two digits
// placed by twoDigitYear, and returns it as "YYYY-MM-DD hh:mm:ss[.f]";
// zero is true for a date with a zero part.
func temporalText(text string) (s string, zero, ok bool) {
	text = strings.TrimSpace(text)
	date, clock, _ := strings.Cut(text, " ")
	if d, c, found := strings.Cut(date, "T"); found && clock == "" {
		date, clock = d, c
	}
	var parts []string
	if isDigits(date) && clock == "" {
		parts, ok = splitDigits(date)
		if !ok {
			return "", false, false
		}
	} else {
		parts = strings.FieldsFunc(date, func(r rune) bool { return r < '0' || r > '9' })
		if len(parts) != 3 {
			return "", false, false
		}
		frac := ""
		if i := strings.LastIndexByte(clock, '.'); i >= 0 {
			clock, frac = clock[:i], clock[i+1:]
		}
		parts = append(parts, strings.FieldsFunc(clock, func(r rune) bool { return r < '0' || r > '9' })...)
		if len(parts) > 6 || !isDigits(frac) && frac != "" {
			return "", false, false
		}
		for len(parts) < 6 {
			parts = append(parts, "0")
		}
		if frac != "" {
			parts = append(parts, frac)
		}
	}
	var n [6]int
	for i := range n {
		v, err := strconv.Atoi(parts[i])
		if err != nil {
			return "", false, false
		}
		n[i] = v
	}
	if len(parts[0]) <= 2 {
		n[0] = int(twoDigitYear(n[0]))
	}
	if n[1] > 12 || n[2] > 31 || n[3] > 23 || n[4] > 59 || n[5] > 59 {
		return "", false, false
	}
	s = fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d", n[0], n[1], n[2], n[3], n[4], n[5])
	if len(parts) > 6 {
		s += "." + parts[6]
	}
	return s, n[0] == 0 || n[1] == 0 || n[2] == 0, true
}

// splitDigits splits a date written as digits alone.
func splitDigits(s string) ([]string, bool) {
	var widths []int
	switch len(s) {
	case 6:
		widths = []int{2, 2, 2}
	case 8:
		widths = []int{4, 2, 2}
	case 12:
		widths = []int{2, 2, 2, 2, 2, 2}
	case 14:
		widths = []int{4, 2, 2, 2, 2, 2}
	default:
		return nil, false
	}
	var out []string
	for _, w := range widths {
		out, s = append(out, s[:w]), s[w:]
	}
	for len(out) < 6 {
		out = append(out, "0")
	}
	return out, true
}

// timeText reads a TIME literal ("[-][D ]hh:mm[:ss[.f]]", or digits as
// [hh]mmss) as "[-]hh:mm:ss[.f]".
func timeText(text string) (string, bool) {
	s := strings.TrimSpace(text)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s, frac = s[:i], s[i:]
	}
	days := 0
	if d, rest, found := strings.Cut(s, " "); found {
		n, err := strconv.Atoi(d)
		if err != nil {
			return "", false
		}
		days, s = n, rest
	}
	var parts []string
	if isDigits(s) && days == 0 {
		s = strings.Repeat("0", max(0, 6-len(s))) + s
		parts = []string{s[:len(s)-4], s[len(s)-4 : len(s)-2], s[len(s)-2:]}
	} else {
		parts = strings.Split(s, ":")
		if len(parts) == 2 {
			parts = append(parts, "0")
		}
	}
	if len(parts) != 3 {
		return "", false
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil {
			return "", false
		}
		n[i] = v
	}
	if frac != "" && !isDigits(frac[1:]) {
		return "", false
	}
	return fmt.Sprintf("%s%02d:%02d:%02d%s", sign, days*24+n[0], n[1], n[2], frac), true
}
