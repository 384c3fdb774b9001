package applier

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// Unique indexes as the destination reports them, and the keys their values
// fold to: values a collation may hold equal must never get different keys.
func TestWritesetKeysOfUniqueIndexes(t *testing.T) {
	ctx := context.Background()
	db := sandboxtest.OpenDB(t, pair.Dest)
	sandboxtest.Exec(t, db, []string{"DROP DATABASE IF EXISTS applier_ws", "CREATE DATABASE applier_ws",
		"CREATE TABLE applier_ws.t (id INT NOT NULL PRIMARY KEY, email VARCHAR(100) COLLATE utf8mb4_general_ci, " +
			"code VARBINARY(10), note TEXT, lt VARCHAR(10) COLLATE utf8mb4_lithuanian_ci, f DOUBLE, " +
			"UNIQUE KEY a_email (email), UNIQUE KEY b_code (code), UNIQUE KEY c_note (note(10)), UNIQUE KEY d_lt (lt), UNIQUE KEY e_f (f))"})
	tb, err := tableinfo.Load(ctx, db, "applier_ws", "t")
	if err != nil {
		t.Fatal(err)
	}
	// PRIMARY, a_email, b_code, the prefix index without columns, d_lt, e_f.
	if want := [][]int{{0}, {1}, {2}, {}, {4}, {5}}; !reflect.DeepEqual(tb.Uniques, want) {
		t.Fatalf("uniques %v, want %v", tb.Uniques, want)
	}
	key := func(index int, row change.Row) writeKey {
		t.Helper()
		k, ok := uniqueKey(tb, indexID{tb.TableName(), index}, tb.Uniques[index], row)
		if !ok {
			t.Fatalf("no key for index %d of %v", index, row)
		}
		return k
	}
	row := func(email, code any) change.Row { return change.Row{int64(1), email, code, "note", nil, nil} }
	for _, c := range []struct {
		what  string
		index int
		a, b  change.Row
		same  bool
	}{
		{"case and trailing spaces, as a _ci PAD SPACE collation compares", 1, row("Ann@x.org  ", nil), row("ann@X.ORG", nil), true},
		{"different text", 1, row("ann@x.org", nil), row("bob@x.org", nil), false},
		{"binary strings are exact", 2, row(nil, []byte("Ab")), row(nil, []byte("ab")), false},
		{"BINARY padding", 2, row(nil, []byte("ab\x00\x00")), row(nil, []byte("ab")), true},
	} {
		if same := key(c.index, c.a) == key(c.index, c.b); same != c.same {
			t.Errorf("%s: same key %v, want %v", c.what, same, c.same)
		}
	}
	// Text beyond printable ASCII ('é' equals 'e' in utf8mb4_general_ci), and
	// an index with a prefix part, write the whole index.
	if k := key(1, row("café", nil)); !k.whole {
		t.Errorf("non-ASCII text: %+v, want the whole index", k)
	}
	if k := key(3, row(nil, nil)); !k.whole {
		t.Errorf("prefix index: %+v, want the whole index", k)
	}
	// A language tailoring holds some ASCII strings equal ('y' and 'i' in Lithuanian).
	if k := key(4, change.Row{int64(1), nil, nil, nil, "y", nil}); !k.whole {
		t.Errorf("utf8mb4_lithuanian_ci: %+v, want the whole index", k)
	}
	if key(5, change.Row{int64(1), nil, nil, nil, nil, math.Copysign(0, -1)}) != key(5, change.Row{int64(1), nil, nil, nil, nil, 0.0}) {
		t.Error("-0 and 0 have different keys")
	}
	if _, ok := uniqueKey(tb, indexID{tb.TableName(), 1}, tb.Uniques[1], row(nil, nil)); ok {
		t.Error("a NULL value takes part in a unique index")
	}
}

func TestAsciiFoldableCollations(t *testing.T) {
	for c, want := range map[string]bool{
		"utf8mb4_general_ci": true, "utf8_bin": true, "utf8mb4_0900_ai_ci": true, "utf8mb4_uca1400_ai_ci": true,
		"utf8mb4_unicode_520_nopad_ci": true, "latin1_swedish_ci": true, "ascii_bin": true,
		"utf8mb4_lithuanian_ci": false, "utf8mb4_roman_ci": false, "utf8mb4_hu_0900_ai_ci": false,
		"utf8mb4_uca1400_swedish_ai_ci": false, "swe7_swedish_ci": false, "latin1_german2_ci": false, "": false,
	} {
		if got := asciiFoldable(c); got != want {
			t.Errorf("%s: %v, want %v", c, got, want)
		}
	}
}

// A table without a key matches rows by every column: changes to a row
// whose unique values are NULL still meet.
func TestWritesetOfATableWithoutKey(t *testing.T) {
	ctx := context.Background()
	db := sandboxtest.OpenDB(t, pair.Dest)
	sandboxtest.Exec(t, db, []string{"DROP DATABASE IF EXISTS applier_ws", "CREATE DATABASE applier_ws",
		"CREATE TABLE applier_ws.nk (u INT NULL, v INT, UNIQUE KEY (u))"})
	keys, err := writeset(ctx, newTableCache(), db, &change.Txn{Changes: []change.RowChange{{Schema: "applier_ws", Table: "nk",
		Before: change.Row{nil, int64(1)}, After: change.Row{nil, int64(2)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !keys[0].whole || keys[0].index.n != wholeTable {
		t.Fatalf("keys %+v, want the whole table", keys)
	}
}
