package change

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/klauspost/compress/s2"
)

func sample() *Message {
	return &Message{
		Kind: KindTxns, Session: "s1", Seq: 42, Flavor: FlavorMariaDB,
		Table: &Table{Schema: "db", Name: "t", Key: []int{0},
			Columns:   []Column{{Name: "id", DataType: "bigint", Unsigned: true}, {Name: "b", DataType: "blob", Binary: true}},
			CreateSQL: "CREATE TABLE t (id bigint unsigned primary key, b blob)"},
		Rows:     mustPack([]Row{{uint64(math.MaxUint64), []byte{0, 1, 255}}, {nil, ""}}),
		Snapshot: "0-1-5",
		Txns: []Txn{{GTID: "0-1-6", Timestamp: 1700000000, LogFile: "mysql-bin.000001", LogPos: 1234,
			ServerID: 7, Thread: 42, ThreadKnown: true, CommitMicros: 1700000000123456,
			Changes: []RowChange{
				{Op: OpInsert, Schema: "db", Table: "t", After: Row{int64(math.MinInt64), float32(1.5), math.Inf(1), "😀"},
					Pos: 1000, Row: 0, When: 1699999999},
				{Op: OpUpdate, Schema: "db", Table: "t", Before: Row{int64(1)}, After: Row{int64(2)}, Pos: 1000, Row: 1, When: 1700000001},
				{Op: OpDelete, Schema: "db", Table: "t", Before: Row{[]byte{}}, Pos: math.MaxUint32, Row: math.MaxUint32},
			}},
			{GTID: "0-1-7", DDL: &DDL{Schema: "db", SQL: "ALTER TABLE t ADD c INT", Tables: []TableName{{"db", "t"}, {"a.b", "c"}, {"a", "b.c"}},
				Pos: 999}, More: true}},
		Lo: Row{"a", int64(1)}, Hi: Row{"b", int64(2)}, KeepRows: true,
		DropFirst: true, Referenced: true, SnapshotFile: "mysql-bin.000002", SnapshotPos: 1 << 40, LastTable: true,
	}
}

func TestRoundTrip(t *testing.T) {
	m := sample()
	data, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, m)
	}
}

func TestEncodeRejectsUnknownValues(t *testing.T) {
	if _, err := PackRows([]Row{{struct{}{}}}); err == nil {
		t.Fatal("want error")
	}
	_, err := Encode(&Message{Txns: []Txn{{Changes: []RowChange{{After: Row{struct{}{}}}}}}})
	if err == nil {
		t.Fatal("want error")
	}
}

func TestDecodeRejectsTruncated(t *testing.T) {
	data, _ := Encode(sample())
	if _, err := Decode(data[:len(data)/2]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("want ErrCorrupt, got %v", err)
	}
}

// FuzzDecode checks that what decodes encodes again, and that decoding
// costs memory in proportion to the body: a compressed body is allocated
// only within MaxMessageBytes, and the rest of what Decode and Unpack
// allocate stays within a multiple of the body's size, whatever the counts
// and lengths in it say.
func FuzzDecode(f *testing.F) {
	data, _ := Encode(sample())
	f.Add(data)
	f.Add([]byte{})
	f.Add(s2Declaring(1<<32 - 1))
	f.Add(s2Declaring(MaxMessageBytes + 1))
	for _, c := range claims {
		f.Add(c.frame)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m *Message
		var err error
		used := allocated(func() {
			if m, err = Decode(b); err == nil {
				_, _ = m.Rows.Unpack()
			}
		})
		body, buffer := len(b), 0
		if len(b) > 0 && b[0] == frameS2 {
			if n, err := s2.DecodedLen(b[1:]); err == nil {
				body, buffer = n, n
			}
		}
		if body > MaxMessageBytes && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("a body of %d bytes: %v, want ErrTooLarge", body, err)
		}
		if limit := uint64(buffer + 64*min(body, MaxMessageBytes) + 64<<10); used > limit {
			t.Fatalf("decoding %d bytes (a body of %d) allocated %d bytes, more than %d", len(b), body, used, limit)
		}
		if err != nil {
			return
		}
		again, err := Encode(m)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v", err)
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
	})
}

func benchChunk() []Row {
	var rows []Row
	for i := range 2000 {
		rows = append(rows, Row{int64(i), "some text value of moderate length", float64(i) / 3, nil, []byte("bytes")})
	}
	return rows
}

