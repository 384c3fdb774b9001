package change

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/klauspost/compress/s2"
)

// Value tags of the wire encoding.
const (
	tagNil byte = iota
	tagInt
	tagUint
	tagFloat32
	tagFloat64
	tagString
	tagBytes
	tagNumber // a number's text, as the server wrote it; only packed rows hold it
)

// Named errors of the wire encoding.
var (
	// ErrCorrupt is returned for a message that does not decode, or that
	// decodes to something the destination cannot take (a chunk without its
	// table, a row change without the image its Op needs, an unknown kind).
	ErrCorrupt = errors.New("change: corrupt message")
	// ErrTooLarge is returned by Encode for a message whose body exceeds
	// MaxMessageBytes, and by Decode for a frame that declares more: it is
	// refused before anything that size is allocated.
	ErrTooLarge = errors.New("change: message too large")
)

// MaxMessageBytes bounds a message's body, before compression, on both
// sides. The extractor fills a chunk, or a part of a transaction, with about
// 4 MiB of rows (maxChunkBytes, maxMessageBytes) plus what crossed that
// bound (a row, a row event): the limit leaves room for a row (an update's
// two images together) of about 60 MiB. A message over NATS's max payload
// goes in parts (internal/transport).
const MaxMessageBytes = 64 << 20

// MaxFrameBytes bounds an encoded message, what Encode returns: the frame
// byte and a body of at most MaxMessageBytes, compressed or not (s2 adds at
// most a few bytes to data it cannot shrink). A receiver holds no more than
// this before Decode.
const MaxFrameBytes = MaxMessageBytes + MaxMessageBytes/64

// Frames: a message's first byte tells how the rest is stored.
const (
	frameRaw byte = iota
	frameS2
)

// Compression of a message is tried on a sample first: data that does not
// shrink by a tenth (random digits, compressed or encrypted blobs) is sent
// as it is rather than paying for s2 on both sides.
// A message larger than rawAtMost is always compressed: its rows may need
// that to fit NATS's payload limit.
const (
	sampleFrom  = 64 << 10
	sampleBytes = 16 << 10
	rawAtMost   = 6 << 20
)

// Encode writes m in the compact binary form, compressed with s2 when that
// pays.
func Encode(m *Message) ([]byte, error) {
	w := writer{buf: make([]byte, 1, 256+len(m.Rows.Data))}
	w.byte(byte(m.Kind))
	w.string(m.Session)
	w.uvarint(m.Seq)
	w.string(m.Flavor)
	w.bool(m.Table != nil)
	if m.Table != nil {
		w.table(m.Table)
	}
	w.uvarint(uint64(m.Rows.N))
	w.bytes(m.Rows.Data)
	w.string(m.Snapshot)
	w.uvarint(uint64(len(m.Txns)))
	for i := range m.Txns {
		if err := w.txn(&m.Txns[i]); err != nil {
			return nil, err
		}
	}
	for _, r := range []Row{m.Lo, m.Hi} {
		w.bool(r != nil)
		if r != nil {
			if err := w.row(r); err != nil {
				return nil, err
			}
		}
	}
	w.bool(m.KeepRows)
	w.bool(m.DropFirst)
	w.bool(m.SkipCreate)
	w.bool(m.Referenced)
	w.string(m.Charset)
	w.string(m.Collation)
	w.string(m.SnapshotFile)
	w.uvarint(m.SnapshotPos)
	w.bool(m.LastTable)
	body := w.buf[1:]
	if len(body) > MaxMessageBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, len(body), MaxMessageBytes)
	}
	if len(body) >= sampleFrom && len(body) <= rawAtMost {
		sample := body[:sampleBytes]
		if len(s2.Encode(nil, sample)) > len(sample)*9/10 {
			w.buf[0] = frameRaw
			return w.buf, nil
		}
	}
	out := make([]byte, 1+s2.MaxEncodedLen(len(body)))
	out[0] = frameS2
	return out[:1+len(s2.Encode(out[1:], body))], nil
}

