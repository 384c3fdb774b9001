package change

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func sample() *Message {
	return &Message{
		Kind: KindTxns, Session: "s1", Seq: 42, Flavor: FlavorMariaDB,
		Table: &Table{Schema: "db", Name: "t", Key: []int{0},
			Columns:   []Column{{Name: "id", DataType: "bigint", Unsigned: true}, {Name: "b", DataType: "blob", Binary: true}},
			CreateSQL: "CREATE TABLE t (id bigint unsigned primary key, b blob)"},
		Rows: []Row{{uint64(math.MaxUint64), []byte{0, 1, 255}}, {nil, ""}},
		Pos:  "0-1-5",
		Txns: []Txn{{GTID: "0-1-6", Timestamp: 1700000000, LogFile: "mysql-bin.000001", LogPos: 1234,
			Changes: []RowChange{
				{Op: OpInsert, Schema: "db", Table: "t", After: Row{int64(math.MinInt64), float32(1.5), math.Inf(1), "😀"}},
				{Op: OpUpdate, Schema: "db", Table: "t", Before: Row{int64(1)}, After: Row{int64(2)}},
				{Op: OpDelete, Schema: "db", Table: "t", Before: Row{[]byte{}}},
			}},
			{GTID: "0-1-7", DDL: &DDL{Schema: "db", SQL: "ALTER TABLE t ADD c INT", Tables: []string{"db.t"}}, More: true}},
		Lo: Row{"a", int64(1)}, Hi: Row{"b", int64(2)}, Resume: true,
		DropFirst: true,
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
	_, err := Encode(&Message{Rows: []Row{{struct{}{}}}})
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

func FuzzDecode(f *testing.F) {
	data, _ := Encode(sample())
	f.Add(data)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
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

func BenchmarkEncodeChunk(b *testing.B) {
	m := &Message{Kind: KindChunk, Table: &Table{Schema: "db", Name: "t"}}
	for i := range 2000 {
		m.Rows = append(m.Rows, Row{int64(i), "some text value of moderate length", float64(i) / 3, nil, []byte("bytes")})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeChunk(b *testing.B) {
	m := &Message{Kind: KindChunk, Table: &Table{Schema: "db", Name: "t"}}
	for i := range 2000 {
		m.Rows = append(m.Rows, Row{int64(i), "some text value of moderate length", float64(i) / 3, nil, []byte("bytes")})
	}
	data, _ := Encode(m)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
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
