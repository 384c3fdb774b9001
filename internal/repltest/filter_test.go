package repltest

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/rowdiff"
)

// waitQueries polls until the destination query returns what the source
// query does, row by row.
func waitQueries(t *testing.T, src *sql.DB, qs string, dst *sql.DB, qd string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := rowdiff.Queries(ctx, src, qs, dst, qd)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tableExists(t *testing.T, db *sql.DB, schema, table string) bool {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		schema, table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func dropSchemas(t *testing.T, dbs []*sql.DB, schemas ...string) {
	for _, db := range dbs {
		for _, s := range schemas {
			exec(t, db, "DROP DATABASE IF EXISTS `"+s+"`")
		}
	}
}

// Schema and table renames by regex with captures: the full copy and the
// binlog (DML, ALTER, CREATE, RENAME, DROP) land under the new names; an
// ignore rule wins over the do rule that also matches.
func TestRegexRenamesWithCapturesThroughDDL(t *testing.T) {
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	dropSchemas(t, []*sql.DB{src, dst}, "rn_eu_src", "rn_eu_dst", "rn_us_src", "rn_us_dst")
	for _, s := range []string{"rn_eu_src", "rn_us_src"} {
		exec(t, src, "CREATE DATABASE "+s, "USE "+s,
			"CREATE TABLE t_1 (id INT PRIMARY KEY, v VARCHAR(20))",
			"CREATE TABLE t_2 (id INT PRIMARY KEY, v VARCHAR(20))",
			"CREATE TABLE other (id INT PRIMARY KEY)",
			"INSERT INTO t_1 VALUES (1, 'a'), (2, 'b')", "INSERT INTO t_2 VALUES (1, 'x')", "INSERT INTO other VALUES (1)")
	}
	natsURL := startNATS(t)
	job := jobID("rename")
	srcTask, destTask := tasks("unused")
	srcTask.ReplicateDoDB = []*config.ReplicateDB{{TableSchemaRegex: `^rn_(\w+)_src$`, TableSchemaRename: "rn_${1}_dst",
		Tables: []*config.Table{{TableRegex: `^t_(\d+)$`, TableRename: "tbl_${1}"}}}}
	srcTask.ReplicateIgnoreDB = []*config.ReplicateDB{{TableSchema: "rn_us_src", Tables: []*config.Table{{TableName: "t_2"}}}}
	dest := startDest(t, natsURL, job, destTask)
	s := startSrc(t, natsURL, job, srcTask)
	waitEvent(t, dest, "job_stage_incr")
	for _, sc := range []string{"rn_eu_src", "rn_us_src"} {
		exec(t, src, "USE "+sc,
			"INSERT INTO t_1 VALUES (3, 'c')", "UPDATE t_1 SET v = 'bb' WHERE id = 2", "DELETE FROM t_1 WHERE id = 1",
			"ALTER TABLE t_1 ADD COLUMN extra INT DEFAULT 7",
			"INSERT INTO t_1 VALUES (4, 'd', 8)",
			"CREATE TABLE t_3 (id INT PRIMARY KEY, w TEXT)",
			"INSERT INTO "+sc+".t_3 VALUES (1, 'new table')",
			"INSERT INTO t_2 VALUES (2, 'y')",
			"INSERT INTO other VALUES (2)",
		)
	}
	// The ignore rule names t_2 of rn_us_src only: rn_eu_src's is replicated.
	waitQueries(t, src, "SELECT * FROM rn_eu_src.t_2", dst, "SELECT * FROM rn_eu_dst.tbl_2")
	// Both tasks restart: the checkpoint holds the target names.
	s.stop(t)
	dest.stop(t)
	dest = startDest(t, natsURL, job, destTask)
	s = startSrc(t, natsURL, job, srcTask)
	exec(t, src, "CREATE TABLE rn_eu_src.t_4 LIKE rn_eu_src.t_3", "INSERT INTO rn_eu_src.t_4 VALUES (9, 'like')",
		"RENAME TABLE rn_eu_src.t_4 TO rn_eu_src.t_5", "INSERT INTO rn_eu_src.t_5 VALUES (10, 'renamed')",
		"DROP TABLE rn_eu_src.t_2")
	for _, tb := range []string{"1", "3", "5"} {
		waitQueries(t, src, "SELECT * FROM rn_eu_src.t_"+tb, dst, "SELECT * FROM rn_eu_dst.tbl_"+tb)
	}
	for _, tb := range []string{"1", "3"} {
		waitQueries(t, src, "SELECT * FROM rn_us_src.t_"+tb, dst, "SELECT * FROM rn_us_dst.tbl_"+tb)
	}
	if err := rowdiff.Queries(context.Background(), src,
		"SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'rn_eu_src' AND TABLE_NAME = 't_1'",
		dst, "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'rn_eu_dst' AND TABLE_NAME = 'tbl_1'"); err != nil {
		t.Fatalf("the ALTER did not reach the renamed table: %v", err)
	}
	// The DROP of t_2 came before t_5's rows, which are there.
	for _, n := range []struct{ schema, table string }{
		{"rn_eu_dst", "tbl_2"}, {"rn_eu_dst", "tbl_4"}, {"rn_us_dst", "tbl_2"}, {"rn_eu_dst", "other"},
		{"rn_eu_src", "t_1"}, {"rn_us_src", "t_1"},
	} {
		if tableExists(t, dst, n.schema, n.table) {
			t.Errorf("%s.%s exists on the destination", n.schema, n.table)
		}
	}
	s.stop(t)
	dest.stop(t)
}

// column_map_from/column_map_to and where: only the mapped columns, in
// their order and under their names; only the rows the filter passes, with
// updates that cross the filter in both directions, NULLs and
// case-insensitive text. The source server's own evaluation of the same
// WHERE is what the destination must hold.
func TestColumnMapAndWhereFilter(t *testing.T) {
	const schema = "cm_where"
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "USE "+schema,
		"CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40), secret VARCHAR(40), age INT UNSIGNED, KEY (secret))",
		"CREATE TABLE orders (id INT PRIMARY KEY, status VARCHAR(16), amount DECIMAL(10,2), note VARCHAR(40))",
		"INSERT INTO people VALUES (1, 'ann', 's1', 30), (2, 'bob', 's2', NULL), (3, NULL, 's3', 4000000000)",
		"INSERT INTO orders VALUES (1, 'active', 10.00, 'in'), (2, 'ACTIVE ', 9.99, 'out: amount'), "+
			"(3, 'closed', 50, 'out: status'), (4, NULL, 20, 'out: null'), (5, 'Active', NULL, 'out: null amount'), "+
			"(6, 'active', 100, 'in, moves out'), (7, 'closed', 100, 'out, moves in')",
	)
	const where = "status = 'active' AND amount >= 10"
	natsURL := startNATS(t)
	job := jobID("cmwhere")
	srcTask, destTask := tasks(schema)
	srcTask.ReplicateDoDB = []*config.ReplicateDB{{TableSchema: schema, Tables: []*config.Table{
		{TableRegex: "^people", ColumnMapFrom: []string{"age", "id", "name"}, ColumnMapTo: []string{"years", "person_id", "full_name"}},
		{TableName: "orders", Where: where},
	}}}
	dest := startDest(t, natsURL, job, destTask)
	s := startSrc(t, natsURL, job, srcTask)
	waitEvent(t, dest, "job_stage_incr")
	exec(t, src, "USE "+schema,
		"INSERT INTO people VALUES (4, 'dan', 's4', 1)",
		"UPDATE people SET name = 'ann2', secret = 'changed' WHERE id = 1",
		"UPDATE people SET secret = 'only an unmapped column' WHERE id = 2",
		"DELETE FROM people WHERE id = 3",
		"UPDATE orders SET status = 'closed' WHERE id = 6",   // out of the filter: deleted
		"UPDATE orders SET status = 'active ' WHERE id = 7",  // into it: inserted
		"UPDATE orders SET note = 'still in' WHERE id = 1",   // inside: updated
		"UPDATE orders SET note = 'still out' WHERE id = 3",  // outside: nothing
		"UPDATE orders SET amount = 10 WHERE id = 2",         // in, by the amount
		"UPDATE orders SET amount = amount + 1 WHERE id = 5", // NULL + 1: still out
		"INSERT INTO orders VALUES (8, 'aCtIvE', 11, 'in by collation'), (9, 'active', NULL, 'out')",
		"DELETE FROM orders WHERE id IN (1, 3)",
		"CREATE TABLE people2 LIKE people", // created from its definition, mapped
		"INSERT INTO people2 VALUES (1, 'eve', 'e', 41), (2, 'fay', 'f', NULL)",
		"UPDATE people2 SET age = age + 1",
	)
	waitQueries(t, src, "SELECT age, id, name FROM "+schema+".people", dst, "SELECT * FROM "+schema+".people")
	waitQueries(t, src, "SELECT age, id, name FROM "+schema+".people2", dst, "SELECT * FROM "+schema+".people2")
	waitQueries(t, src, "SELECT * FROM "+schema+".orders WHERE "+where, dst, "SELECT * FROM "+schema+".orders")
	for _, table := range []string{"people", "people2"} {
		var cols string
		if err := dst.QueryRowContext(context.Background(), "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS "+
			"WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, table).Scan(&cols); err != nil || cols != "years,person_id,full_name" {
			t.Fatalf("destination columns of %s: %q %v", table, cols, err)
		}
	}
	var n int
	if err := dst.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+schema+".orders").Scan(&n); err != nil || n != 3 {
		t.Fatalf("orders on the destination: %d %v; want 3 (ids 2, 7, 8)", n, err)
	}
	s.stop(t)
	dest.stop(t)
}

