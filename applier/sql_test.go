package applier

import (
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
