package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
)

func TestValueExpr(t *testing.T) {
	cases := []struct {
		name    string
		col     change.Column
		asBytes bool
		want    string
		counts  bool // its length is recorded
	}{
		{"text is converted to utf8mb4 bytes: no collation takes part", change.Column{DataType: "varchar", Charset: "latin1"}, false,
			"CAST(CONVERT(`c` USING utf8mb4) AS BINARY)", true},
		{"an enum as its member's name", change.Column{DataType: "enum"}, false, "CAST(CONVERT(`c` USING utf8mb4) AS BINARY)", true},
		{"bytes as they are", change.Column{DataType: "varbinary", Binary: true}, false, "`c`", true},
		{"bit as its bytes", change.Column{DataType: "bit", Binary: true}, false, "`c`", true},
		{"integers as written", change.Column{DataType: "bigint", Unsigned: true}, false, "`c`", false},
		{"decimals as written", change.Column{DataType: "decimal"}, false, "`c`", false},
		{"a float as a double: its own text has six digits", change.Column{DataType: "float"}, false, "(`c` + 0e0)", false},
		{"a datetime as written", change.Column{DataType: "datetime"}, false, "`c`", false},
		{"a year as written", change.Column{DataType: "year"}, false, "`c`", false},
		{"text of one character set on both sides as its bytes", change.Column{DataType: "char", Charset: "latin1"}, true,
			"CAST(`c` AS BINARY)", true},
		{"a set of one character set on both sides as its bytes", change.Column{DataType: "set"}, true, "CAST(`c` AS BINARY)", true},
		{"JSON is converted whatever its character set: each server writes it its own way", change.Column{DataType: "json"}, true,
			"CAST(CONVERT(`c` USING utf8mb4) AS BINARY)", true},
		{"bytes stay bytes", change.Column{DataType: "blob", Binary: true}, true, "`c`", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, counts := valueExpr("`c`", &c.col, c.asBytes)
			if got != c.want || counts != c.counts {
				t.Errorf("got %s (length recorded %v), want %s (%v)", got, counts, c.want, c.counts)
			}
		})
	}
}

// The row string records each string's length and each column's NULL
// flag, so 'a#' + 'b' and 'a' + '#b', or NULL and an empty string, never meet.
func TestRowString(t *testing.T) {
	cols := []change.Column{{DataType: "int"}, {DataType: "varchar"}, {DataType: "blob", Binary: true}}
	got := rowString([]string{"`a`", "`b`", "`c`"}, cols, nil)
	want := "CONCAT_WS('#', `a`, CAST(CONVERT(`b` USING utf8mb4) AS BINARY), `c`, " +
		"CONCAT_WS(',', CHAR_LENGTH(`b`), LENGTH(`c`)), CONCAT(ISNULL(`a`), ISNULL(`b`), ISNULL(`c`)))"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Text compared as its bytes is measured in bytes.
	got = rowString([]string{"`a`", "`b`", "`c`"}, cols, []bool{false, true, false})
	want = "CONCAT_WS('#', `a`, CAST(`b` AS BINARY), `c`, " +
		"CONCAT_WS(',', LENGTH(`b`), LENGTH(`c`)), CONCAT(ISNULL(`a`), ISNULL(`b`), ISNULL(`c`)))"
	if got != want {
		t.Errorf("as bytes: got  %s\nwant %s", got, want)
	}
}

func TestKeyConditions(t *testing.T) {
	one := keyCols{names: []string{"`id`"}, cols: []*change.Column{{DataType: "bigint"}}}
	two := keyCols{names: []string{"`a`", "`b`"}, cols: []*change.Column{{DataType: "varchar"}, {DataType: "varbinary", Binary: true}}}
	enum := keyCols{names: []string{"`e`"}, cols: []*change.Column{{DataType: "enum"}}}
	v := func(s ...string) []keyValue {
		out := make([]keyValue, len(s))
		for i, x := range s {
			out[i] = keyValue(x)
		}
		return out
	}
	cases := []struct {
		name     string
		cond     func(args *[]any) string
		want     string
		wantArgs string
	}{
		{"numbers are literals: a quoted one compares as a double", func(a *[]any) string { return one.between(v("10"), v("20"), a) },
			"((`id` > 10)) AND ((`id` <= 20))", "[]"},
		{"an open start", func(a *[]any) string { return one.between(nil, v("20"), a) }, "((`id` <= 20))", "[]"},
		{"a two-column range spelled out column by column", func(a *[]any) string { return two.between(v("x", "\x01"), v("y", "\x02"), a) },
			"((`a` > ?) OR (`a` = ? AND `b` > ?)) AND ((`a` < ?) OR (`a` = ? AND `b` <= ?))",
			"[x x [1] y y [2]]"},
		{"keys of one column as an IN list", func(a *[]any) string { return one.in([][]keyValue{v("1"), v("2")}, a) },
			"`id` IN (1, 2)", "[]"},
		{"keys of two columns as ORs", func(a *[]any) string { return two.in([][]keyValue{v("p", "q")}, a) },
			"((`a` = ? AND `b` = ?))", "[p [113]]"},
		{"an enum key by its number, as it orders", func(a *[]any) string { return enum.after(v("3"), a) }, "((`e` > 3))", "[]"},
		{"a number that is not one goes as a parameter", func(a *[]any) string { return one.after(v("1; DROP TABLE t"), a) },
			"((`id` > ?))", "[1; DROP TABLE t]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var args []any
			got := c.cond(&args)
			if got != c.want || fmt.Sprint(args) != c.wantArgs {
				t.Errorf("got %s %v, want %s %s", got, args, c.want, c.wantArgs)
			}
		})
	}
	if got := enum.reads(); got != "(`e` + 0)" {
		t.Errorf("an enum key is read as %s, want its number", got)
	}
}