// ignore_event and ignore_sql: ignored deletes leave rows on the
// destination, an ignored TRUNCATE and DROP TABLE leave the table, an
// index added by a statement ignore_sql matches is not added, other events
// pass.
func TestEventFilters(t *testing.T) {
	const schema = "ev_filter"
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "USE "+schema,
		"CREATE TABLE keep_deleted (id INT PRIMARY KEY, v INT)",
		"CREATE TABLE logs (id INT PRIMARY KEY, msg VARCHAR(20))",
		"CREATE TABLE plain (id INT PRIMARY KEY)",
		"INSERT INTO keep_deleted VALUES (1, 1), (2, 2), (3, 3)", "INSERT INTO logs VALUES (1, 'a')", "INSERT INTO plain VALUES (1)")
	natsURL := startNATS(t)
	job := jobID("events")
	srcTask, destTask := tasks(schema)
	srcTask.ReplicateDoDB = []*config.ReplicateDB{{TableSchema: schema, IgnoreSQL: []string{`(?i)ADD INDEX ignored_`},
		Tables: []*config.Table{
			{TableName: "keep_deleted", IgnoreEvent: []string{"delete"}},
			{TableName: "logs", IgnoreEvent: []string{"truncate table", "drop table"}},
			{TableName: "plain"},
		}}}
	dest := startDest(t, natsURL, job, destTask)
	s := startSrc(t, natsURL, job, srcTask)
	waitEvent(t, dest, "job_stage_incr")
	exec(t, src, "USE "+schema,
		"DELETE FROM keep_deleted WHERE id <= 2", "UPDATE keep_deleted SET v = 30 WHERE id = 3", "INSERT INTO keep_deleted VALUES (4, 4)",
		"INSERT INTO logs VALUES (2, 'b')", "TRUNCATE TABLE logs", "INSERT INTO logs VALUES (3, 'c')",
		"ALTER TABLE plain ADD COLUMN kept_col INT", "ALTER TABLE plain ADD INDEX ignored_ix (kept_col)",
		"ALTER TABLE plain ADD INDEX kept_ix (kept_col)",
		"INSERT INTO plain (id, kept_col) VALUES (2, 5)",
		"DROP TABLE logs", "DELETE FROM plain WHERE id = 1",
	)
	waitQueries(t, src, "SELECT 1, 1 UNION ALL SELECT 2, 2 UNION ALL SELECT * FROM "+schema+".keep_deleted",
		dst, "SELECT * FROM "+schema+".keep_deleted")
	waitQueries(t, src, "SELECT * FROM "+schema+".plain", dst, "SELECT * FROM "+schema+".plain")
	idx, err := rowdiff.Lines(context.Background(), dst, "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '"+schema+"' AND TABLE_NAME = 'plain' ORDER BY 1")
	if err != nil || strings.Join(idx, ",") != "kept_ix,PRIMARY" {
		t.Fatalf("indexes of plain on the destination: %v %v; want kept_ix,PRIMARY", idx, err)
	}
	got, err := rowdiff.Lines(context.Background(), dst, "SELECT CONCAT(id, ':', msg) FROM "+schema+".logs ORDER BY id")
	if err != nil || strings.Join(got, ",") != "1:a,2:b,3:c" {
		t.Fatalf("logs on the destination: %v %v; want 1:a,2:b,3:c (truncate and drop ignored)", got, err)
	}
	s.stop(t)
	dest.stop(t)
}
