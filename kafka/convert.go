package kafka

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dtle-io/dtle/internal/change"
)

// Semantic type names of Debezium's MySQL connector and Kafka Connect.
const (
	nameDecimal        = "org.apache.kafka.connect.data.Decimal"
	nameDate           = "io.debezium.time.Date"
	nameMicroTime      = "io.debezium.time.MicroTime"
	nameTimestamp      = "io.debezium.time.Timestamp"
	nameMicroTimestamp = "io.debezium.time.MicroTimestamp"
	nameZoned          = "io.debezium.time.ZonedTimestamp"
	nameYear           = "io.debezium.time.Year"
	nameBits           = "io.debezium.data.Bits"
	nameEnum           = "io.debezium.data.Enum"
	nameEnumSet        = "io.debezium.data.EnumSet"
	nameJSON           = "io.debezium.data.Json"
)

// field is how one column is encoded: its Connect schema and its value.
type field struct {
	col *colDef
	// typ is the Connect type as Kafka's JsonConverter spells it: int16,
	// int32, int64, float (FLOAT32), double (FLOAT64), boolean, string,
	// bytes or struct; JsonConverter reads no other name.
	typ    string
	name   string // semantic name, or ""
	doc    string // the schema's doc, or ""
	fields string // a struct's field schemas, a JSON array
	params [][2]string
	def    []byte // the default as the field's JSON value; nil: none
	conv   func(dst []byte, v any) ([]byte, error)
	// snapConv, when set, writes the full copy's values instead of conv.
	snapConv func(dst []byte, v any) ([]byte, error)
	binary   bool // a binary string column (BINARY, VARBINARY, BLOB)
}

// fieldFor maps a column to its Debezium representation under the
// options (decimal.handling.mode, time.precision.mode,
// bigint.unsigned.handling.mode, binary.handling.mode).
func fieldFor(c *colDef, o *options) *field {
	f := &field{col: c}
	switch c.Kind {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		f.typ = intType(c)
		f.conv = f.integer
		switch {
		case c.isBoolean():
			f.typ, f.conv = "boolean", f.boolean
		case c.Kind == "bigint" && c.Unsigned && o.bigintPrecise:
			f.typ, f.name, f.conv = "bytes", nameDecimal, f.unsignedDecimal
			f.params = [][2]string{{"scale", "0"}, {"connect.decimal.precision", "20"}}
		}
	case "float":
		f.typ, f.conv = "float", f.float
		if c.ScaleSet || c.Scale > 0 || c.Length > 24 {
			f.typ = "double" // FLOAT(M,D) and FLOAT(p) for p > 24
		}
	case "double", "real":
		f.typ, f.conv = "double", f.float
		if c.Declared == "REAL" {
			f.typ = "float"
		}
	case "decimal", "numeric":
		f.decimalField(o.decimal)
	case "bit":
		if c.Length <= 1 {
			f.typ, f.conv = "boolean", f.bitBool
		} else {
			f.typ, f.name, f.conv = "bytes", nameBits, f.bits
			f.params = [][2]string{{"length", strconv.Itoa(c.Length)}}
		}
	case "date", "time", "datetime":
		f.temporalField(o.connectTime)
	case "timestamp":
		f.typ, f.name, f.conv, f.snapConv = "string", nameZoned, f.timestamp, f.timestampTrimmed
	case "year":
		f.typ, f.name, f.conv = "int32", nameYear, f.year
	case "enum":
		f.typ, f.name, f.conv = "string", nameEnum, f.enum
		f.params = [][2]string{{"allowed", allowed(c.Elems)}}
	case "set":
		f.typ, f.name, f.conv = "string", nameEnumSet, f.set
		f.params = [][2]string{{"allowed", allowed(c.Elems)}}
	case "json":
		f.typ, f.name, f.conv = "string", nameJSON, f.text
	case "point":
		f.typ, f.name, f.doc, f.fields, f.conv = "struct", namePoint, "Geometry (POINT)", pointFields, f.point
	case "geometry", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection", "geomcollection":
		f.typ, f.name, f.doc, f.fields, f.conv = "struct", nameGeometry, "Geometry", geometryFields, f.geometry
	default:
		if c.Charset == "binary" || strings.Contains(c.Kind, "blob") || strings.Contains(c.Kind, "binary") || !isText(c.Kind) {
			f.binaryField(o.binary)
		} else {
			f.typ, f.conv = "string", f.text
		}
	}
	f.def = f.defaultJSON()
	return f
}

// allowed is the "allowed" parameter of an ENUM or SET: the members,
// comma-separated, a comma inside a member written "\," as Debezium
// writes it.
func allowed(members []string) string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = strings.ReplaceAll(m, ",", `\,`)
	}
	return strings.Join(out, ",")
}

