package applier

import (
	"strconv"
	"strings"
	"testing"

	"github.com/dtle-io/dtle/internal/change"
)

func TestStatements(t *testing.T) {
	keyed := &change.Table{Schema: "db", Name: "t", Key: []int{0}, Columns: []change.Column{
		{Name: "id"}, {Name: "v"}, {Name: "g", Generated: true}}}
	keyless := &change.Table{Schema: "db", Name: "n`x", Columns: []change.Column{{Name: "a"}, {Name: "b"}}}
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"insert skips generated columns", first(batchInsert("INSERT", keyed, []change.Row{{1, "a", 9}, {2, "b", 9}})),
			"INSERT INTO `db`.`t` (`id`, `v`) VALUES (?, ?), (?, ?)"},
		{"delete by key", fst(deleteRow(keyed, change.Row{1, "a", 9})), "DELETE FROM `db`.`t` WHERE `id` = ?"},
		{"keyless delete matches every column null-safely, once", fst(deleteRow(keyless, change.Row{1, nil})),
			"DELETE FROM `db`.`n``x` WHERE `a` <=> ? AND `b` <=> ? LIMIT 1"},
		{"keyless update", fst(updateRow(keyless, change.Row{1, 2}, change.Row{3, 4})),
			"UPDATE `db`.`n``x` SET `a` = ?, `b` = ? WHERE `a` <=> ? AND `b` <=> ? LIMIT 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got  %s\nwant %s", tc.got, tc.want)
			}
		})
	}
	if !keyChanged(keyed, change.Row{1, "a"}, change.Row{2, "a"}) || keyChanged(keyed, change.Row{1, "a"}, change.Row{1, "b"}) {
		t.Fatal("keyChanged wrong")
	}
}

func TestBatchInsertSplitsLargeBatches(t *testing.T) {
	tb := &change.Table{Schema: "db", Name: "t", Columns: []change.Column{{Name: "v"}}}
	big := strings.Repeat("x", 1<<20)
	rows := make([]change.Row, 10)
	for i := range rows {
		rows[i] = change.Row{big}
	}
	stmts, args := batchInsert("INSERT", tb, rows)
	if len(stmts) < 2 {
		t.Fatalf("10 MiB in %d statement(s)", len(stmts))
	}
	n := 0
	for _, a := range args {
		n += len(a)
	}
	if n != 10 {
		t.Fatalf("%d values, want 10", n)
	}
}

func first(s []string, _ [][]any) string { return s[0] }
func fst(s string, _ []any) string       { return s }

func BenchmarkBatchInsert(b *testing.B) {
	tb := &change.Table{Schema: "db", Name: "t", Columns: []change.Column{{Name: "id"}, {Name: "k"}, {Name: "c"}, {Name: "pad"}}}
	rows := make([]change.Row, 2000)
	for i := range rows {
		rows[i] = change.Row{int64(i), int64(i * 7), strings.Repeat("c", 120), strings.Repeat("p", 60)}
	}
	b.ReportAllocs()
	for b.Loop() {
		batchInsert("INSERT", tb, rows)
	}
}

