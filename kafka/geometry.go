package kafka

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// Debezium's spatial types: POINT is a Point, every other spatial type a
// Geometry. Both carry the value as OGC well-known binary (WKB) with its
// SRID, null when the value's SRID is 0 (unknown).
const (
	nameGeometry = "io.debezium.data.geometry.Geometry"
	namePoint    = "io.debezium.data.geometry.Point"

	geometryFields = `[{"type":"bytes","optional":false,"field":"wkb"},{"type":"int32","optional":true,"field":"srid"}]`
	pointFields    = `[{"type":"double","optional":false,"field":"x"},{"type":"double","optional":false,"field":"y"},` +
		`{"type":"bytes","optional":true,"field":"wkb"},{"type":"int32","optional":true,"field":"srid"}]`
)

// wkbPointSize is the length of the WKB of a 2D point: byte order, type, x, y.
const wkbPointSize = 1 + 4 + 8 + 8

// splitGeometry reads the server's geometry value, which the binlog and
// the full copy both carry: the SRID, 4 bytes little-endian, then WKB.
func splitGeometry(v any) (srid int32, wkb []byte, err error) {
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	case string:
		b = []byte(x)
	default:
		return 0, nil, typeError(v)
	}
	if len(b) < 4+1+4 {
		return 0, nil, fmt.Errorf("geometry of %d bytes: too short for an SRID and WKB", len(b))
	}
	return int32(binary.LittleEndian.Uint32(b)), b[4:], nil
}

// appendSRID writes an SRID, null for 0 as Debezium does.
func appendSRID(dst []byte, srid int32) []byte {
	if srid == 0 {
		return append(dst, "null"...)
	}
	return strconv.AppendInt(dst, int64(srid), 10)
}

// geometry writes {"wkb":...,"srid":...}.
func (f *field) geometry(dst []byte, v any) ([]byte, error) {
	srid, wkb, err := splitGeometry(v)
	if err != nil {
		return dst, err
	}
	dst = append(dst, `{"wkb":`...)
	dst = appendBase64(dst, wkb)
	dst = append(dst, `,"srid":`...)
	dst = appendSRID(dst, srid)
	return append(dst, '}'), nil
}

// point writes {"x":...,"y":...,"wkb":...,"srid":...}; the value must be a
// 2D point.
func (f *field) point(dst []byte, v any) ([]byte, error) {
	srid, wkb, err := splitGeometry(v)
	if err != nil {
		return dst, err
	}
	if len(wkb) != wkbPointSize {
		return dst, fmt.Errorf("point: WKB of %d bytes, a 2D point has %d", len(wkb), wkbPointSize)
	}
	var order binary.ByteOrder = binary.BigEndian
	if wkb[0] == 1 {
		order = binary.LittleEndian
	}
	if typ := order.Uint32(wkb[1:]); typ != 1 {
		return dst, fmt.Errorf("point: WKB of geometry type %d", typ)
	}
	x, y := math.Float64frombits(order.Uint64(wkb[5:])), math.Float64frombits(order.Uint64(wkb[13:]))
	if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
		return dst, fmt.Errorf("point: coordinates %v %v have no JSON number", x, y)
	}
	dst = append(dst, `{"x":`...)
	dst = strconv.AppendFloat(dst, x, 'g', -1, 64)
	dst = append(dst, `,"y":`...)
	dst = strconv.AppendFloat(dst, y, 'g', -1, 64)
	dst = append(dst, `,"wkb":`...)
	dst = appendBase64(dst, wkb)
	dst = append(dst, `,"srid":`...)
	dst = appendSRID(dst, srid)
	return append(dst, '}'), nil
}
