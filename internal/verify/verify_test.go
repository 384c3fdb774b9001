package verify_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/verify"
)

// tableOf returns the report of a source table.
func tableOf(t *testing.T, rep verify.Report, schema, table string) verify.TableReport {
	t.Helper()
	for _, tb := range rep.Tables {
		if tb.Source == (change.TableName{Schema: schema, Table: table}) {
			return tb
		}
	}
	t.Fatalf("no report of %s.%s in %+v", schema, table, rep.Tables)
	return verify.TableReport{}
}

// Under a live workload (inserts, updates, deletes and key changes, as
// fast as the source takes them), comparisons of a clean job report no
// difference and nothing unsettled: every chunk is compared at a point the
// destination has applied, and rows caught changing are compared again.
func TestLiveWorkloadNoFalseAlarm(t *testing.T) {
	const schema = "verify_live"
	job := &config.Task{ReplicateDoDB: []*config.ReplicateDB{{TableSchema: schema}}}
	src, dst := sandboxDBs(t)
	freshSchema(t, src, dst, []string{schema}, wTable, seedW(20000),
		"CREATE TABLE pair2 (a INT NOT NULL, b VARCHAR(10) NOT NULL, c TEXT, PRIMARY KEY (a, b)) ENGINE=InnoDB",
		"INSERT INTO pair2 SELECT seq % 50, CONCAT('k', seq), REPEAT('x', seq % 7) FROM seq_1_to_3000")
	j := startJob(t, "live", job)
	w := startWorkload(src, schema, 100000)
	time.Sleep(300 * time.Millisecond) // the workload is under way
	// Round 0 in chunks of 700 rows; round 1 with chunks sized to the
	// server's speed, from the job's 2,000 rows up.
	for round, size := range []int{700, 0} {
		rep := j.verify(t, verify.Config{ChunkSize: size})
		if rep.State != verify.StateDone {
			t.Fatalf("round %d: state %s: %s", round, rep.State, rep.Error)
		}
		for _, tb := range rep.Tables {
			if tb.State != verify.TableSame || tb.Differences() != 0 || tb.Unsettled != 0 {
				t.Errorf("round %d: %s: %s, %d differences, %d unsettled: a false alarm", round, tb.Source, tb.State, tb.Differences(), tb.Unsettled)
			}
		}
		tb := tableOf(t, rep, schema, "w")
		if size != 0 && (tb.Chunks < 20 || tb.Rows < 20000) {
			t.Errorf("round %d: w compared in %d chunks, %d rows: want 20000 rows in chunks of 700", round, tb.Chunks, tb.Rows)
		}
		if size == 0 && (tb.Chunks >= 10 || tb.Rows < 20000) {
			t.Errorf("round %d: w compared in %d chunks, %d rows: want 20000 rows in chunks that grow from 2,000", round, tb.Chunks, tb.Rows)
		}
	}
	n := w.end(t)
	t.Logf("%d workload transactions ran during the comparisons", n)
	if n < 100 {
		t.Errorf("only %d workload transactions: the comparisons did not run under load", n)
	}
	j.caughtUp(t)
	identical(t, src, dst, schema, "w", "pair2")
}