// Decode reads a message written by Encode. Nothing it allocates is
// sized by a length or count the data declares beyond what the data can
// hold: a compressed body's declared size is checked against
// MaxMessageBytes before it is allocated, and every count against the
// bytes left. A message that decodes is also checked against the contract
// the destination relies on (check).
func Decode(data []byte) (*Message, error) {
	body, err := unframe(data)
	if err != nil {
		return nil, err
	}
	r := reader{buf: body}
	m := &Message{}
	m.Kind = Kind(r.byte())
	m.Session = r.string()
	m.Seq = r.uvarint()
	m.Flavor = r.string()
	if r.bool() {
		m.Table = r.table()
	}
	m.Rows = r.packedRows()
	m.Snapshot = r.string()
	if n := r.count(minTxnBytes); n > 0 {
		m.Txns = make([]Txn, n)
		for i := range m.Txns {
			r.txn(&m.Txns[i])
		}
	}
	if r.bool() {
		m.Lo = r.row()
	}
	if r.bool() {
		m.Hi = r.row()
	}
	m.KeepRows = r.bool()
	m.DropFirst = r.bool()
	m.SkipCreate = r.bool()
	m.Referenced = r.bool()
	m.Charset = r.string()
	m.Collation = r.string()
	m.SnapshotFile = r.string()
	m.SnapshotPos = r.uvarint()
	m.LastTable = r.bool()
	if r.err != nil {
		return nil, r.err
	}
	if len(r.buf) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(r.buf))
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// unframe returns a message's body, decompressed: a compressed body only
// once the size it declares is within MaxMessageBytes.
func unframe(data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrCorrupt)
	}
	body := data[1:]
	switch data[0] {
	case frameRaw:
	case frameS2:
		n, err := s2.DecodedLen(body)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if n > MaxMessageBytes {
			return nil, fmt.Errorf("%w: the frame declares %d bytes, more than %d", ErrTooLarge, n, MaxMessageBytes)
		}
		if body, err = s2.Decode(nil, body); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	default:
		return nil, fmt.Errorf("%w: unknown frame %d", ErrCorrupt, data[0])
	}
	if len(body) > MaxMessageBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, len(body), MaxMessageBytes)
	}
	return body, nil
}

// kindNames name the kinds in errors.
var kindNames = map[Kind]string{KindTable: "table", KindChunk: "chunk", KindTableDone: "table done",
	KindCopyDone: "copy done", KindTxns: "transactions", KindSchema: "schema"}

// check reports, as ErrCorrupt, what in a decoded message breaks the
// contract of Message that the destination relies on: a kind it knows, the
// table of the kinds that need one with its key among its columns, a
// chunk's rows as wide as its table, and each row change's known op with
// the images the op needs. What depends on the destination's own schema (a
// binlog row's width) is checked there; a chunk's bounds are only stored.
func (m *Message) check() error {
	name, ok := kindNames[m.Kind]
	if !ok {
		return fmt.Errorf("%w: unknown kind %d", ErrCorrupt, m.Kind)
	}
	switch m.Kind {
	case KindTable, KindChunk, KindTableDone, KindSchema:
		if m.Table == nil {
			return fmt.Errorf("%w: a %s message without its table", ErrCorrupt, name)
		}
	}
	if t := m.Table; t != nil {
		for _, k := range t.Key {
			if k < 0 || k >= len(t.Columns) {
				return fmt.Errorf("%w: the key of table %s names column %d of %d", ErrCorrupt, t.TableName(), k, len(t.Columns))
			}
		}
	}
	if m.Kind == KindChunk {
		if err := m.Rows.check(len(m.Table.Columns)); err != nil {
			return fmt.Errorf("rows of %s: %w", m.Table.TableName(), err)
		}
	}
	for i := range m.Txns {
		t := &m.Txns[i]
		for j := range t.Changes {
			if err := t.Changes[j].check(); err != nil {
				return fmt.Errorf("transaction %s, row change %d: %w", t.GTID, j+1, err)
			}
		}
	}
	return nil
}

// check reports a row change without a table name, of an unknown op, or
// without the images its op needs.
func (c *RowChange) check() error {
	if c.Schema == "" || c.Table == "" {
		return fmt.Errorf("%w: no table name", ErrCorrupt)
	}
	switch c.Op {
	case OpInsert:
		if c.After == nil {
			return fmt.Errorf("%w: an insert into %s without its row", ErrCorrupt, c.Name())
		}
	case OpDelete:
		if c.Before == nil {
			return fmt.Errorf("%w: a delete from %s without its row", ErrCorrupt, c.Name())
		}
	case OpUpdate:
		if c.Before == nil || c.After == nil {
			return fmt.Errorf("%w: an update of %s without both its rows", ErrCorrupt, c.Name())
		}
	default:
		return fmt.Errorf("%w: unknown op %d on %s", ErrCorrupt, c.Op, c.Name())
	}
	return nil
}

