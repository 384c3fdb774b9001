package change

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"github.com/klauspost/compress/s2"
)

// allocated is the number of bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// s2Declaring is a 2 KB s2 frame whose header declares n decoded bytes.
func s2Declaring(n uint64) []byte {
	b := binary.AppendUvarint([]byte{frameS2}, n)
	return append(b, bytes.Repeat([]byte{0}, 2<<10)...)
}

// rawClaiming is a raw frame of a transactions message whose body, after
// the fields before it, holds count and then left zero bytes: a count that
// claims every byte left for items that take more than one.
func rawClaiming(section func(w *writer), left int) []byte {
	w := writer{buf: []byte{frameRaw, byte(KindTxns)}}
	section(&w)
	return append(w.buf, make([]byte, left)...)
}

const claimed = 100_000

// claims are messages whose counts claim every byte left; decoding them
// must not allocate the items' size times the count.
var claims = []struct {
	name  string
	frame []byte
}{
	{"transactions", rawClaiming(func(w *writer) {
		w.string("")       // session
		w.uvarint(0)       // seq
		w.string("")       // flavor
		w.bool(false)      // no table
		w.uvarint(0)       // no rows
		w.bytes(nil)       // no rows
		w.string("")       // snapshot
		w.uvarint(claimed) // transactions
	}, claimed)},
	{"columns", rawClaiming(func(w *writer) {
		w.string("")
		w.uvarint(0)
		w.string("")
		w.bool(true) // a table
		w.string("db")
		w.string("t")
		w.uvarint(claimed) // columns
	}, claimed)},
	{"row changes", rawClaiming(func(w *writer) {
		w.string("")
		w.uvarint(0)
		w.string("")
		w.bool(false)
		w.uvarint(0)
		w.bytes(nil)
		w.string("")
		w.uvarint(1)       // one transaction
		w.string("0-1-1")  // gtid
		w.uvarint(0)       // timestamp
		w.uvarint(claimed) // row changes
	}, claimed)},
}

// A frame that declares a body over MaxMessageBytes is refused before the
// body is allocated: 2 KB on the wire must not cost 4 GiB.
func TestDecodeRefusesDeclaredSizesOverTheLimit(t *testing.T) {
	for _, c := range []struct {
		name     string
		declared uint64
	}{
		{"4 GiB", 1<<32 - 1},                   // the most an s2 block may declare
		{"one byte over", MaxMessageBytes + 1}, // the bound is exact
	} {
		t.Run(c.name, func(t *testing.T) {
			frame := s2Declaring(c.declared)
			var err error
			used := allocated(func() { _, err = Decode(frame) })
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("Decode: %v, want ErrTooLarge", err)
			}
			if used > 1<<20 {
				t.Errorf("a %d-byte frame declaring %d bytes allocated %d bytes", len(frame), c.declared, used)
			}
		})
	}
}

// A count read from the wire sizes an allocation only as far as the bytes
// left can hold that many items.
func TestDecodeBoundsCountsByTheBytesLeft(t *testing.T) {
	for _, c := range claims {
		t.Run(c.name, func(t *testing.T) {
			var err error
			used := allocated(func() { _, err = Decode(c.frame) })
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Decode: %v, want ErrCorrupt", err)
			}
			if limit := uint64(8 * len(c.frame)); used > limit {
				t.Errorf("a %d-byte frame allocated %d bytes, more than %d", len(c.frame), used, limit)
			}
		})
	}
}

// What Encode writes Decode takes: Encode refuses a body over the limit,
// and the limit on frames leaves room for any body under it.
func TestEncodeRefusesMessagesOverTheLimit(t *testing.T) {
	if n := 1 + s2.MaxEncodedLen(MaxMessageBytes); n > MaxFrameBytes {
		t.Fatalf("a body of MaxMessageBytes may encode to %d bytes, more than MaxFrameBytes %d", n, MaxFrameBytes)
	}
	big := make([]byte, MaxMessageBytes)
	m := chunk(1, mustPack([]Row{{big}}))
	if _, err := Encode(m); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Encode of a %d-byte row: %v, want ErrTooLarge", len(big), err)
	}
	m = chunk(1, mustPack([]Row{{big[:MaxMessageBytes-1<<10]}}))
	data, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(data); err != nil {
		t.Fatalf("a message just under the limit: %v", err)
	}
}

