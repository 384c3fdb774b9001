package kafka_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// TestSubscriptionFullCopyThenBinlog: every type through the full copy and
// through the binlog, updates that move the key, deletes, keyless tables
// and DDL; a read_committed consumer ends up holding the source exactly.
func TestSubscriptionFullCopyThenBinlog(t *testing.T) {
	const schema = "sub_exact"
	src := sandboxtest.OpenDB(t, pair.Source)
	sandboxtest.Exec(t, src, []string{"DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema})
	setup := append([]string{"SET SESSION sql_mode = ''", "USE " + schema}, typesTable...)
	setup = append(setup, typesRows...)
	setup = append(setup,
		"CREATE TABLE w (id INT NOT NULL PRIMARY KEY, n INT, v VARCHAR(20))",
		"CREATE TABLE nokey (a INT, b VARCHAR(10))",
		"INSERT INTO nokey VALUES (1, 'same'), (1, 'same'), (NULL, NULL)")
	for i := range 40 {
		setup = append(setup, fmt.Sprintf("INSERT INTO w VALUES (%d, %d, 'seed')", i, i))
	}
	sandboxtest.Exec(t, src, setup)

	j := newJob(t, schema)
	j.startDest()
	j.startSrc()
	j.waitEvent("job_stage_full")
	j.waitEvent("job_stage_incr")

	binlog := append([]string{"SET SESSION sql_mode = ''", "USE " + schema}, typesRows...)
	binlog = append(binlog,
		"UPDATE types SET vc = CONCAT(vc, ' ✓'), biu = 18446744073709551614, b64 = b'1010', st = 'y', e = 'b' WHERE id = 1",
		"DELETE FROM types WHERE id = 2",
		"UPDATE w SET id = id + 1000 WHERE id < 5",
		"UPDATE w SET n = n * 2 WHERE id BETWEEN 10 AND 20",
		"DELETE FROM w WHERE id BETWEEN 30 AND 35",
		"UPDATE nokey SET b = 'changed' WHERE a = 1 LIMIT 1",
		"DELETE FROM nokey WHERE a IS NULL",
		"ALTER TABLE w ADD COLUMN added DATETIME(3) NULL AFTER n, DROP COLUMN v",
		"INSERT INTO w VALUES (500, 1, '2024-01-02 03:04:05.678')",
		"UPDATE w SET added = '1999-12-31 23:59:59.999' WHERE id = 11",
		"CREATE TABLE late (k VARCHAR(10) NOT NULL, PRIMARY KEY (k), j JSON)",
		"RENAME TABLE late TO later", // each name has its own topic: rows go where the table is
		"INSERT INTO later VALUES ('a', '{\"x\": 1}'), ('b', NULL), ('c', '[1]')",
		"UPDATE later SET k = 'z' WHERE k = 'a'")
	sandboxtest.Exec(t, src, binlog)
	sandboxtest.Exec(t, src, []string{"BEGIN", "INSERT INTO " + schema + ".w VALUES (600, 6, NULL)", "DELETE FROM " + schema + ".w WHERE id = 600", "COMMIT"})

	ddl := checkSame(t, src, j.brokers, schema)
	all := strings.Join(ddl[schema], "\n")
	for _, want := range []string{"CREATE TABLE `types`", "ALTER TABLE w ADD COLUMN added", "RENAME TABLE late TO later"} {
		if !strings.Contains(all, want) {
			t.Errorf("schema-change topic lacks %q; has:\n%s", want, all)
		}
	}
	stop(t, j.srcTask)
	stop(t, j.dstTask)
}

// TestSubscriptionRestartsAreExactlyOnce stops the destination and then the
// source, mid-copy and mid-binlog, while rows keep changing; a
// read_committed consumer then sees no event twice and none missing.
func TestSubscriptionRestartsAreExactlyOnce(t *testing.T) {
	const schema = "sub_restart"
	src := sandboxtest.OpenDB(t, pair.Source)
	sandboxtest.Exec(t, src, append([]string{"DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema}, twoTables(schema)...))

	// The workload runs from before the copy to after the restarts: rows
	// change inside the copy's snapshots as well as after them.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 400 {
			if err := changeTwoTables(src, schema, i); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	j := newJob(t, schema)
	j.src.ChunkSize = 10
	j.startDest()
	j.startSrc()
	j.waitEvent("job_stage_full")
	// Stop once table a is copied and b is not: b is copied again at a later
	// snapshot, and its binlog rows between the two must not come twice.
	j.waitTableCopied()
	stop(t, j.dstTask) // mid-copy
	// b changes shape while the destination is down in the middle of the
	// copy, with rows still changing.
	sandboxtest.Exec(t, src, []string{"ALTER TABLE " + schema + ".b ADD COLUMN extra INT NOT NULL DEFAULT 7"})
	j.startDest()
	j.waitEvent("job_stage_incr")
	stop(t, j.dstTask) // mid-binlog
	j.startDest()
	time.Sleep(300 * time.Millisecond)
	stop(t, j.srcTask)
	j.startSrc()
	<-done
	checkSame(t, src, j.brokers, schema) // fails on any event seen twice
	stop(t, j.srcTask)
	stop(t, j.dstTask)
}

// twoTables makes tables a (300 rows) and b (18000 rows: in chunks of 10,
// copied long after a) in schema.
func twoTables(schema string) []string {
	setup := []string{"USE " + schema,
		"CREATE TABLE a (id INT NOT NULL PRIMARY KEY, n INT)", "CREATE TABLE b (id INT NOT NULL PRIMARY KEY, n INT)"}
	for i := range 300 {
		setup = append(setup, fmt.Sprintf("INSERT INTO a VALUES (%d, 0)", i))
	}
	return append(setup, "INSERT INTO b SELECT x.id * 300 + y.id, 0 FROM a x JOIN a y WHERE x.id < 60")
}

// changeTwoTables makes change i of the workload on twoTables: an update
// of a, an insert into b and a delete from b.
func changeTwoTables(db *sql.DB, schema string, i int) error {
	return sandbox.ExecErr(context.Background(), db, "USE "+schema,
		fmt.Sprintf("UPDATE a SET n = n + 1 WHERE id = %d", i%300),
		fmt.Sprintf("INSERT INTO b (id, n) VALUES (%d, %d)", 100000+i, i),
		fmt.Sprintf("DELETE FROM b WHERE id = %d", i%300))
}