// EncodeRow encodes one row (a key, say) on its own; nil encodes to nil.
func EncodeRow(r Row) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	var w writer
	if err := w.row(r); err != nil {
		return nil, err
	}
	return w.buf, nil
}

// DecodeRow reads a row written by EncodeRow; nil or empty decodes to nil.
func DecodeRow(b []byte) (Row, error) {
	if len(b) == 0 {
		return nil, nil
	}
	r := reader{buf: b}
	row := r.row()
	if r.err == nil && len(r.buf) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(r.buf))
	}
	return row, r.err
}

type writer struct{ buf []byte }

func (w *writer) byte(b byte)      { w.buf = append(w.buf, b) }
func (w *writer) uvarint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }
func (w *writer) string(s string)  { w.uvarint(uint64(len(s))); w.buf = append(w.buf, s...) }
func (w *writer) bytes(b []byte)   { w.uvarint(uint64(len(b))); w.buf = append(w.buf, b...) }
func (w *writer) tableNames(s []TableName) {
	w.uvarint(uint64(len(s)))
	for _, x := range s {
		w.string(x.Schema)
		w.string(x.Table)
	}
}

func (w *writer) bool(b bool) {
	if b {
		w.byte(1)
	} else {
		w.byte(0)
	}
}

func (w *writer) table(t *Table) {
	w.string(t.Schema)
	w.string(t.Name)
	w.uvarint(uint64(len(t.Columns)))
	for _, c := range t.Columns {
		w.string(c.Name)
		w.string(c.DataType)
		w.bool(c.Unsigned)
		w.bool(c.Binary)
		w.bool(c.Generated)
		w.string(c.Charset)
	}
	w.uvarint(uint64(len(t.Key)))
	for _, k := range t.Key {
		w.uvarint(uint64(k))
	}
	w.string(t.CreateSQL)
}

func (w *writer) row(r Row) error {
	w.uvarint(uint64(len(r)))
	for _, v := range r {
		if err := w.value(v); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) value(v any) error {
	switch x := v.(type) {
	case nil:
		w.byte(tagNil)
	case int64:
		w.byte(tagInt)
		w.buf = binary.AppendVarint(w.buf, x)
	case uint64:
		w.byte(tagUint)
		w.uvarint(x)
	case float32:
		w.byte(tagFloat32)
		w.buf = binary.LittleEndian.AppendUint32(w.buf, math.Float32bits(x))
	case float64:
		w.byte(tagFloat64)
		w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(x))
	case string:
		w.byte(tagString)
		w.string(x)
	case []byte:
		w.byte(tagBytes)
		w.bytes(x)
	default:
		return fmt.Errorf("change: cannot encode value of type %T", v)
	}
	return nil
}

func (w *writer) txn(t *Txn) error {
	w.string(t.GTID)
	w.uvarint(uint64(t.Timestamp))
	w.uvarint(uint64(len(t.Changes)))
	for _, c := range t.Changes {
		w.byte(byte(c.Op))
		w.string(c.Schema)
		w.string(c.Table)
		w.uvarint(uint64(c.Pos))
		w.uvarint(uint64(c.Row))
		// The event's time is near the transaction's: a signed delta is a
		// byte or two.
		w.buf = binary.AppendVarint(w.buf, int64(c.When)-int64(t.Timestamp))
		w.bool(c.Before != nil)
		if c.Before != nil {
			if err := w.row(c.Before); err != nil {
				return err
			}
		}
		w.bool(c.After != nil)
		if c.After != nil {
			if err := w.row(c.After); err != nil {
				return err
			}
		}
	}
	w.bool(t.DDL != nil)
	if t.DDL != nil {
		w.string(t.DDL.Schema)
		w.string(t.DDL.SQL)
		w.tableNames(t.DDL.Tables)
		w.uvarint(uint64(t.DDL.Pos))
	}
	w.bool(t.More)
	w.string(t.LogFile)
	w.uvarint(uint64(t.LogPos))
	w.uvarint(uint64(t.ServerID))
	w.bool(t.ThreadKnown)
	w.uvarint(uint64(t.Thread))
	w.uvarint(t.CommitMicros)
	return nil
}

// reader decodes; the first error sticks and later reads return zero values.
type reader struct {
	buf []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated %s", ErrCorrupt, what)
	}
	r.buf = nil
}