// BenchmarkEncodeChunk packs a chunk's rows and encodes the message.
func BenchmarkEncodeChunk(b *testing.B) {
	rows := benchChunk()
	b.ReportAllocs()
	for b.Loop() {
		m := chunk(5, mustPack(rows))
		if _, err := Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeChunk decodes a chunk message and walks its values, as
// the destination does.
func BenchmarkDecodeChunk(b *testing.B) {
	data, _ := Encode(chunk(5, mustPack(benchChunk())))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var x Value
	for b.Loop() {
		m, err := Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		v := m.Rows.Values()
		for n, ok := v.NextRow(); ok; n, ok = v.NextRow() {
			for range n {
				v.Next(&x)
			}
		}
		if err := v.Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRowRoundTrip(t *testing.T) {
	for _, r := range []Row{nil, {}, {int64(-1), "k", []byte{0}, nil, uint64(7)}} {
		b, err := EncodeRow(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeRow(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(r) == 0 && len(got) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("got %#v, want %#v", got, r)
		}
	}
}

func TestTxnSizeCountsRowData(t *testing.T) {
	small := Txn{Changes: []RowChange{{After: Row{"x"}}}}
	big := Txn{Changes: []RowChange{{After: Row{string(make([]byte, 1<<20))}}}}
	if small.Size() <= 0 || big.Size() < 1<<20 || big.Size() <= small.Size() {
		t.Fatalf("sizes %d and %d", small.Size(), big.Size())
	}
}

func mustPack(rows []Row) PackedRows {
	p, err := PackRows(rows)
	if err != nil {
		panic(err)
	}
	return p
}

func TestPackedRows(t *testing.T) {
	rows := []Row{{int64(-5), "text 😀", []byte{0, 255}, nil}, {}, {int64(1998)}}
	var p RowPacker
	for _, r := range rows {
		p.Row(len(r))
		for _, v := range r {
			switch x := v.(type) {
			case int64:
				p.Int(x)
			case string:
				p.Text([]byte(x))
			case []byte:
				p.Bytes(x)
			default:
				p.Null()
			}
		}
	}
	packed := p.Take()
	if want := mustPack(rows); !reflect.DeepEqual(packed, want) {
		t.Fatalf("RowPacker wrote %v, PackRows %v", packed, want)
	}
	p.Row(1)
	p.Number([]byte("-1.50"))
	if got, err := p.Take().Unpack(); err != nil || !reflect.DeepEqual(got, []Row{{"-1.50"}}) {
		t.Fatalf("a number unpacks as %v, %v; want its text", got, err)
	}
	if p.Size() != 0 || p.Take().N != 0 {
		t.Fatal("Take did not start afresh")
	}
	got, err := packed.Unpack()
	if err != nil || !reflect.DeepEqual(got, rows) {
		t.Fatalf("unpacked %v, %v", got, err)
	}
	var walked []Row
	v := packed.Values()
	for n, ok := v.NextRow(); ok; n, ok = v.NextRow() {
		r := Row{}
		for range n {
			var x Value
			v.Next(&x)
			switch x.Kind {
			case ValueInt:
				r = append(r, x.Int)
			case ValueText:
				r = append(r, string(x.Raw))
			case ValueBytes:
				r = append(r, x.Raw)
			default:
				r = append(r, nil)
			}
		}
		walked = append(walked, r)
	}
	if err := v.Err(); err != nil || !reflect.DeepEqual(walked, rows) {
		t.Fatalf("walked %v, %v", walked, err)
	}
	// A row count beyond the data, a bad tag and bytes after the rows are
	// errors, also once through a message: Decode walks a chunk's rows.
	for _, bad := range []PackedRows{{N: 4, Data: packed.Data}, {N: 1, Data: []byte{1, 99}}, {N: 1, Data: []byte{0, 0}}} {
		if _, err := bad.Unpack(); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Unpack(%v): %v", bad, err)
		}
		data, _ := Encode(chunk(1, bad))
		if _, err := Decode(data); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("rows %v through a message: %v", bad, err)
		}
	}
}

// chunk is a chunk of rows of a keyless table of cols columns.
func chunk(cols int, rows PackedRows) *Message {
	t := &Table{Schema: "db", Name: "t"}
	for i := range cols {
		t.Columns = append(t.Columns, Column{Name: fmt.Sprint("c", i), DataType: "blob", Binary: true})
	}
	return &Message{Kind: KindChunk, Table: t, Rows: rows}
}

func TestEncodeCompressesOnlyWhatShrinks(t *testing.T) {
	random := make([]byte, 7<<20)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	for _, c := range []struct {
		name  string
		value []byte
		frame byte
	}{
		{"incompressible", random[:256<<10], frameRaw},
		{"incompressible, too large to risk", random, frameS2},
		{"repetitive", bytes.Repeat([]byte("dtle "), 64<<10), frameS2},
		{"small", []byte("x"), frameS2},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := chunk(1, mustPack([]Row{{c.value}}))
			data, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if data[0] != c.frame {
				t.Fatalf("frame %d, want %d (%d bytes from %d)", data[0], c.frame, len(data), len(c.value))
			}
			got, err := Decode(data)
			if err != nil || !reflect.DeepEqual(got.Rows, m.Rows) {
				t.Fatalf("round trip: %v", err)
			}
		})
	}
	if _, err := Decode([]byte{7, 1, 2}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("unknown frame: %v", err)
	}
}