func isText(kind string) bool {
	switch kind {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		return true
	}
	return false
}

// intType widens unsigned columns as Debezium does.
func intType(c *colDef) string {
	switch c.Kind {
	case "tinyint":
		return "int16"
	case "smallint":
		if c.Unsigned {
			return "int32"
		}
		return "int16"
	case "mediumint":
		return "int32"
	case "int", "integer":
		if c.Unsigned {
			return "int64"
		}
		return "int32"
	}
	return "int64"
}

// integer writes a signed or unsigned integer. Binlog images carry them
// signed; the full copy as text.
func (f *field) integer(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case int64:
		if u, ok := change.Unsigned(f.col.Kind, f.col.Unsigned, x); ok {
			// A bigint keeps its 64 bits as a long
			// (bigint.unsigned.handling.mode=long).
			return strconv.AppendInt(dst, int64(u), 10), nil
		}
		return strconv.AppendInt(dst, x, 10), nil
	case uint64:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case string:
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return strconv.AppendInt(dst, n, 10), nil
		}
		n, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			return dst, fmt.Errorf("integer %q: %w", x, err)
		}
		return strconv.AppendInt(dst, int64(n), 10), nil
	case []byte:
		return f.integer(dst, string(x))
	}
	return dst, typeError(v)
}

// float writes a FLOAT, DOUBLE or REAL at its schema's size. A FLOAT is
// stored in 32 bits: its text from the full copy is read as such, and
// widened to a double as Debezium widens the driver's Float (FLOAT(M,D)
// 1.1 is 1.100000023841858 in the binlog and in the copy alike).
func (f *field) float(dst []byte, v any) ([]byte, error) {
	size, stored := 64, 64
	if f.typ == "float" {
		size = 32
	}
	if f.col.Kind == "float" {
		stored = 32
	}
	var x float64
	switch n := v.(type) {
	case float32:
		x = float64(n)
	case float64:
		x = n
	case string:
		var err error
		if x, err = strconv.ParseFloat(n, stored); err != nil {
			return dst, fmt.Errorf("float %q: %w", n, err)
		}
	case []byte:
		return f.float(dst, string(n))
	default:
		return dst, typeError(v)
	}
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return append(dst, "null"...), nil
	}
	return strconv.AppendFloat(dst, x, 'g', -1, size), nil
}

// decimal writes the unscaled value, big-endian two's complement, base64
// (Connect's Decimal in the JSON converter).
func (f *field) decimal(dst []byte, v any) ([]byte, error) {
	s := textOf(v)
	if s == "" {
		return dst, typeError(v)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) < f.col.Scale {
		frac += strings.Repeat("0", f.col.Scale-len(frac))
	}
	frac = frac[:f.col.Scale]
	n, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok {
		return dst, fmt.Errorf("decimal %q", textOf(v))
	}
	if neg {
		n.Neg(n)
	}
	return appendBase64(dst, twosComplement(n)), nil
}

