package applier

import (
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