func TestPackedInsertWritesLiterals(t *testing.T) {
	tb := &change.Table{Schema: "db", Name: "t", Columns: []change.Column{
		{Name: "i"}, {Name: "g", Generated: true}, {Name: "s"}, {Name: "b", Binary: true}, {Name: "n"}}}
	rows, err := change.PackRows([]change.Row{
		{int64(-7), int64(0), "it's \\ \"q\"\n\r\x1a\x00 😀", []byte{0, '\'', 0xff}, nil},
		{uint64(18446744073709551615), nil, "", []byte{}, float64(1.5)},
	})
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := packedInsert("INSERT", tb, rows)
	if err != nil {
		t.Fatal(err)
	}
	want := "INSERT INTO `db`.`t` (`i`, `s`, `b`, `n`) VALUES " +
		"(-7, 'it\\'s \\\\ \\\"q\\\"\\n\\r\\Z\\0 😀', _binary'\\0\\'\xff', NULL), " +
		"(18446744073709551615, '', _binary'', 1.5)"
	if len(stmts) != 1 || stmts[0] != want {
		t.Fatalf("got  %q\nwant %q", stmts, want)
	}
	var p change.RowPacker
	for _, n := range []string{"-12.50", "0005", "0.5", "0", "1e5", "1); DROP TABLE t; --"} {
		p.Row(1)
		p.Number([]byte(n))
	}
	stmts, err = packedInsert("INSERT", &change.Table{Schema: "db", Name: "t", Columns: []change.Column{{Name: "d"}}}, p.Take())
	want = "INSERT INTO `db`.`t` (`d`) VALUES (-12.50), ('0005'), (0.5), (0), ('1e5'), ('1); DROP TABLE t; --')"
	if err != nil || len(stmts) != 1 || stmts[0] != want {
		t.Fatalf("numbers: got %q, %v\nwant %q", stmts, err, want)
	}
	if _, err := packedInsert("INSERT", &change.Table{Schema: "db", Name: "t", Columns: tb.Columns[:2]}, rows); err == nil {
		t.Fatal("a row wider than its table was rendered")
	}
	big := make([]change.Row, 10)
	for i := range big {
		big[i] = change.Row{strings.Repeat("x", 1<<20)}
	}
	if rows, err = change.PackRows(big); err != nil {
		t.Fatal(err)
	}
	stmts, err = packedInsert("REPLACE", &change.Table{Schema: "db", Name: "t", Columns: []change.Column{{Name: "v"}}}, rows)
	if err != nil || len(stmts) < 2 || !strings.HasPrefix(stmts[1], "REPLACE INTO `db`.`t` (`v`) VALUES ('x") {
		t.Fatalf("10 MiB in %d statement(s): %v", len(stmts), err)
	}
}

// sysbenchChunk is a 2000-row sysbench-shaped chunk.
func sysbenchChunk(b *testing.B) (*change.Table, change.PackedRows) {
	tb := &change.Table{Schema: "db", Name: "t", Columns: []change.Column{{Name: "id"}, {Name: "k"}, {Name: "c"}, {Name: "pad"}}}
	rows := make([]change.Row, 2000)
	for i := range rows {
		rows[i] = change.Row{strconv.Itoa(i), strconv.Itoa(i * 7), strings.Repeat("c", 120), strings.Repeat("p", 60)}
	}
	packed, err := change.PackRows(rows)
	if err != nil {
		b.Fatal(err)
	}
	return tb, packed
}

// BenchmarkPackedInsert renders a chunk as INSERT statements.
func BenchmarkPackedInsert(b *testing.B) {
	tb, packed := sysbenchChunk(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := packedInsert("INSERT", tb, packed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPackedLoad renders a chunk as a LOAD DATA stream.
func BenchmarkPackedLoad(b *testing.B) {
	tb, packed := sysbenchChunk(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := packedLoad(tb, packed); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAppendEscapedMatchesByteByByte(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table *[256]byte
		want  map[byte]string
	}{
		{"literal", &escapes, map[byte]string{0: `\0`, '\n': `\n`, '\r': `\r`, 0x1a: `\Z`, '\'': `\'`, '"': `\"`, '\\': `\\`}},
		{"load field", &loadEscapes, map[byte]string{0: `\0`, '\t': `\t`, '\n': `\n`, '\r': `\r`, 0x1a: `\Z`, '\\': `\\`}},
	} {
		slow := func(s []byte) []byte {
			var b []byte
			for _, c := range s {
				if esc, ok := tc.want[c]; ok {
					b = append(b, esc...)
				} else {
					b = append(b, c)
				}
			}
			return b
		}
		var all []byte
		for c := range 256 {
			all = append(all, byte(c), 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i')
		}
		for n := range len(all) {
			s := all[n:]
			if got, want := appendEscaped(nil, s, tc.table), slow(s); string(got) != string(want) {
				t.Fatalf("%s, from byte %d: got %q, want %q", tc.name, n, got, want)
			}
		}
		if got := appendEscaped(nil, []byte("plain text, no escapes, 😀 café"), tc.table); string(got) != "plain text, no escapes, 😀 café" {
			t.Fatalf("%s: got %q", tc.name, got)
		}
	}
}
