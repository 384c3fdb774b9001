package kafka

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// The representations the options choose, as Debezium's MySQL connector
// documents them ("Data type mappings" and the connector properties).

// Kafka Connect's logical types, which time.precision.mode=connect uses.
const (
	nameConnectDate      = "org.apache.kafka.connect.data.Date"
	nameConnectTime      = "org.apache.kafka.connect.data.Time"
	nameConnectTimestamp = "org.apache.kafka.connect.data.Timestamp"
)

// decimalField: DECIMAL and NUMERIC as decimal.handling.mode says: a
// Decimal (bytes, with scale and precision), a double or a string.
func (f *field) decimalField(mode decimalMode) {
	c := f.col
	switch mode {
	case decimalDouble:
		f.typ, f.conv = "double", f.decimalDouble
	case decimalString:
		f.typ, f.conv = "string", f.decimalString
	default:
		f.typ, f.name, f.conv = "bytes", nameDecimal, f.decimal
		f.params = [][2]string{{"scale", strconv.Itoa(c.Scale)}}
		if c.Length > 0 {
			f.params = append(f.params, [2]string{"connect.decimal.precision", strconv.Itoa(c.Length)})
		}
	}
}

// temporalField: DATE, TIME and DATETIME as time.precision.mode says.
// TIMESTAMP and YEAR do not depend on it.
func (f *field) temporalField(connect bool) {
	switch {
	case f.col.Kind == "date" && connect:
		f.typ, f.name, f.conv = "int32", nameConnectDate, f.date
	case f.col.Kind == "date":
		f.typ, f.name, f.conv = "int32", nameDate, f.date
	case f.col.Kind == "time" && connect:
		f.typ, f.name, f.conv = "int32", nameConnectTime, f.timeMillis
	case f.col.Kind == "time":
		f.typ, f.name, f.conv = "int64", nameMicroTime, f.time
	case connect:
		f.typ, f.name, f.conv = "int64", nameConnectTimestamp, f.datetime
	default:
		f.typ, f.name, f.conv = "int64", nameTimestamp, f.datetime
		if f.col.Scale > 3 {
			f.name = nameMicroTimestamp
		}
	}
}

// binaryField: BINARY, VARBINARY and the BLOBs as binary.handling.mode
// says: bytes, or a string of them in base64, URL-safe base64 or hex.
func (f *field) binaryField(mode binaryMode) {
	f.binary = true
	switch mode {
	case binaryBase64:
		f.typ, f.conv = "string", f.binaryText(func(dst, b []byte) []byte { return base64.StdEncoding.AppendEncode(dst, b) })
	case binaryBase64URL:
		f.typ, f.conv = "string", f.binaryText(func(dst, b []byte) []byte { return base64.URLEncoding.AppendEncode(dst, b) })
	case binaryHex:
		f.typ, f.conv = "string", f.binaryText(appendHex)
	default:
		f.typ, f.conv = "bytes", f.bytes
	}
}

// binaryText writes a binary value as a string in an encoding.
func (f *field) binaryText(encode func(dst, b []byte) []byte) func(dst []byte, v any) ([]byte, error) {
	return func(dst []byte, v any) ([]byte, error) {
		var b []byte
		switch x := v.(type) {
		case []byte:
			b = x
		case string:
			b = []byte(x)
		default:
			return dst, typeError(v)
		}
		if f.col.Kind == "binary" && len(b) < f.col.Length {
			b = append(b[:len(b):len(b)], make([]byte, f.col.Length-len(b))...) // as the server pads it
		}
		dst = append(dst, '"')
		dst = encode(dst, b)
		return append(dst, '"'), nil
	}
}

// appendHex writes b in lower-case hex, as Debezium's HexConverter does.
func appendHex(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}

// boolean writes a BOOLEAN column (a TINYINT): true for any value but 0.
func (f *field) boolean(dst []byte, v any) ([]byte, error) {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case uint64:
		n = int64(x)
	case string, []byte:
		var err error
		if n, err = strconv.ParseInt(textOf(x), 10, 64); err != nil {
			return dst, fmt.Errorf("boolean %q: %w", textOf(x), err)
		}
	default:
		return dst, typeError(v)
	}
	return strconv.AppendBool(dst, n != 0), nil
}

// unsignedDecimal writes a BIGINT UNSIGNED as a Decimal of scale 0
// (bigint.unsigned.handling.mode=precise): the value's big-endian two's
// complement, the shortest that holds it, in base64.
func (f *field) unsignedDecimal(dst []byte, v any) ([]byte, error) {
	var u uint64
	switch x := v.(type) {
	case int64:
		u = uint64(x) // the binlog's signed image of the unsigned value
	case uint64:
		u = x
	case string, []byte:
		var err error
		if u, err = strconv.ParseUint(textOf(x), 10, 64); err != nil {
			return dst, fmt.Errorf("bigint unsigned %q: %w", textOf(x), err)
		}
	default:
		return dst, typeError(v)
	}
	var buf [9]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte(u)
		u >>= 8
		if u == 0 {
			break
		}
	}
	if buf[i]&0x80 != 0 {
		i--
		buf[i] = 0
	}
	return appendBase64(dst, buf[i:]), nil
}

