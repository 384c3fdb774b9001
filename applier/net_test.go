package applier

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/dtle-io/dtle/internal/change"
)

func TestNetChangesKeepEachRowsFinalState(t *testing.T) {
	tb := &change.Table{Schema: "db", Name: "t", Key: []int{0, 1}, Columns: []change.Column{{Name: "a"}, {Name: "b"}, {Name: "v"}}}
	other := &change.Table{Schema: "db", Name: "o", Key: []int{0}, Columns: []change.Column{{Name: "id"}, {Name: "v"}}}
	keyless := &change.Table{Schema: "db", Name: "n", Columns: []change.Column{{Name: "v"}}}
	put := func(t *change.Table, r ...any) rowOp { return rowOp{kind: opReplace, t: t, rows: []change.Row{r}} }
	del := func(t *change.Table, r ...any) rowOp { return rowOp{kind: opDeleteKey, t: t, rows: []change.Row{r}} }
	var n netChanges
	for _, o := range []rowOp{
		put(tb, int64(1), "x", 1), // updated twice: the last wins
		put(tb, int64(1), "x", 2),
		del(tb, int64(2), "x", 0), // deleted, then written again
		put(tb, int64(2), "x", 3),
		put(tb, int64(3), "x", 4), // written, then deleted
		del(tb, int64(3), "x", 4),
		put(other, []byte("k"), 5),
		put(tb, int64(1), []byte("x"), 6), // bytes and text are different keys
	} {
		if !n.add(o) {
			t.Fatalf("%v not folded", o)
		}
	}
	if n.add(put(keyless, 1)) || n.add(rowOp{kind: opRaw, t: tb, query: "UPDATE"}) {
		t.Fatal("a keyless or raw operation was folded")
	}
	var got []string
	for _, o := range n.ops() {
		got = append(got, fmt.Sprintf("%d %s %v", o.kind, o.t.Name, o.rows))
	}
	want := []string{
		fmt.Sprintf("%d t [[3 x 4]]", opDeleteKey),
		fmt.Sprintf("%d t [[1 x 2] [2 x 3] [1 [120] 6]]", opReplace),
		fmt.Sprintf("%d o [[[107] 5]]", opReplace),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestAppendKeyIsUnambiguous(t *testing.T) {
	keys := map[string]change.Row{}
	for _, r := range []change.Row{
		{"ab", "c"}, {"a", "bc"}, {[]byte("ab"), "c"}, {int64(1), "x"}, {uint64(1), "x"}, {nil, "x"}, {"", "x"},
		{float64(0), "x"}, {float32(0), "x"},
	} {
		k := string(appendKey(nil, []int{0, 1}, r))
		if prev, ok := keys[k]; ok {
			t.Fatalf("%v and %v share a key", prev, r)
		}
		keys[k] = r
	}
}

// TestBatchOpsFoldsKeyedTablesOnly: batchOps sends keyed tables' changes
// through netChanges (final states, after the rest) and keeps a keyless
// table's in order.
func TestBatchOpsFoldsKeyedTablesOnly(t *testing.T) {
	keyed := &change.Table{Schema: "db", Name: "k", Key: []int{0}, Columns: []change.Column{{Name: "id"}, {Name: "v"}}}
	keyless := &change.Table{Schema: "db", Name: "n", Columns: []change.Column{{Name: "v"}}}
	r := &replayer{dest: &dest{tables: newTableCache()}}
	r.tables.m[keyed.TableName()], r.tables.m[keyless.TableName()] = keyed, keyless
	batch := []change.Txn{
		{GTID: "0-1-1", Changes: []change.RowChange{
			{Op: change.OpInsert, Schema: "db", Table: "k", After: change.Row{int64(1), "a"}},
			{Op: change.OpInsert, Schema: "db", Table: "n", After: change.Row{"x"}},
			{Op: change.OpInsert, Schema: "db", Table: "n", After: change.Row{"y"}},
		}},
		{GTID: "0-1-2", Changes: []change.RowChange{
			{Op: change.OpUpdate, Schema: "db", Table: "k", Before: change.Row{int64(1), "a"}, After: change.Row{int64(1), "b"}},
			{Op: change.OpDelete, Schema: "db", Table: "n", Before: change.Row{"x"}},
			{Op: change.OpDelete, Schema: "db", Table: "n", Before: change.Row{"y"}},
		}},
	}
	ops, rows, err := r.batchOps(context.Background(), nil, batch)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range ops {
		got = append(got, fmt.Sprintf("%d %s %v %s %v", o.kind, o.t.Name, o.rows, o.query, o.args))
	}
	// Ready statements (keyless deletes) never merge: each keeps its own.
	del := "DELETE FROM `db`.`n` WHERE `v` <=> ? LIMIT 1"
	want := []string{
		fmt.Sprintf("%d n [[x] [y]]  []", opInsert),
		fmt.Sprintf("%d n [] %s [x]", opRaw, del),
		fmt.Sprintf("%d n [] %s [y]", opRaw, del),
		fmt.Sprintf("%d k [[1 b]]  []", opReplace),
	}
	if rows != 6 || !reflect.DeepEqual(got, want) {
		t.Fatalf("%d rows, got %q\nwant %q", rows, got, want)
	}
}

func TestNetChangesSplitStatements(t *testing.T) {
	single := &change.Table{Schema: "db", Name: "s", Key: []int{0}, Columns: []change.Column{{Name: "id"}}}
	composite := &change.Table{Schema: "db", Name: "c", Key: []int{0, 1}, Columns: []change.Column{{Name: "a"}, {Name: "b"}}}
	var n netChanges
	for i := range 2500 {
		n.add(rowOp{kind: opReplace, t: single, rows: []change.Row{{int64(i)}}})
	}
	for i := range 2 {
		n.add(rowOp{kind: opDeleteKey, t: composite, rows: []change.Row{{int64(i), int64(i)}}})
	}
	var sizes []int
	for _, o := range n.ops() {
		sizes = append(sizes, len(o.rows))
	}
	if want := []int{1000, 1000, 500, 1, 1}; !reflect.DeepEqual(sizes, want) {
		t.Fatalf("statements of %v rows, want %v", sizes, want)
	}
}

// takeQueued stops at maxN items, or once their sizes reach maxBytes (the
// item that reaches it included), and never waits for more.
func TestTakeQueuedLimits(t *testing.T) {
	queue := make(chan int, 10)
	for i := 2; i <= 10; i++ {
		queue <- i
	}
	size := func(n *int) int { return *n }
	if got := takeQueued(1, queue, 4, nil, 0); !reflect.DeepEqual(got, []int{1, 2, 3, 4}) {
		t.Fatalf("by count: %v", got)
	}
	// 100+5+6 = 111 < 112; with 7, 118 reaches it.
	if got := takeQueued(100, queue, 100, size, 112); !reflect.DeepEqual(got, []int{100, 5, 6, 7}) {
		t.Fatalf("by size: %v", got)
	}
	if got := takeQueued(0, queue, 100, size, 1000); !reflect.DeepEqual(got, []int{0, 8, 9, 10}) {
		t.Fatalf("what is queued: %v", got)
	}
}