// A row changed, one deleted and one inserted on the destination behind
// the job's back are found by key, while the workload goes on (on other
// rows: a workload's update of a changed row would mend it); repair
// rewrites exactly those rows, and the tables end identical row by row.
func TestFindsAndRepairsRowsChangedBehindTheJob(t *testing.T) {
	const schema = "verify_repair"
	job := &config.Task{ReplicateDoDB: []*config.ReplicateDB{{TableSchema: schema}}}
	src, dst := sandboxDBs(t)
	freshSchema(t, src, dst, []string{schema}, wTable, seedW(10000),
		"CREATE TABLE t2 (a INT NOT NULL, b VARBINARY(8) NOT NULL, c TEXT, PRIMARY KEY (a, b)) ENGINE=InnoDB",
		"INSERT INTO t2 SELECT seq, UNHEX(HEX(seq)), 'x' FROM seq_1_to_100")
	j := startJob(t, "repair", job)
	w := startWorkload(src, schema, 100000)
	defer func() {
		if w != nil {
			w.end(t)
		}
	}()
	exec(t, dst, "USE "+schema,
		"UPDATE w SET note = 'changed behind the job' WHERE id = 6234",
		"DELETE FROM w WHERE id = 8321",
		"INSERT INTO w (id, v) VALUES (99999, 1)",
		"UPDATE w SET f = f + 0.0001 WHERE id = 7777", // a FLOAT's own text hides this change
		"UPDATE t2 SET c = NULL WHERE a = 42",
	)
	rep := j.verify(t, verify.Config{ChunkSize: 500, MaxKeys: 10})
	tb := tableOf(t, rep, schema, "w")
	want := verify.TableReport{Missing: 1, Extra: 1, Different: 2, MissingKeys: [][]string{{"8321"}}, ExtraKeys: [][]string{{"99999"}},
		DifferentKeys: [][]string{{"6234"}, {"7777"}}}
	if tb.State != verify.TableDiffers || tb.Missing != want.Missing || tb.Extra != want.Extra || tb.Different != want.Different ||
		!slices.EqualFunc(tb.MissingKeys, want.MissingKeys, slices.Equal) || !slices.EqualFunc(tb.ExtraKeys, want.ExtraKeys, slices.Equal) ||
		!slices.EqualFunc(sorted(tb.DifferentKeys), want.DifferentKeys, slices.Equal) {
		t.Errorf("w: got %s missing %v extra %v different %v; want missing [[8321]] extra [[99999]] different [[6234] [7777]]",
			tb.State, tb.MissingKeys, tb.ExtraKeys, tb.DifferentKeys)
	}
	if tb := tableOf(t, rep, schema, "t2"); tb.Different != 1 || !slices.EqualFunc(tb.DifferentKeys, [][]string{{"42", "0x2a"}}, slices.Equal) {
		t.Errorf("t2: got different %d %v; want [[42 0x2a]]", tb.Different, tb.DifferentKeys)
	}

	rep = j.verify(t, verify.Config{ChunkSize: 500, Repair: true})
	for _, name := range []string{"w", "t2"} {
		tb := tableOf(t, rep, schema, name)
		if tb.State != verify.TableRepaired || tb.Repaired != tb.Differences() {
			t.Errorf("%s: %s, repaired %d of %d", name, tb.State, tb.Repaired, tb.Differences())
		}
	}
	w.end(t)
	w = nil
	j.caughtUp(t)
	identical(t, src, dst, schema, "w", "t2")
	rep = j.verify(t, verify.Config{})
	if d := rep.Differences(); d != 0 {
		t.Errorf("%d differences after the repair", d)
	}
}