// year writes a YEAR. The binlog's YEAR 0000 is 1900 as Debezium reads
// the binlog (1900 plus the stored byte); the full copy's stays 0.
func (f *field) year(dst []byte, v any) ([]byte, error) {
	if n, ok := v.(int64); ok && n == 0 {
		return append(dst, "1900"...), nil
	}
	return f.integer(dst, v)
}

// timestampTrimmed writes a full-copy TIMESTAMP as Debezium's snapshot
// does (ISO_OFFSET_DATE_TIME): the fraction without its trailing zeros,
// none when zero. The binlog's have the column's digits (timestamp).
func (f *field) timestampTrimmed(dst []byte, v any) ([]byte, error) {
	t, ok, err := instant(v, dateTime)
	if !ok {
		return f.zero(dst), err
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, "2006-01-02T15:04:05.999999999")
	return append(dst, `Z"`...), nil
}

// timeMillis writes a TIME in milliseconds past midnight
// (time.precision.mode=connect). Kafka Connect's Time holds only a time
// of day: a value outside 00:00:00-23:59:59.999, which Debezium fails to
// convert, is null (0 in a NOT NULL column).
func (f *field) timeMillis(dst []byte, v any) ([]byte, error) {
	micros, err := f.time(nil, v)
	if err != nil {
		return dst, err
	}
	us, err := strconv.ParseInt(string(micros), 10, 64)
	if err != nil {
		return dst, err
	}
	if us < 0 || us >= int64(24*time.Hour/time.Microsecond) {
		if f.col.Nullable {
			return append(dst, "null"...), nil
		}
		return append(dst, '0'), nil
	}
	return strconv.AppendInt(dst, us/1000, 10), nil
}

// decimalDouble writes a DECIMAL as the nearest double
// (decimal.handling.mode=double).
func (f *field) decimalDouble(dst []byte, v any) ([]byte, error) {
	s := textOf(v)
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return dst, fmt.Errorf("decimal %q: %w", s, err)
	}
	return strconv.AppendFloat(dst, x, 'g', -1, 64), nil
}

// decimalString writes a DECIMAL as a string (decimal.handling.mode=
// string): Java's BigDecimal.toString of the value at the column's scale,
// which Debezium sends, scientific notation included ("1E-30").
func (f *field) decimalString(dst []byte, v any) ([]byte, error) {
	s := textOf(v)
	neg, digits, ok := decimalDigits(s, f.col.Scale)
	if !ok {
		return dst, fmt.Errorf("decimal %q", s)
	}
	dst = append(dst, '"')
	dst = appendJavaDecimal(dst, neg, digits, f.col.Scale)
	return append(dst, '"'), nil
}

// decimalDigits reads a decimal's text as its unscaled digits at scale
// (truncated or padded), without leading zeros ("0" for zero).
func decimalDigits(s string, scale int) (neg bool, digits string, ok bool) {
	s = strings.TrimSpace(s)
	neg = strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) < scale {
		frac += strings.Repeat("0", scale-len(frac))
	}
	digits = strings.TrimLeft(whole+frac[:scale], "0")
	if digits == "" {
		digits, neg = "0", false
	}
	return neg, digits, isDigits(whole+frac) || whole+frac == ""
}

// appendJavaDecimal writes an unscaled value and its scale as Java's
// BigDecimal.toString does: plain when the adjusted exponent is at least
// -6, else one digit, the rest after a point, and E with the exponent.
func appendJavaDecimal(dst []byte, neg bool, digits string, scale int) []byte {
	if neg {
		dst = append(dst, '-')
	}
	adjusted := len(digits) - 1 - scale
	switch {
	case scale == 0:
		return append(dst, digits...)
	case adjusted >= -6 && len(digits) > scale:
		dst = append(dst, digits[:len(digits)-scale]...)
		dst = append(dst, '.')
		return append(dst, digits[len(digits)-scale:]...)
	case adjusted >= -6:
		dst = append(dst, "0."...)
		dst = append(dst, strings.Repeat("0", scale-len(digits))...)
		return append(dst, digits...)
	}
	dst = append(dst, digits[0])
	if len(digits) > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:]...)
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(adjusted), 10)
}

// plainDecimal is an unscaled value at scale as decimal text.
func plainDecimal(n *big.Int, scale int) string {
	s := new(big.Int).Abs(n).String()
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if n.Sign() < 0 {
		s = "-" + s
	}
	return s
}
