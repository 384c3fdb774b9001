package applier

import (
	"bytes"
	"context"
	"database/sql"
	"reflect"
	"strings"
	"testing"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/rowdiff"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

var pair *sandbox.Pair

func TestMain(m *testing.M) { sandboxtest.RunTests(m, &pair) }

const loadSchema = "applier_load"

// loadColumns has every type the LOAD DATA stream carries, and no
// AUTO_INCREMENT, so LOAD DATA is used under any lock mode.
const loadColumns = `(id INT NOT NULL PRIMARY KEY,
	i BIGINT, u BIGINT UNSIGNED, d DECIMAL(65,30), f FLOAT, db DOUBLE,
	b8 BIT(8), b64 BIT(64), dt DATE, tm TIME(6), dtm DATETIME(6), ts TIMESTAMP(6) NULL, yr YEAR,
	c CHAR(10), vc VARCHAR(100) CHARACTER SET utf8mb4, l1 VARCHAR(50) CHARACTER SET latin1, tx TEXT,
	bn BINARY(4), vb VARBINARY(300), bl BLOB, e ENUM('a','b','ü'), st SET('x','y','z'), js JSON,
	gen BIGINT AS (i + 1) VIRTUAL) ENGINE=InnoDB`

func newTestApplier(t *testing.T) *Applier {
	t.Helper()
	ctx := context.Background()
	a, err := New(ctx, Config{JobID: "load-test", Task: &config.Task{ConnectionConfig: pair.Dest}, Logger: sandboxtest.Logger(t, "dest")})
	if err != nil {
		t.Fatal(err)
	}
	if a.conn, err = a.session(ctx); err != nil {
		t.Fatal(err)
	}
	if a.ddl, err = a.ddlSession(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.conn.Close()
		_ = a.ddl.Close()
		_ = a.Close()
	})
	// MySQL 8 turns it off by default.
	sandboxtest.Exec(t, sandboxtest.OpenDB(t, pair.Dest), []string{"SET GLOBAL local_infile = 1"})
	return a
}

