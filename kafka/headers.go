package kafka

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/internal/change"
)

// The headers Debezium puts on the two events of an update that changes a
// row's key: the delete (and its tombstone) carries the new key, the
// create the old one.
const (
	headerOldKey = "__debezium.oldkey"
	headerNewKey = "__debezium.newkey"
)

// keyHeader is the header name holding row's key as Kafka Connect's
// default header converter (SimpleHeaderConverter) writes Debezium's key
// struct: {"col":value,...}, each value as Connect's Values renders it
// (numbers and booleans bare, strings quoted with only \ and " escaped,
// bytes in base64, decimals as Java's BigDecimal.toString, Connect's
// Date, Time and Timestamp as ISO-8601 text).
func (tc *tableCodec) keyHeader(name string, row change.Row) ([]kgo.RecordHeader, error) {
	b := []byte{'{'}
	for i, k := range tc.key {
		if i > 0 {
			b = append(b, ',')
		}
		f := tc.fields[k]
		b = appendConnectString(b, f.col.Name)
		b = append(b, ':')
		js, err := tc.appendValue(nil, k, row[k], false)
		if err != nil {
			return nil, err
		}
		if b, err = f.appendHeaderValue(b, js); err != nil {
			return nil, &ValueError{Table: tc.def.name().String(), Column: f.col.Name, Err: err}
		}
	}
	b = append(b, '}')
	return []kgo.RecordHeader{{Key: name, Value: b}}, nil
}

// appendHeaderValue writes a field's value, given as its JSON, as Kafka
// Connect's Values.convertToString renders the Java value Debezium holds.
func (f *field) appendHeaderValue(dst, js []byte) ([]byte, error) {
	if string(js) == "null" {
		return append(dst, "null"...), nil
	}
	switch f.name {
	case nameDecimal:
		var s string
		if err := json.Unmarshal(js, &s); err != nil {
			return dst, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return dst, err
		}
		n := new(big.Int).SetBytes(b)
		if len(b) > 0 && b[0]&0x80 != 0 {
			n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
		scale := f.col.Scale
		if f.col.Kind == "bigint" {
			scale = 0
		}
		return appendJavaDecimal(dst, n.Sign() < 0, new(big.Int).Abs(n).String(), scale), nil
	case nameConnectDate, nameConnectTime, nameConnectTimestamp:
		n, err := strconv.ParseInt(string(js), 10, 64)
		if err != nil {
			return dst, err
		}
		if f.name == nameConnectDate {
			n *= 86400000
		}
		return appendJavaDate(dst, n), nil
	}
	switch f.typ {
	case "string":
		var s string
		if err := json.Unmarshal(js, &s); err != nil {
			return dst, err
		}
		return appendConnectString(dst, s), nil
	case "float", "double":
		x, err := strconv.ParseFloat(string(js), 64)
		if err != nil {
			return dst, err
		}
		bits := 64
		if f.typ == "float" {
			bits = 32
		}
		return appendJavaFloat(dst, x, bits), nil
	case "struct":
		return appendConnectGeometry(dst, js)
	}
	return append(dst, js...), nil // integers, booleans, bytes in base64: as in JSON
}

// appendConnectGeometry writes a Geometry or Point struct, given as its
// JSON, as Values does: its fields in order, x and y as Java doubles, the
// WKB's base64 quoted, the SRID bare.
func appendConnectGeometry(dst, js []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return dst, fmt.Errorf("geometry %s: not an object", js)
	}
	dst = append(dst, '{')
	for i := 0; d.More(); i++ {
		key, err := d.Token()
		if err != nil {
			return dst, err
		}
		val, err := d.Token()
		if err != nil {
			return dst, err
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendConnectString(dst, fmt.Sprint(key))
		dst = append(dst, ':')
		switch v := val.(type) {
		case nil:
			dst = append(dst, "null"...)
		case string:
			dst = appendConnectString(dst, v)
		case json.Number:
			if key == "x" || key == "y" {
				x, err := v.Float64()
				if err != nil {
					return dst, err
				}
				dst = appendJavaFloat(dst, x, 64)
			} else {
				dst = append(dst, v.String()...)
			}
		default:
			return dst, fmt.Errorf("geometry %s: unexpected %v", js, val)
		}
	}
	return append(dst, '}'), nil
}

// appendConnectString writes a string as Connect's Values does inside a
// struct: quoted, with only backslashes and double quotes escaped.
func appendConnectString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] == '"' {
			dst = append(dst, '\\')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// appendJavaFloat writes x as Java's Float.toString (bits 32) or
// Double.toString does: the shortest digits, plain between 10^-3 and
// 10^7 with at least one digit after the point, else as d.dddEn.
func appendJavaFloat(dst []byte, x float64, bits int) []byte {
	if x == 0 {
		if math.Signbit(x) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	if x < 0 {
		dst = append(dst, '-')
		x = -x
	}
	sci := strconv.FormatFloat(x, 'e', -1, bits) // d.ddde±xx
	mant, expText, _ := strings.Cut(sci, "e")
	exp, _ := strconv.Atoi(expText)
	digits := strings.Replace(mant, ".", "", 1)
	if x >= 1e-3 && x < 1e7 {
		switch point := exp + 1; {
		case point <= 0:
			dst = append(dst, "0."...)
			dst = append(dst, strings.Repeat("0", -point)...)
			return append(dst, digits...)
		case point >= len(digits):
			dst = append(dst, digits...)
			dst = append(dst, strings.Repeat("0", point-len(digits))...)
			return append(dst, ".0"...)
		default:
			dst = append(dst, digits[:point]...)
			dst = append(dst, '.')
			return append(dst, digits[point:]...)
		}
	}
	dst = append(dst, digits[0], '.')
	if len(digits) > 1 {
		dst = append(dst, digits[1:]...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(exp), 10)
}

// appendJavaDate writes a java.util.Date of ms milliseconds since the
// epoch as Connect's Values.dateFormatFor formats it (in UTC, Kafka
// Connect's usual zone): the time of day below one day (negative values
// included), the date alone on a day's boundary, else date and time.
func appendJavaDate(dst []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	switch {
	case ms < 86400000:
		return t.AppendFormat(dst, "15:04:05.000Z")
	case ms%86400000 == 0:
		return t.AppendFormat(dst, "2006-01-02")
	}
	return t.AppendFormat(dst, "2006-01-02T15:04:05.000Z")
}