// A table without a key is compared whole (rows with duplicates counted,
// missing and extra told apart), and the job's renames, column map and
// where filter are honoured: a renamed table is compared with its new
// name, only its mapped columns, only the rows the filter passes; text is
// compared as text whatever the destination column's character set.
func TestKeylessAndRenamedTables(t *testing.T) {
	const schema, renamed = "verify_shape", "verify_shape_dst"
	job := &config.Task{ReplicateDoDB: []*config.ReplicateDB{{TableSchema: schema, TableSchemaRename: renamed, Tables: []*config.Table{
		{TableName: "nokey"},
		{TableName: "orders", TableRename: "orders_copy", ColumnMapFrom: []string{"id", "amount", "note"},
			ColumnMapTo: []string{"order_id", "total", "memo"}, Where: "status <> 'draft'"},
	}}}}
	src, dst := sandboxDBs(t)
	freshSchema(t, src, dst, []string{schema, renamed},
		"CREATE TABLE nokey (a INT, b VARCHAR(10)) ENGINE=InnoDB",
		"INSERT INTO nokey VALUES (1, 'dup'), (1, 'dup'), (2, NULL), (3, 'x'), (NULL, '')",
		"CREATE TABLE orders (id INT PRIMARY KEY, status VARCHAR(10), amount DECIMAL(10,2), note TEXT, secret VARCHAR(20)) ENGINE=InnoDB",
		"INSERT INTO orders SELECT seq, IF(seq % 4 = 0, 'draft', 'paid'), seq * 1.5, CONCAT('n', seq, ' é'), 'hidden' FROM seq_1_to_2000")
	j := startJob(t, "shape", job)
	exec(t, src, "USE "+schema, "UPDATE orders SET status = 'draft' WHERE id = 5", "UPDATE orders SET status = 'paid' WHERE id = 8",
		"UPDATE orders SET secret = 'changed' WHERE id = 9", "INSERT INTO nokey VALUES (4, 'late')")
	j.caughtUp(t)
	// Text in another character set on the destination is the same text.
	exec(t, dst, "ALTER TABLE "+renamed+".orders_copy MODIFY memo TEXT CHARACTER SET latin1")

	rep := j.verify(t, verify.Config{ChunkSize: 300})
	orders := tableOf(t, rep, schema, "orders")
	if rep.Differences() != 0 || orders.State != verify.TableSame || orders.Dest != (change.TableName{Schema: renamed, Table: "orders_copy"}) ||
		!slices.Equal(orders.Key, []string{"order_id"}) || orders.Rows != 1500 {
		t.Fatalf("a clean job: %d differences; orders %s as %s by %v, %d rows (want 1500: the filter's)", rep.Differences(),
			orders.State, orders.Dest, orders.Key, orders.Rows)
	}
	if nk := tableOf(t, rep, schema, "nokey"); nk.State != verify.TableSame || nk.Key != nil || nk.Chunks != 1 || nk.Rows != 6 {
		t.Fatalf("nokey: %s, key %v, %d chunks, %d rows; want same, compared whole, 6 rows", nk.State, nk.Key, nk.Chunks, nk.Rows)
	}

	exec(t, dst, "USE "+renamed,
		"DELETE FROM nokey WHERE a = 1 LIMIT 1", "INSERT INTO nokey VALUES (9, 'extra'), (9, 'extra')",
		"UPDATE orders_copy SET memo = 'changed' WHERE order_id = 10",
		"INSERT INTO orders_copy (order_id, total, memo) VALUES (4, 6, 'a draft')", // the filter keeps drafts out
		"DELETE FROM orders_copy WHERE order_id = 11")
	rep = j.verify(t, verify.Config{ChunkSize: 300})
	nk := tableOf(t, rep, schema, "nokey")
	if nk.State != verify.TableDiffers || nk.Missing != 1 || nk.Extra != 2 || nk.Different != 0 {
		t.Errorf("nokey: %s missing %d extra %d different %d; want missing 1, extra 2", nk.State, nk.Missing, nk.Extra, nk.Different)
	}
	orders = tableOf(t, rep, schema, "orders")
	if fmt.Sprint(orders.MissingKeys, orders.ExtraKeys, orders.DifferentKeys) != "[[11]] [[4]] [[10]]" {
		t.Errorf("orders_copy: missing %v extra %v different %v; want [[11]] [[4]] [[10]]", orders.MissingKeys, orders.ExtraKeys, orders.DifferentKeys)
	}

	rep = j.verify(t, verify.Config{Repair: true, Tables: []change.TableName{{Schema: schema, Table: "orders"}}})
	if len(rep.Tables) != 1 || rep.Tables[0].State != verify.TableRepaired || rep.Tables[0].Repaired != 3 {
		t.Fatalf("repair of orders only: %+v", rep.Tables)
	}
	rep = j.verify(t, verify.Config{Repair: true, Tables: []change.TableName{{Schema: schema, Table: "nokey"}}})
	if nk := rep.Tables[0]; nk.State != verify.TableDiffers || nk.Repaired != 0 || nk.Reason == "" {
		t.Errorf("nokey: %s, repaired %d (%s); want differs, not repaired, with the reason", nk.State, nk.Repaired, nk.Reason)
	}
	if err := queries(src, fmt.Sprintf("SELECT id, amount, note FROM %s.orders WHERE status <> 'draft'", schema),
		dst, fmt.Sprintf("SELECT order_id, total, memo FROM %s.orders_copy", renamed)); err != nil {
		t.Fatalf("after the repair: %v", err)
	}
	v, err := verify.New(verify.Config{JobID: j.id, Source: j.src, Dest: pair.Dest, Tables: []change.TableName{{Schema: schema, Table: "absent"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Run(context.Background()); !errors.Is(err, verify.ErrNotReplicated) {
		t.Errorf("a table the source lacks: %v, want ErrNotReplicated", err)
	}
}

// A comparison refuses a job that has no checkpoint on the destination,
// and a table the job does not replicate.
func TestRefusals(t *testing.T) {
	src, dst := sandboxDBs(t)
	freshSchema(t, src, dst, []string{"verify_refuse"}, "CREATE TABLE t (id INT PRIMARY KEY)")
	task := &config.Task{ConnectionConfig: pair.Source, ReplicateDoDB: []*config.ReplicateDB{{TableSchema: "verify_refuse"}}}
	task.Defaults()
	cases := []struct {
		name string
		cfg  verify.Config
		want error
	}{
		{"no such job on the destination", verify.Config{JobID: "never-ran"}, verify.ErrNotReplicating},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Source, c.cfg.Dest = task, pair.Dest
			v, err := verify.New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep, err := v.Run(ctx)
			if !errorsIs(err, c.want) || rep.State != verify.StateFailed || rep.Error == "" {
				t.Fatalf("got %v (state %s), want %v", err, rep.State, c.want)
			}
		})
	}
}