// A message that decodes but breaks the contract the destination relies
// on is refused with a clear error, never handed on to panic there.
func TestDecodeRefusesMalformedMessages(t *testing.T) {
	table := func() *Table {
		return &Table{Schema: "db", Name: "t", Key: []int{0},
			Columns: []Column{{Name: "id", DataType: "int"}, {Name: "v", DataType: "text"}}}
	}
	txn := func(c RowChange) []Txn { return []Txn{{GTID: "0-1-1", Changes: []RowChange{c}}} }
	for _, c := range []struct {
		name, why string
		m         *Message
		want      string
	}{
		{"kind zero", "no kind is 0", &Message{}, "unknown kind 0"},
		{"unknown kind", "a newer kind this side cannot apply", &Message{Kind: 99}, "unknown kind 99"},
		{"table without table", "the sinks create m.Table", &Message{Kind: KindTable}, "table message without its table"},
		{"chunk without table", "the sinks write rows into m.Table", &Message{Kind: KindChunk}, "chunk message without its table"},
		{"table done without table", "the sinks mark m.Table done", &Message{Kind: KindTableDone}, "table done message without its table"},
		{"key out of range", "a sink reads Columns[k] for each key column",
			&Message{Kind: KindTable, Table: &Table{Schema: "db", Name: "t", Key: []int{2}, Columns: table().Columns}}, "names column 2 of 2"},
		{"narrow chunk row", "a sink reads a value per column",
			&Message{Kind: KindChunk, Table: table(), Rows: mustPack([]Row{{int64(1), "a"}, {int64(2)}})}, "a row of 1 values for 2 columns"},
		{"wide chunk row", "a sink looks up a column per value",
			&Message{Kind: KindChunk, Table: table(), Rows: mustPack([]Row{{int64(1), "a", "b"}})}, "a row of 3 values for 2 columns"},
		{"insert without its row", "a sink reads the key of After",
			&Message{Kind: KindTxns, Txns: txn(RowChange{Op: OpInsert, Schema: "db", Table: "t"})}, "an insert into db.t without its row"},
		{"delete without its row", "a sink reads the key of Before",
			&Message{Kind: KindTxns, Txns: txn(RowChange{Op: OpDelete, Schema: "db", Table: "t", After: Row{int64(1)}})}, "a delete from db.t without its row"},
		{"update without its before image", "a sink compares the keys of both",
			&Message{Kind: KindTxns, Txns: txn(RowChange{Op: OpUpdate, Schema: "db", Table: "t", After: Row{int64(1)}})}, "an update of db.t without both its rows"},
		{"unknown op", "taken for an update by a sink",
			&Message{Kind: KindTxns, Txns: txn(RowChange{Op: 9, Schema: "db", Table: "t", Before: Row{}, After: Row{}})}, "unknown op 9 on db.t"},
		{"row change without a table", "nothing to apply it to",
			&Message{Kind: KindTxns, Txns: txn(RowChange{Op: OpInsert, After: Row{int64(1)}})}, "no table name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, err := Encode(c.m)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Decode(data)
			if !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
				t.Fatalf("Decode: %v, want ErrCorrupt saying %q (%s)", err, c.want, c.why)
			}
		})
	}
	// What the source sends passes.
	for _, m := range []*Message{
		{Kind: KindTable, Table: table()},
		{Kind: KindChunk, Table: table(), Rows: mustPack([]Row{{int64(1), "a"}}), Lo: Row{int64(0)}, Hi: Row{int64(1)}},
		{Kind: KindChunk, Table: &Table{Schema: "db", Name: "keyless", Columns: table().Columns}, Rows: mustPack([]Row{{nil, nil}})},
		{Kind: KindTableDone, Table: table(), Snapshot: "0-1-5"},
		{Kind: KindCopyDone, Snapshot: "0-1-5"},
		{Kind: KindTxns},
		sample(),
	} {
		data, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(data); err != nil {
			t.Errorf("a well-formed %s message: %v", kindNames[m.Kind], err)
		}
	}
}
