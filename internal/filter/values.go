package filter

import (
	"bytes"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/shopspring/decimal"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

// The values of an evaluation: nil (NULL), int64, uint64, float64,
// decimal.Decimal, string (text) and []byte (binary string). Booleans are
// int64 0 and 1, as in SQL.

// member is an ENUM or SET value: its name(s) as text, its index or bitmap
// in a numeric context.
type member struct {
	name string
	n    int64
}

// hexLiteral is X'..', 0x.. or b'..': a binary string, or in a numeric
// context the big-endian number of its bytes.
type hexLiteral []byte

func (h hexLiteral) number() uint64 {
	var n uint64
	for _, b := range h {
		n = n<<8 | uint64(b)
	}
	return n
}

func boolValue(b bool) any {
	if b {
		return int64(1)
	}
	return int64(0)
}

func boolOrNull(b, known bool) any {
	if !known {
		return nil
	}
	return boolValue(b)
}

// truth is a value as a condition: known is false for NULL.
func truth(v any) (value, known bool) {
	switch x := number(v).(type) {
	case int64:
		return x != 0, true
	case uint64:
		return x != 0, true
	case float64:
		return x != 0, true
	case decimal.Decimal:
		return !x.IsZero(), true
	}
	return false, false
}

func and3(a, b any) any {
	x, kx := truth(a)
	y, ky := truth(b)
	if (kx && !x) || (ky && !y) {
		return boolValue(false)
	}
	return boolOrNull(true, kx && ky)
}

func or3(a, b any) any {
	x, kx := truth(a)
	y, ky := truth(b)
	if (kx && x) || (ky && y) {
		return boolValue(true)
	}
	return boolOrNull(false, kx && ky)
}

// not negates a condition when negate is set; NULL stays NULL.
func not(v any, negate bool) any {
	t, known := truth(v)
	return boolOrNull(t != negate, known)
}

// number reads a value in a numeric context: strings by their longest
// numeric prefix as a double, as the server does ('12abc' is 12).
func number(v any) any {
	switch x := v.(type) {
	case string:
		return parseDouble(x)
	case []byte:
		return parseDouble(string(x))
	case float32:
		return float64(x)
	case int:
		return int64(x)
	case member:
		return x.n
	case hexLiteral:
		return x.number()
	}
	return v
}

// stringish is a value in a string context: text, bytes, or nothing (a
// number).
func stringish(v any) (text string, bin []byte, isText, isBin bool) {
	switch x := v.(type) {
	case string:
		return x, nil, true, false
	case member:
		return x.name, nil, true, false
	case []byte:
		return "", x, false, true
	case hexLiteral:
		return "", x, false, true
	}
	return "", nil, false, false
}

func parseDouble(s string) float64 {
	s = strings.TrimLeft(s, " \t\n\r")
	digits := func(i int) int {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i
	}
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	end = digits(end)
	if end < len(s) && s[end] == '.' {
		end = digits(end + 1)
	}
	if end < len(s) && (s[end] == 'e' || s[end] == 'E') {
		exp := end + 1
		if exp < len(s) && (s[exp] == '-' || s[exp] == '+') {
			exp++
		}
		if e := digits(exp); e > exp {
			end = e
		}
	}
	f, _ := strconv.ParseFloat(s[:end], 64)
	return f
}

// decimalOf is the exact value of a DECIMAL column's text.
func decimalOf(v any) any {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return v
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return parseDouble(s)
	}
	return d
}

func toDecimal(v any) decimal.Decimal {
	switch x := v.(type) {
	case int64:
		return decimal.NewFromInt(x)
	case uint64:
		return decimal.NewFromBigInt(new(big.Int).SetUint64(x), 0)
	case float64:
		return decimal.NewFromFloat(x)
	case decimal.Decimal:
		return x
	}
	return decimal.Zero
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case float64:
		return x
	case decimal.Decimal:
		return x.InexactFloat64()
	}
	return 0
}

// compare orders two values; ok is false when either is NULL. Two strings
// compare as strings, anything else as numbers.
func compare(a, b any) (int, bool) {
	if a == nil || b == nil {
		return 0, false
	}
	as, ab, aText, aBin := stringish(a)
	bs, bb, bText, bBin := stringish(b)
	_, aHex := a.(hexLiteral)
	_, bHex := b.(hexLiteral)
	if (aText || aBin) && (bText || bBin) && (!aHex || !bHex) {
		if aBin || bBin {
			if aText {
				ab = []byte(as)
			}
			if bText {
				bb = []byte(bs)
			}
			return bytes.Compare(ab, bb), true
		}
		return compareText(as, bs), true
	}
	return compareNumbers(number(a), number(b)), true
}

func compareNumbers(a, b any) int {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmpOrdered(x, y)
		case uint64:
			if x < 0 {
				return -1
			}
			return cmpOrdered(uint64(x), y)
		}
	case uint64:
		switch y := b.(type) {
		case uint64:
			return cmpOrdered(x, y)
		case int64:
			if y < 0 {
				return 1
			}
			return cmpOrdered(x, uint64(y))
		}
	}
	_, af := a.(float64)
	_, bf := b.(float64)
	if af || bf {
		return cmpOrdered(toFloat(a), toFloat(b))
	}
	return toDecimal(a).Cmp(toDecimal(b))
}