// packAsSource packs rows of text-protocol values the way the source does
// (extractor/copy.go kindOf): nil is NULL.
func packAsSource(t *testing.T, tb *change.Table, rows [][]any) change.PackedRows {
	t.Helper()
	var p change.RowPacker
	for _, r := range rows {
		p.Row(len(tb.Columns))
		for i, c := range tb.Columns {
			switch v := r[i].(type) {
			case nil:
				p.Null()
			case []byte:
				p.Bytes(v)
			case string:
				if change.NumericType(c.DataType) || c.DataType == "year" {
					p.Number([]byte(v))
				} else {
					p.Text([]byte(v))
				}
			default:
				t.Fatalf("value %T", v)
			}
		}
	}
	return p.Take()
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// loadRows are awkward for a tab-separated stream: separators, escapes and
// \N inside values, bytes that are not UTF-8, NULL next to empty values.
var loadRows = [][]any{
	{"1", "-9223372036854775808", "18446744073709551615", "-12345678901234567890123456789012345.123456789012345678901234567890",
		"1.5", "-2.25e100", []byte{'\t'}, []byte{'\\', '\n', 0, 0, 0x1a, 0, '\r', 'N'}, "1000-01-01", "-838:59:59.000000",
		"9999-12-31 23:59:59.999999", "1970-01-01 00:00:01.000000", "1901",
		"a\tb", "emoji 😀 tab\there\nnew line \\N back\\slash", "café àé", `\N`,
		[]byte{0, 0xff, '\t', '\\'}, allBytes(), []byte{0xc3, '\\', 0xe2, 0x82, '\n', 0xf0, '\t', 0x9f},
		"ü", "x,z", `{"k": [1, "t\tab", "q\"uote"], "n": null}`, nil},
	{"2", nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil,
		"", "", "", "", nil, []byte{}, []byte{}, "", "", nil, nil},
	{"3", "0005", "0", "0.000000000000000000000000000001", "-0.0001", "1e-300", []byte{0xff}, []byte{0, 0, 0, 0, 0, 0, 0, 0},
		"0000-00-00", "00:00:00.000000", "0000-00-00 00:00:00.000000", nil, "0000",
		"NULL", "\r\n", "\\", "\x1a\x00end", nil, []byte("NULL"), []byte(`\N`), "a", "", "[]", nil},
}

func TestLoadDataWritesWhatInsertWrites(t *testing.T) {
	ctx := context.Background()
	a := newTestApplier(t)
	db := sandboxtest.OpenDB(t, pair.Dest)
	sandboxtest.Exec(t, db, []string{"DROP DATABASE IF EXISTS " + loadSchema, "CREATE DATABASE " + loadSchema,
		"CREATE TABLE " + loadSchema + ".ins " + loadColumns, "CREATE TABLE " + loadSchema + ".ld " + loadColumns})

	src := newLoadSource()
	defer src.close()
	loadsBefore := sandboxtest.GlobalStatus(t, db, "Com_load")
	for _, name := range []string{"ins", "ld"} {
		tb, err := tableinfo.Load(ctx, db, loadSchema, name)
		if err != nil {
			t.Fatal(err)
		}
		job := chunkJob{table: tb, rows: packAsSource(t, tb, loadRows)}
		if name == "ld" {
			if job.load, err = a.copier.planLoad(ctx, tb); err != nil || job.load == nil {
				t.Fatalf("no LOAD DATA plan for a table without AUTO_INCREMENT (error %v); local_infile is on", err)
			}
			if !strings.Contains(job.load.into, "`l1` = CONVERT(") {
				t.Fatalf("the latin1 column is not converted: %s", job.load.into)
			}
		}
		if err := a.copier.writeGroup(ctx, a.conn, src, []chunkJob{job}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if n := sandboxtest.GlobalStatus(t, db, "Com_load") - loadsBefore; n != 1 {
		t.Fatalf("%d LOAD DATA statements ran, want 1", n)
	}
	if ins := tableRows(t, db, "ins"); len(ins) != len(loadRows) {
		t.Fatalf("INSERT wrote %d rows, want %d", len(ins), len(loadRows))
	}
	if err := rowdiff.Queries(ctx, db, "SELECT * FROM "+loadSchema+".ins", db, "SELECT * FROM "+loadSchema+".ld"); err != nil {
		t.Fatalf("LOAD DATA wrote other rows than INSERT: %v", err)
	}
	// And what both wrote is what was sent.
	var vb, l1, tx []byte
	if err := db.QueryRowContext(ctx, "SELECT vb, l1, tx FROM "+loadSchema+".ld WHERE id = 1").Scan(&vb, &l1, &tx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(vb, allBytes()) || string(l1) != "café àé" || string(tx) != `\N` {
		t.Fatalf("LOAD DATA wrote vb %x, l1 %q, tx %q", vb, l1, tx)
	}
}

func TestLoadDataIsOnlyPlannedWhereItPays(t *testing.T) {
	ctx := context.Background()
	a := newTestApplier(t)
	db := sandboxtest.OpenDB(t, pair.Dest)
	sandboxtest.Exec(t, db, []string{"DROP DATABASE IF EXISTS " + loadSchema, "CREATE DATABASE " + loadSchema,
		"CREATE TABLE " + loadSchema + ".ai (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v INT)",
		"CREATE TABLE " + loadSchema + ".geo (id INT NOT NULL PRIMARY KEY, g GEOMETRY)",
		"CREATE TABLE " + loadSchema + ".plain (id INT NOT NULL PRIMARY KEY, v VARCHAR(10))"})
	// Under each innodb_autoinc_lock_mode, whatever the test server's is.
	for _, autoIncFree := range []bool{false, true} {
		a.copier.load = &loadSupport{localInfile: true, autoIncFree: autoIncFree, charset: "utf8mb4"}
		for _, c := range []struct {
			table string
			want  bool
		}{{"ai", autoIncFree}, {"geo", false}, {"plain", true}} {
			tb, err := tableinfo.Load(ctx, db, loadSchema, c.table)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := a.copier.planLoad(ctx, tb)
			if err != nil {
				t.Fatal(err)
			}
			if (plan != nil) != c.want {
				t.Errorf("table %s (lock mode 2: %v): LOAD DATA planned %v, want %v", c.table, autoIncFree, plan != nil, c.want)
			}
		}
	}
}

// plainTable makes loadSchema.t (id, v) after stmts and returns it with
// the LOAD DATA plan a makes for it.
func plainTable(t *testing.T, a *Applier, db *sql.DB, stmts ...string) (*change.Table, *loadPlan) {
	t.Helper()
	ctx := context.Background()
	sandboxtest.Exec(t, db, append([]string{"DROP DATABASE IF EXISTS " + loadSchema, "CREATE DATABASE " + loadSchema,
		"CREATE TABLE " + loadSchema + ".t (id INT NOT NULL PRIMARY KEY, v VARCHAR(10))"}, stmts...))
	tb, err := tableinfo.Load(ctx, db, loadSchema, "t")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := a.copier.planLoad(ctx, tb)
	if err != nil || plan == nil {
		t.Fatalf("no plan: %v", err)
	}
	return tb, plan
}

func TestLoadDataKeepsInsertsDuplicateKeyFailure(t *testing.T) {
	ctx := context.Background()
	a := newTestApplier(t)
	db := sandboxtest.OpenDB(t, pair.Dest)
	tb, plan := plainTable(t, a, db, "INSERT INTO "+loadSchema+".t VALUES (1, 'theirs')")
	src := newLoadSource()
	defer src.close()
	job := chunkJob{table: tb, rows: packAsSource(t, tb, [][]any{{"1", "ours"}, {"2", "ours"}}), load: plan}
	err := a.copier.writeGroup(ctx, a.conn, src, []chunkJob{job})
	if err == nil || !strings.Contains(err.Error(), "already exist") {
		t.Fatalf("a chunk overlapping rows the job did not write: %v, want a duplicate-key failure", err)
	}
	if got := tableRows(t, db, "t"); !reflect.DeepEqual(got, []string{`"1","theirs"`}) {
		t.Fatalf("the failed chunk left rows behind: %q", got)
	}
	// A resumed table expects the overlap: REPLACE.
	job.replace = true
	if err := a.copier.writeGroup(ctx, a.conn, src, []chunkJob{job}); err != nil {
		t.Fatal(err)
	}
	if got := tableRows(t, db, "t"); !reflect.DeepEqual(got, []string{`"1","ours"`, `"2","ours"`}) {
		t.Fatalf("REPLACE wrote %q", got)
	}
}

func TestRefusedLoadDataFallsBackToInsert(t *testing.T) {
	ctx := context.Background()
	a, fresh := newTestApplier(t), newTestApplier(t)
	db := sandboxtest.OpenDB(t, pair.Dest)
	tb, plan := plainTable(t, a, db)
	// The server turns LOAD DATA LOCAL off after the plan was made.
	sandboxtest.Exec(t, db, []string{"SET GLOBAL local_infile = 0"})
	defer sandboxtest.Exec(t, db, []string{"SET GLOBAL local_infile = 1"})
	src := newLoadSource()
	defer src.close()
	job := chunkJob{table: tb, rows: packAsSource(t, tb, [][]any{{"1", "a"}, {"2", nil}}), load: plan}
	if err := a.copier.writeGroup(ctx, a.conn, src, []chunkJob{job}); err != nil {
		t.Fatalf("refused LOAD DATA: %v, want the chunk written with INSERT", err)
	}
	if !a.copier.loadRefused.Load() {
		t.Fatal("the refusal was not remembered")
	}
	if got := tableRows(t, db, "t"); !reflect.DeepEqual(got, []string{`"1","a"`, `"2",NULL`}) {
		t.Fatalf("wrote %q", got)
	}
	if plan, err := a.copier.planLoad(ctx, tb); err != nil || plan != nil {
		t.Fatalf("after a refusal: plan %v, error %v; want INSERT", plan, err)
	}
	// An applier that has not read the setting yet plans INSERT from the start.
	if plan, err := fresh.copier.planLoad(ctx, tb); err != nil || plan != nil {
		t.Fatalf("with local_infile off: plan %v, error %v; want INSERT", plan, err)
	}
}

// tableRows reads a table of loadSchema as rowdiff renders rows, sorted.
func tableRows(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := rowdiff.Rows(context.Background(), db, "SELECT * FROM "+loadSchema+"."+table)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// The destination's column decides the conversion: here a latin1 column
// where the source's is utf8mb4.
func TestLoadDataConvertsToTheDestinationsCharset(t *testing.T) {
	ctx := context.Background()
	a := newTestApplier(t)
	db := sandboxtest.OpenDB(t, pair.Dest)
	tb, _ := plainTable(t, a, db, "ALTER TABLE "+loadSchema+".t MODIFY v VARCHAR(10) CHARACTER SET latin1")
	srcTable := *tb
	srcTable.Columns = append([]change.Column(nil), tb.Columns...)
	srcTable.Columns[1].Charset = "utf8mb4"
	plan, err := a.copier.planLoad(ctx, &srcTable)
	if err != nil || plan == nil || !strings.Contains(plan.into, "CONVERT") {
		t.Fatalf("plan %+v, error %v: want the latin1 column converted", plan, err)
	}
	src := newLoadSource()
	defer src.close()
	job := chunkJob{table: &srcTable, rows: packAsSource(t, &srcTable, [][]any{{"1", "café"}}), load: plan}
	loadsBefore := sandboxtest.GlobalStatus(t, db, "Com_load")
	if err := a.copier.writeGroup(ctx, a.conn, src, []chunkJob{job}); err != nil {
		t.Fatal(err)
	}
	if n := sandboxtest.GlobalStatus(t, db, "Com_load") - loadsBefore; n != 1 {
		t.Fatalf("%d LOAD DATA statements ran, want 1", n)
	}
	var stored string
	if err := db.QueryRowContext(ctx, "SELECT HEX(v) FROM "+loadSchema+".t").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != "636166E9" {
		t.Fatalf("stored %s, want 'café' in latin1 (636166E9)", stored)
	}
}