func (r *reader) byte() byte {
	if len(r.buf) < 1 {
		r.fail("byte")
		return 0
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b
}

func (r *reader) bool() bool { return r.byte() != 0 }

// fixed reads n bytes, nil when fewer are left.
func (r *reader) fixed(n int, what string) []byte {
	if len(r.buf) < n {
		r.fail(what)
		return nil
	}
	b := r.buf[:n]
	r.buf = r.buf[n:]
	return b
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail("uvarint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// uint32 reads a uvarint that must fit in 32 bits.
func (r *reader) uint32() uint32 {
	v := r.uvarint()
	if v > math.MaxUint32 {
		if r.err == nil {
			r.err = fmt.Errorf("%w: %d does not fit in 32 bits", ErrCorrupt, v)
		}
		r.buf = nil
		return 0
	}
	return uint32(v)
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// The fewest bytes each repeated item takes in the encoding: a count of
// items is checked against them, so that no count makes Decode allocate
// more than a small multiple of the bytes it was given.
const (
	minValueBytes  = 1  // a tag
	minNameBytes   = 2  // two empty strings
	minColumnBytes = 6  // three empty strings, three bools
	minChangeBytes = 8  // an op, two empty strings, two uvarints, a varint, two bools
	minTxnBytes    = 11 // two empty strings, six uvarints, three bools
)

// count reads a number of items of at least size bytes each, which must
// fit in what is left of the message.
func (r *reader) count(size int) int {
	n := r.uvarint()
	if n > uint64(len(r.buf)/size) {
		r.fail("count")
		return 0
	}
	return int(n)
}

func (r *reader) raw() []byte {
	n := r.count(1)
	if r.err != nil {
		return nil
	}
	b := r.buf[:n:n]
	r.buf = r.buf[n:]
	return b
}

func (r *reader) string() string { return string(r.raw()) }

func (r *reader) tableNames() []TableName {
	n := r.count(minNameBytes)
	if n == 0 {
		return nil
	}
	out := make([]TableName, n)
	for i := range out {
		out[i] = TableName{Schema: r.string(), Table: r.string()}
	}
	return out
}

func (r *reader) table() *Table {
	t := &Table{Schema: r.string(), Name: r.string()}
	if n := r.count(minColumnBytes); n > 0 {
		t.Columns = make([]Column, n)
		for i := range t.Columns {
			t.Columns[i] = Column{Name: r.string(), DataType: r.string(), Unsigned: r.bool(),
				Binary: r.bool(), Generated: r.bool(), Charset: r.string()}
		}
	}
	if n := r.count(1); n > 0 {
		t.Key = make([]int, n)
		for i := range t.Key {
			t.Key[i] = int(r.uvarint())
		}
	}
	t.CreateSQL = r.string()
	return t
}

func (r *reader) row() Row {
	n := r.count(minValueBytes)
	row := make(Row, n)
	for i := range row {
		row[i] = r.value()
	}
	return row
}

func (r *reader) value() any {
	var x Value
	r.next(&x)
	return x.any()
}

// packedRows takes the rows section as it is, its count checked so that
// consumers may size by it (a row takes a byte at least). Decode then
// walks a chunk's rows against its table (check), so its consumers' walks
// (Values, Unpack) find them whole.
func (r *reader) packedRows() PackedRows {
	count := r.uvarint()
	data := r.raw()
	if count > uint64(len(data)) {
		r.fail("rows")
		return PackedRows{}
	}
	n := int(count)
	if len(data) == 0 {
		return PackedRows{N: n}
	}
	return PackedRows{N: n, Data: data}
}

func (r *reader) txn(t *Txn) {
	t.GTID = r.string()
	t.Timestamp = r.uint32()
	if n := r.count(minChangeBytes); n > 0 {
		t.Changes = make([]RowChange, n)
		for i := range t.Changes {
			c := &t.Changes[i]
			c.Op = Op(r.byte())
			c.Schema = r.string()
			c.Table = r.string()
			c.Pos = r.uint32()
			c.Row = r.uint32()
			c.When = uint32(int64(t.Timestamp) + r.varint())
			if r.bool() {
				c.Before = r.row()
			}
			if r.bool() {
				c.After = r.row()
			}
		}
	}
	if r.bool() {
		t.DDL = &DDL{Schema: r.string(), SQL: r.string(), Tables: r.tableNames(), Pos: r.uint32()}
	}
	t.More = r.bool()
	t.LogFile = r.string()
	t.LogPos = r.uint32()
	t.ServerID = r.uint32()
	t.ThreadKnown = r.bool()
	t.Thread = r.uint32()
	t.CommitMicros = r.uvarint()
}