func TestClassify(t *testing.T) {
	k := keyCols{names: []string{"`id`"}, cols: []*change.Column{{DataType: "int"}}}
	row := func(id string, h byte) (string, hashedRow) {
		key := []keyValue{keyValue(id)}
		return keyString(key), hashedRow{key: key, hash: [16]byte{h}}
	}
	set := func(rows ...string) rowSet {
		out := rowSet{}
		for _, r := range rows {
			id, h, _ := strings.Cut(r, "=")
			name, hr := row(id, h[0])
			out[name] = hr
		}
		return out
	}
	cases := []struct {
		name          string
		s1, d, s2     rowSet
		want, pending string
	}{
		{"equal everywhere: nothing", set("1=a"), set("1=a"), set("1=a"), "[]", "[]"},
		{"on the source only: missing", set("1=a"), set(), set("1=a"), "[missing [1]]", "[]"},
		{"on the destination only: extra", set(), set("2=a"), set(), "[extra [2]]", "[]"},
		{"other values: different", set("3=a"), set("3=b"), set("3=a"), "[different [3]]", "[]"},
		{"changed between the source's reads: unsettled", set("4=a"), set("4=b"), set("4=b"), "[]", "[4]"},
		{"inserted between the source's reads: unsettled", set(), set("5=a"), set("5=a"), "[]", "[5]"},
		{"deleted between the source's reads: unsettled", set("6=a"), set(), set(), "[]", "[6]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			diffs, unsettled := classify(c.s1, c.d, c.s2, k)
			var got []string
			for _, d := range diffs {
				got = append(got, fmt.Sprint(d.kind, " ", d.text))
			}
			var pending []string
			for _, u := range unsettled {
				pending = append(pending, string(u[0]))
			}
			if fmt.Sprint(got) != c.want || fmt.Sprint(pending) != c.pending {
				t.Errorf("got %v pending %v, want %s pending %s", got, pending, c.want, c.pending)
			}
		})
	}
}

// The throttle holds the rate, and time spent waiting elsewhere earns at
// most a second of rows.
func TestThrottle(t *testing.T) {
	th := newThrottle(1000)
	ctx := context.Background()
	start := time.Now()
	for range 5 {
		if err := th.take(ctx, 60); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 250*time.Millisecond || el > 2*time.Second {
		t.Errorf("300 rows at 1000/s took %s, want about 300ms", el)
	}
	th.start = th.start.Add(-10 * time.Second) // idle for ten seconds
	start = time.Now()
	if err := th.take(ctx, 1500); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Errorf("1500 rows after a long idle took %s: more than a second of credit", el)
	}
	if err := newThrottle(0).take(ctx, 1e9); err != nil {
		t.Fatal(err)
	}
}

func TestNewRefuses(t *testing.T) {
	conn := &config.MySQLConnection{Host: "h", Port: 3306, User: "u"}
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no job", Config{Source: &config.Task{ConnectionConfig: conn}, Dest: conn}},
		{"no destination", Config{JobID: "j", Source: &config.Task{ConnectionConfig: conn}}},
		{"a negative chunk size", Config{JobID: "j", Source: &config.Task{ConnectionConfig: conn}, Dest: conn, ChunkSize: -1}},
		{"a rule that does not compile", Config{JobID: "j", Dest: conn, Source: &config.Task{ConnectionConfig: conn,
			ReplicateDoDB: []*config.ReplicateDB{{TableSchemaRegex: "("}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New(c.cfg); !errors.Is(err, ErrConfig) {
				t.Errorf("got %v, want ErrConfig", err)
			}
		})
	}
}

// Chunks sized to the server's speed grow at most fourfold a chunk, up to
// maxChunkRows, shrink when the server is slow but never below the job's
// chunk size, and stay as given when a size was asked for.
func TestChunksSizedToTheServersSpeed(t *testing.T) {
	r := &tableRun{v: &Verifier{adaptive: true, cfg: Config{ChunkSize: 2000}}, size: 2000}
	steps := []struct {
		rows int64
		took time.Duration
		want int
	}{
		{2000, 10 * time.Millisecond, 8000},     // 20,000 would take 0.1 s: grows fourfold at most
		{8000, time.Millisecond, 32000},         // fourfold again
		{32000, time.Millisecond, maxChunkRows}, // the cap
		{50000, time.Second, 5000},              // a slow server: 0.1 s worth
		{100, time.Second, 5000},                // a table's short last chunk says little
		{5000, 10 * time.Second, 2000},          // never below the job's chunk size
	}
	for i, s := range steps {
		r.resize(s.rows, s.took)
		if r.size != s.want {
			t.Fatalf("step %d: %d rows in %s: next chunk %d rows, want %d", i, s.rows, s.took, r.size, s.want)
		}
	}
	fixed := &tableRun{v: &Verifier{cfg: Config{ChunkSize: 300}}, size: 300}
	fixed.resize(300, time.Microsecond)
	if fixed.size != 300 {
		t.Fatalf("a chunk size asked for changed to %d", fixed.size)
	}
}