func cmpOrdered[T int64 | uint64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// collators compare text as the servers' default collations do: case and
// accents ignored (utf8mb4_general_ci, utf8mb4_0900_ai_ci). A Collator
// keeps buffers, so each evaluation borrows one.
var collators = sync.Pool{New: func() any {
	return collate.New(language.Und, collate.IgnoreCase, collate.IgnoreDiacritics, collate.IgnoreWidth)
}}

// compareText compares text, trailing spaces ignored (PAD SPACE).
func compareText(a, b string) int {
	a, b = strings.TrimRight(a, " "), strings.TrimRight(b, " ")
	if a == b {
		return 0
	}
	c := collators.Get().(*collate.Collator)
	defer collators.Put(c)
	return c.CompareString(a, b)
}

// arith computes + - * / DIV %; NULL in, or a division by zero, is NULL.
func arith(op opcode.Op, a, b any) any {
	if a == nil || b == nil {
		return nil
	}
	x, y := number(a), number(b)
	_, xf := x.(float64)
	_, yf := y.(float64)
	if xf || yf {
		return floatArith(op, toFloat(x), toFloat(y))
	}
	dx, dy := toDecimal(x), toDecimal(y)
	_, xd := x.(decimal.Decimal)
	_, yd := y.(decimal.Decimal)
	var r decimal.Decimal
	switch op {
	case opcode.Plus:
		r = dx.Add(dy)
	case opcode.Minus:
		r = dx.Sub(dy)
	case opcode.Mul:
		r = dx.Mul(dy)
	case opcode.Div:
		if dy.IsZero() {
			return nil
		}
		return dx.DivRound(dy, -dx.Exponent()+4)
	case opcode.IntDiv:
		if dy.IsZero() {
			return nil
		}
		return dx.Div(dy).Truncate(0).IntPart()
	case opcode.Mod:
		if dy.IsZero() {
			return nil
		}
		r = dx.Mod(dy)
	}
	if !xd && !yd && r.IsInteger() && r.Cmp(decimal.NewFromInt(math.MaxInt64)) <= 0 && r.Cmp(decimal.NewFromInt(math.MinInt64)) >= 0 {
		return r.IntPart()
	}
	return r
}

func floatArith(op opcode.Op, x, y float64) any {
	switch op {
	case opcode.Plus:
		return x + y
	case opcode.Minus:
		return x - y
	case opcode.Mul:
		return x * y
	}
	if y == 0 {
		return nil
	}
	switch op {
	case opcode.Div:
		return x / y
	case opcode.IntDiv:
		return int64(x / y)
	}
	return math.Mod(x, y)
}

// asString is a value in a string context.
func asString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case decimal.Decimal:
		if x.Exponent() < 0 {
			return x.StringFixed(-x.Exponent()) // keeps the column's scale: 10.50
		}
		return x.String()
	case member:
		return x.name
	case hexLiteral:
		return string(x)
	}
	return ""
}

// function is a SQL function the row filter evaluates.
type function struct {
	min, max int // arguments; max -1: any number
	f        func([]any) any
}

// stringFn applies f to a string argument; NULL stays NULL, binary stays
// binary.
func stringFn(f func(string) string) function {
	return function{1, 1, func(a []any) any {
		switch x := a[0].(type) {
		case nil:
			return nil
		case []byte:
			return []byte(f(string(x)))
		default:
			return f(asString(x))
		}
	}}
}

var functions = map[string]function{
	"lower": stringFn(strings.ToLower),
	"lcase": stringFn(strings.ToLower),
	"upper": stringFn(strings.ToUpper),
	"ucase": stringFn(strings.ToUpper),
	"trim":  stringFn(func(s string) string { return strings.Trim(s, " ") }),
	"ltrim": stringFn(func(s string) string { return strings.TrimLeft(s, " ") }),
	"rtrim": stringFn(func(s string) string { return strings.TrimRight(s, " ") }),
	"length": {1, 1, func(a []any) any {
		if a[0] == nil {
			return nil
		}
		return int64(len(asString(a[0])))
	}},
	"char_length":      {1, 1, charLength},
	"character_length": {1, 1, charLength},
	"concat": {1, -1, func(a []any) any {
		var b strings.Builder
		for _, v := range a {
			if v == nil {
				return nil
			}
			b.WriteString(asString(v))
		}
		return b.String()
	}},
	"coalesce": {1, -1, func(a []any) any {
		for _, v := range a {
			if v != nil {
				return v
			}
		}
		return nil
	}},
	"ifnull": {2, 2, func(a []any) any {
		if a[0] != nil {
			return a[0]
		}
		return a[1]
	}},
	"nullif": {2, 2, func(a []any) any {
		if n, ok := compare(a[0], a[1]); ok && n == 0 {
			return nil
		}
		return a[0]
	}},
	"if": {3, 3, func(a []any) any {
		if t, known := truth(a[0]); known && t {
			return a[1]
		}
		return a[2]
	}},
	"isnull": {1, 1, func(a []any) any { return boolValue(a[0] == nil) }},
	"abs": {1, 1, func(a []any) any {
		switch x := number(a[0]).(type) {
		case int64:
			if x < 0 {
				return -x
			}
			return x
		case float64:
			return math.Abs(x)
		case decimal.Decimal:
			return x.Abs()
		default:
			return x
		}
	}},
}

func charLength(a []any) any {
	if a[0] == nil {
		return nil
	}
	if b, ok := a[0].([]byte); ok {
		return int64(len(b))
	}
	return int64(utf8.RuneCountInString(asString(a[0])))
}

func functionList() string {
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n+"()")
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
