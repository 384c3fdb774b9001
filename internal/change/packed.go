package change

import (
	"encoding/binary"
	"fmt"
	"math"
)

// PackedRows are rows in the wire encoding, as a chunk carries them. The
// source writes them straight from the bytes it reads (RowPacker) and the
// destination renders SQL straight from them (Values): a full copy
// allocates nothing per value on either side.
type PackedRows struct {
	N    int    // rows
	Data []byte // the rows, one after another
}

// PackRows encodes rows.
func PackRows(rows []Row) (PackedRows, error) {
	var w writer
	for _, r := range rows {
		if err := w.row(r); err != nil {
			return PackedRows{}, err
		}
	}
	return PackedRows{N: len(rows), Data: w.buf}, nil
}

// Unpack decodes the rows.
func (p PackedRows) Unpack() ([]Row, error) {
	if p.N == 0 {
		return nil, nil
	}
	rows := make([]Row, 0, p.N) // decode checked N against the data
	v := p.Values()
	var x Value
	for n, ok := v.NextRow(); ok; n, ok = v.NextRow() {
		row := make(Row, n)
		for i := range row {
			v.Next(&x)
			row[i] = x.any()
		}
		rows = append(rows, row)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return rows, nil
}

// check walks the rows once, allocating nothing: each must hold cols
// values, every value must decode, and nothing may follow the last row.
func (p PackedRows) check(cols int) error {
	v := p.Values()
	var x Value
	for n, ok := v.NextRow(); ok; n, ok = v.NextRow() {
		if n != cols {
			return fmt.Errorf("%w: a row of %d values for %d columns", ErrCorrupt, n, cols)
		}
		for range n {
			v.Next(&x)
		}
	}
	return v.Err()
}

// RowPacker appends rows to a PackedRows: Row, then one call per value.
type RowPacker struct {
	w    writer
	n    int
	last int // bytes of the rows taken last: the next buffer's size
}

// Row starts a row of cols values.
func (p *RowPacker) Row(cols int) {
	if p.w.buf == nil && p.last > 0 {
		p.w.buf = make([]byte, 0, p.last+p.last/8)
	}
	p.w.uvarint(uint64(cols))
	p.n++
}

// Null appends a NULL.
func (p *RowPacker) Null() { p.w.byte(tagNil) }

// Text appends a text value.
func (p *RowPacker) Text(b []byte) {
	p.w.byte(tagString)
	p.w.bytes(b)
}

// Bytes appends a binary value.
func (p *RowPacker) Bytes(b []byte) {
	p.w.byte(tagBytes)
	p.w.bytes(b)
}

// Number appends the text of an integer or decimal column's value, which
// the destination writes as a number rather than as a string to convert.
// Unpacked, it is text.
func (p *RowPacker) Number(b []byte) {
	p.w.byte(tagNumber)
	p.w.bytes(b)
}

// Int appends an integer.
func (p *RowPacker) Int(v int64) {
	p.w.byte(tagInt)
	p.w.buf = binary.AppendVarint(p.w.buf, v)
}

// Size is the number of bytes packed so far.
func (p *RowPacker) Size() int { return len(p.w.buf) }

// Take returns the rows packed so far and starts afresh.
func (p *RowPacker) Take() PackedRows {
	rows := PackedRows{N: p.n, Data: p.w.buf}
	p.w.buf, p.n, p.last = nil, 0, len(p.w.buf)
	return rows
}

// ValueKind is the type of a packed value.
type ValueKind byte

// Packed value kinds.
const (
	ValueNull    = ValueKind(tagNil)
	ValueInt     = ValueKind(tagInt)
	ValueUint    = ValueKind(tagUint)
	ValueFloat32 = ValueKind(tagFloat32)
	ValueFloat64 = ValueKind(tagFloat64)
	ValueText    = ValueKind(tagString)
	ValueBytes   = ValueKind(tagBytes)
	ValueNumber  = ValueKind(tagNumber) // Raw holds the text
)

// NumericType reports whether a column of the type (information_schema
// DATA_TYPE) holds integers or exact decimals, whose text Number packs.
func NumericType(dataType string) bool {
	_, isInt := intBits[dataType]
	return isInt || dataType == "decimal"
}

// Value is one packed value. Raw, for text and bytes, points into the
// packed data.
type Value struct {
	Kind  ValueKind
	Int   int64
	Uint  uint64
	Float float64
	Raw   []byte
}

// Values walks packed rows without allocating.
type Values struct {
	r    reader
	rows int
	left int // values left in the current row
}

// Values starts a walk over p.
func (p PackedRows) Values() *Values { return &Values{r: reader{buf: p.Data}, rows: p.N} }

// NextRow moves to the next row and returns its number of values; ok is
// false after the last row or on corrupt data (see Err).
func (v *Values) NextRow() (cols int, ok bool) {
	for v.left > 0 && v.r.err == nil { // skip what the caller did not read
		var x Value
		v.Next(&x)
	}
	if v.rows == 0 || v.r.err != nil {
		return 0, false
	}
	v.rows--
	v.left = v.r.count(minValueBytes)
	return v.left, v.r.err == nil
}

// Next reads the next value of the current row into x.
func (v *Values) Next(x *Value) {
	v.left--
	v.r.next(x)
}

// next reads one value into x; Raw points into the buffer.
func (r *reader) next(x *Value) {
	*x = Value{Kind: ValueKind(r.byte())}
	switch x.Kind {
	case ValueNull:
	case ValueInt:
		n := 0
		if x.Int, n = binary.Varint(r.buf); n <= 0 {
			r.fail("varint")
			return
		}
		r.buf = r.buf[n:]
	case ValueUint:
		x.Uint = r.uvarint()
	case ValueFloat32:
		if b := r.fixed(4, "float32"); b != nil {
			x.Float = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		}
	case ValueFloat64:
		if b := r.fixed(8, "float64"); b != nil {
			x.Float = math.Float64frombits(binary.LittleEndian.Uint64(b))
		}
	case ValueText, ValueBytes, ValueNumber:
		x.Raw = r.raw()
	default:
		if r.err == nil {
			r.err = fmt.Errorf("%w: unknown value tag %d", ErrCorrupt, x.Kind)
		}
		r.buf = nil
		x.Kind = ValueNull
	}
}

// any is x as a row value: text and numbers as strings, bytes copied out of
// the buffer, FLOAT as float32.
func (x *Value) any() any {
	switch x.Kind {
	case ValueInt:
		return x.Int
	case ValueUint:
		return x.Uint
	case ValueFloat32:
		return float32(x.Float)
	case ValueFloat64:
		return x.Float
	case ValueText, ValueNumber:
		return string(x.Raw)
	case ValueBytes:
		return append([]byte{}, x.Raw...)
	}
	return nil
}

// Err is the first decoding error, if any; after the last row it also
// reports trailing data.
func (v *Values) Err() error {
	if v.r.err == nil && v.rows == 0 && v.left <= 0 && len(v.r.buf) != 0 {
		return fmt.Errorf("%w: %d trailing bytes after the rows", ErrCorrupt, len(v.r.buf))
	}
	return v.r.err
}