func twosComplement(n *big.Int) []byte {
	if n.Sign() >= 0 {
		b := n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	// -n = ^(n-1): take |n|-1, invert.
	m := new(big.Int).Sub(new(big.Int).Neg(n), big.NewInt(1))
	b := m.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	for i := range b {
		b[i] = ^b[i]
	}
	return b
}

func (f *field) bitBool(dst []byte, v any) ([]byte, error) {
	n, err := bitValue(v)
	if err != nil {
		return dst, err
	}
	return strconv.AppendBool(dst, n != 0), nil
}

// bits writes a BIT(n) value as Debezium does: little-endian bytes, as
// many as the column needs.
func (f *field) bits(dst []byte, v any) ([]byte, error) {
	n, err := bitValue(v)
	if err != nil {
		return dst, err
	}
	out := make([]byte, (f.col.Length+7)/8)
	for i := range out {
		out[i] = byte(n >> (8 * i))
	}
	return appendBase64(dst, out), nil
}

// bitValue reads a BIT value: an integer from the binlog, big-endian bytes
// from the full copy.
func bitValue(v any) (uint64, error) {
	switch x := v.(type) {
	case int64:
		return uint64(x), nil
	case uint64:
		return x, nil
	case []byte:
		var n uint64
		for _, b := range x {
			n = n<<8 | uint64(b)
		}
		return n, nil
	case string:
		return bitValue([]byte(x))
	}
	return 0, typeError(v)
}

// zeroDate is MySQL's zero date or a date with a zero part, which no
// calendar holds.
func zeroDate(s string) bool {
	return strings.HasPrefix(s, "0000-") || strings.Contains(s, "-00")
}

// zero writes what Debezium sends for a zero date: null, or the epoch
// when the column is NOT NULL.
func (f *field) zero(dst []byte) []byte {
	switch {
	case f.col.Nullable:
		return append(dst, "null"...)
	case f.typ == "string":
		return append(dst, `"1970-01-01T00:00:00Z"`...)
	}
	return append(dst, '0')
}

func (f *field) date(dst []byte, v any) ([]byte, error) {
	t, ok, err := instant(v, time.DateOnly)
	if !ok {
		return f.zero(dst), err
	}
	return strconv.AppendInt(dst, t.Unix()/86400, 10), nil
}

// instant reads a DATE, DATETIME or TIMESTAMP value (as UTC) in layout;
// ok is false for a zero date, or with err for a value it cannot read.
func instant(v any, layout string) (t time.Time, ok bool, err error) {
	s := textOf(v)
	if zeroDate(s) {
		return t, false, nil
	}
	if t, err = time.Parse(layout, s); err != nil {
		return t, false, fmt.Errorf("date and time %q: %w", s, err)
	}
	return t, true, nil
}

// dateTime is how DATETIME and TIMESTAMP values read: "YYYY-MM-DD HH:MM:SS[.ffffff]".
const dateTime = "2006-01-02 15:04:05.999999999"

func (f *field) datetime(dst []byte, v any) ([]byte, error) {
	t, ok, err := instant(v, dateTime)
	if !ok {
		return f.zero(dst), err
	}
	if f.name == nameMicroTimestamp {
		return strconv.AppendInt(dst, t.UnixMicro(), 10), nil
	}
	return strconv.AppendInt(dst, t.UnixMilli(), 10), nil
}

// timestamp writes ISO-8601 in UTC, with the column's fractional digits.
func (f *field) timestamp(dst []byte, v any) ([]byte, error) {
	t, ok, err := instant(v, dateTime)
	if !ok {
		return f.zero(dst), err
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, "2006-01-02T15:04:05")
	if f.col.Scale > 0 {
		dst = t.AppendFormat(dst, ".000000"[:f.col.Scale+1])
	}
	return append(dst, `Z"`...), nil
}

// time writes a TIME ("-838:59:59.000000" at its widest) in microseconds.
func (f *field) time(dst []byte, v any) ([]byte, error) {
	s := textOf(v)
	neg := strings.HasPrefix(s, "-")
	parts := strings.SplitN(strings.TrimPrefix(s, "-"), ":", 3)
	if len(parts) != 3 {
		return dst, fmt.Errorf("time %q", s)
	}
	sec, frac, _ := strings.Cut(parts[2], ".")
	var us int64
	for i, p := range []string{parts[0], parts[1], sec} {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return dst, fmt.Errorf("time %q: %w", s, err)
		}
		us += n * []int64{3600e6, 60e6, 1e6}[i]
	}
	if frac != "" {
		frac = (frac + "000000")[:6]
		n, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return dst, fmt.Errorf("time %q: %w", s, err)
		}
		us += n
	}
	if neg {
		us = -us
	}
	return strconv.AppendInt(dst, us, 10), nil
}

// enum writes a member's name: the binlog carries its 1-based index.
func (f *field) enum(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case int64:
		if x == 0 {
			return appendJSONString(dst, ""), nil
		}
		if x < 0 || int(x) > len(f.col.Elems) {
			return dst, fmt.Errorf("enum index %d of %d members", x, len(f.col.Elems))
		}
		return appendJSONString(dst, f.col.Elems[x-1]), nil
	case uint64:
		return f.enum(dst, int64(x))
	}
	return f.text(dst, v)
}

// set writes the members, comma-separated: the binlog carries a bit mask.
func (f *field) set(dst []byte, v any) ([]byte, error) {
	var mask uint64
	switch x := v.(type) {
	case int64:
		mask = uint64(x)
	case uint64:
		mask = x
	default:
		return f.text(dst, v)
	}
	var names []string
	for mask != 0 {
		i := bits.TrailingZeros64(mask)
		if i < len(f.col.Elems) {
			names = append(names, f.col.Elems[i])
		}
		mask &^= 1 << i
	}
	return appendJSONString(dst, strings.Join(names, ",")), nil
}

// text writes a string; binlog images carry the column's character set.
func (f *field) text(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendJSONString(dst, x), nil
	case []byte:
		return appendJSONString(dst, change.Text(x, f.col.Charset)), nil
	}
	return dst, typeError(v)
}

func (f *field) bytes(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		if f.col.Kind == "binary" && len(x) < f.col.Length {
			x = append(x[:len(x):len(x)], make([]byte, f.col.Length-len(x))...)
		}
		return appendBase64(dst, x), nil
	case string:
		return appendBase64(dst, []byte(x)), nil
	}
	return dst, typeError(v)
}

func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	}
	return ""
}

func typeError(v any) error { return fmt.Errorf("unexpected value of type %T", v) }

func appendBase64(dst, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x80 {
			i++
			continue
		}
		if c < 0x80 {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
