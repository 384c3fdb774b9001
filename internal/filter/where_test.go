package filter

import (
	"testing"

	"github.com/dtle-io/dtle/internal/change"
)

var whereCols = []change.Column{
	{Name: "id", DataType: "int"},
	{Name: "name", DataType: "varchar", Charset: "utf8mb4"},
	{Name: "price", DataType: "decimal"},
	{Name: "state", DataType: "enum", Elems: []string{"new", "paid", "shipped"}},
	{Name: "tags", DataType: "set", Elems: []string{"a", "b", "c"}},
	{Name: "code", DataType: "varbinary", Binary: true},
	{Name: "ratio", DataType: "double"},
	{Name: "big", DataType: "bigint", Unsigned: true},
	{Name: "cs", DataType: "varchar", Charset: "utf8mb4", Collation: "utf8mb4_bin"},
	{Name: "flags", DataType: "int"},
}

func TestWhereSemantics(t *testing.T) {
	row := change.Row{int64(7), "Émile ", "12.50", int64(2), int64(5), []byte("AbC"), float64(0.5), uint64(18446744073709551615),
		"Case", int64(16)}
	nulls := change.Row{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}
	cases := []struct {
		expr      string
		row, null bool
	}{
		{"id = 7", true, false},
		{"id > 6 AND id < 8", true, false},
		{"id <> 7", false, false},
		{"id = '7abc'", true, false},      // a string read as a number
		{"name = 'emile'", true, false},   // case, accents and trailing spaces ignored
		{"name > 'a'", true, false},       // and ordered the same way
		{"code = 'abc'", false, false},    // binary: byte by byte
		{"code = 'AbC'", true, false},     //
		{"price = 12.5", true, false},     // exact decimals
		{"price > 12.49", true, false},    //
		{"price * 2 = 25", true, false},   //
		{"state = 'paid'", true, false},   // enum by member
		{"tags = 'a,c'", true, false},     // set by members
		{"ratio < 1 / 1", true, false},    //
		{"big > 0", true, false},          // unsigned
		{"big > -1", true, false},         //
		{"id IN (1, 7)", true, false},     //
		{"id NOT IN (1, 2)", true, false}, //
		{"id NOT IN (1, NULL)", false, false},
		{"id BETWEEN 5 AND 7", true, false},
		{"name LIKE 'é%'", true, false},
		{"name NOT LIKE '%z%'", true, false},
		{"code LIKE 'a%'", false, false},
		{"name REGEXP '^éM'", true, false},
		{"id IS NULL", false, true},
		{"id IS NOT NULL", true, false},
		{"id = 7 OR id IS NULL", true, true},
		{"NOT (id = 8)", true, false},
		{"id <=> NULL", false, true},
		{"(id = 8) IS FALSE", true, false},
		{"COALESCE(id, 0) = 0", false, true},
		{"IFNULL(name, 'x') = 'x'", false, true},
		{"LOWER(name) = 'émile '", true, false},
		{"CHAR_LENGTH(name) = 6", true, false},
		{"id % 2 = 1", true, false},
		{"id DIV 2 = 3", true, false},
		{"id / 0 IS NULL", true, true},
		{"1", true, true},
		{"-id = -7", true, false},
		{"id = 7 XOR id = 8", true, false},
		{"state = 2", true, false},           // an enum in a numeric context is its index
		{"state + 0 = 2", true, false},       //
		{"tags = 5", true, false},            // a set its bitmap
		{"flags = 0x10", true, false},        // a hex literal in a numeric context
		{"flags = b'10000'", true, false},    //
		{"code = x'416243'", true, false},    // and a binary string against bytes
		{"price LIKE '%.50'", true, false},   // DECIMAL keeps its scale as text
		{"cs = 'case'", false, false},        // a _bin collation compares as written
		{"cs = 'Case'", true, false},         //
		{"cs LIKE 'c%'", false, false},       //
		{"id = 7 -- a comment", true, false}, //
	}
	for _, tc := range cases {
		w, err := ParseWhere(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		b, err := w.Bind(whereCols)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := b.Match(row); got != tc.row {
			t.Errorf("%s on the row: got %v", tc.expr, got)
		}
		if got := b.Match(nulls); got != tc.null {
			t.Errorf("%s on NULLs: got %v", tc.expr, got)
		}
	}
}

func TestWhereErrors(t *testing.T) {
	for _, expr := range []string{"id = ", "id IN (SELECT 1)", "SLEEP(1) = 0", "id = 1; DROP TABLE t",
		"id = 1 GROUP BY id", "id = 1 HAVING id", "id = 1 FOR UPDATE", "id = 1 LIMIT 1",
		"0 LIKE '' ESCAPE '\xf0'", "name LIKE 'a!%' ESCAPE 'é'"} {
		if _, err := ParseWhere(expr); err == nil {
			t.Errorf("%q: parsed", expr)
		}
	}
	w, err := ParseWhere("id = 7 -- ) OR (1")
	if err != nil || w.SQL() != "`id`=7" {
		t.Fatalf("the SQL for the copy: %q %v", w.SQL(), err)
	}
	w, err = ParseWhere("nope = 1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Bind(whereCols); err == nil {
		t.Fatal("an unknown column bound")
	}
}

// FuzzWhere: any expression parses or is refused; a parsed one binds or is
// refused, and evaluates on any row without panicking.
func FuzzWhere(f *testing.F) {
	for _, s := range []string{"id = 7", "name LIKE 'a%' ESCAPE '!'", "price BETWEEN 1 AND 2 OR state IN ('new', 2)",
		"COALESCE(big, 0) DIV 0 IS NULL", "flags = 0x10 XOR cs REGEXP '^C'", "NOT (ratio <=> NULL)"} {
		f.Add(s, int64(7), "Émile")
	}
	f.Fuzz(func(t *testing.T, expr string, n int64, text string) {
		w, err := ParseWhere(expr)
		if err != nil {
			return
		}
		if _, err := ParseWhere(w.SQL()); err != nil {
			t.Fatalf("%q restores as %q, which does not parse: %v", expr, w.SQL(), err)
		}
		b, err := w.Bind(whereCols)
		if err != nil {
			return
		}
		for _, row := range []change.Row{
			{n, text, text, n, n, []byte(text), float64(n), uint64(n), text, n},
			make(change.Row, len(whereCols)),
		} {
			_ = b.Match(row)
		}
	})
}

// TestWhereReadsBinlogImages: values arrive as the binlog holds them
// (integers signed, text in the column's character set).
func TestWhereReadsBinlogImages(t *testing.T) {
	cols := []change.Column{{Name: "u", DataType: "tinyint", Unsigned: true}, {Name: "s", DataType: "varchar", Charset: "latin1"}}
	w, err := ParseWhere("u = 255 AND s = 'CAFE'")
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.Bind(cols)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Match(change.Row{int64(-1), []byte{'c', 'a', 'f', 0xe9}}) {
		t.Fatal("an unsigned tinyint 255 and latin1 'café' did not match")
	}
}
