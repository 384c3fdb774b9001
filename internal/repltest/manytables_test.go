package repltest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// manyTableKinds are the keys of the many small tables, in turn: a primary
// key, a unique key over NOT NULL columns only, no key, and a primary key
// with a plain index (built after the rows).
var manyTableKinds = []string{
	"(id INT NOT NULL, k INT NOT NULL, c CHAR(32), PRIMARY KEY (id))",
	"(id INT NOT NULL, k INT NOT NULL, c CHAR(32), UNIQUE KEY (k, id))",
	"(id INT NOT NULL, k INT NOT NULL, c CHAR(32))",
	"(id INT NOT NULL, k INT NOT NULL, c CHAR(32), PRIMARY KEY (id), KEY (k))",
}

// TestManySmallTablesCopyExactlyAcrossARestart copies a few hundred small
// tables of every kind of key (some empty, some of several chunks), with
// the destination restarted during the copy, and compares them row by row.
// Tables are prepared, written and recorded as done in the background of
// the destination, several at a time: a table recorded as done before all
// of its rows were committed would lose rows here, one prepared twice would
// hold them twice.
func TestManySmallTablesCopyExactlyAcrossARestart(t *testing.T) {
	const schema, tables = "repl_many", 240
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	stmts := []string{"USE " + schema}
	for i := range tables {
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE t%03d %s", i, manyTableKinds[i%len(manyTableKinds)]))
		rows := (i * 7) % 23 // 0 to 22 rows: some tables empty, some of several chunks
		if rows == 0 {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO t%03d VALUES ", i)
		for r := range rows {
			if r > 0 {
				b.WriteString(", ")
			}
			c := fmt.Sprintf("'%d-%d'", i, r)
			if r%5 == 0 {
				c = "NULL"
			}
			fmt.Fprintf(&b, "(%d, %d, %s)", r, (r*13)%7+i, c)
		}
		stmts = append(stmts, b.String())
	}
	exec(t, src, stmts...)

	natsURL := startNATS(t)
	job := jobID("many")
	srcTask, destTask := tasks(schema)
	srcTask.ChunkSize = 8
	destTask.ParallelWorkers = 4
	dest := startDest(t, natsURL, job, destTask)
	s := startSrc(t, natsURL, job, srcTask)
	waitEvent(t, dest, "job_stage_full")
	time.Sleep(300 * time.Millisecond)
	dest.stop(t)
	dest = startDest(t, natsURL, job, destTask)
	waitEvent(t, dest, "job_stage_incr")
	exec(t, src, "INSERT INTO "+schema+".t000 VALUES (1000, 1, 'after the copy')", "DELETE FROM "+schema+".t002")
	waitSame(t, src, dst, schema, 60*time.Second)

	if got := firstColumn(t, dst, "SELECT COUNT(*) FROM dtle.copy_progress WHERE job_id = '"+job+"' AND done = 1"); got != fmt.Sprint(tables) {
		t.Fatalf("%s tables recorded as copied, want %d", got, tables)
	}
	waitFor(t, 30*time.Second, func() error {
		if n := firstColumn(t, dst, "SELECT COUNT(*) FROM dtle.deferred_indexes WHERE job_id = '"+job+"'"); n != "0" {
			return fmt.Errorf("%s tables still wait for their indexes", n)
		}
		return nil
	})
	plain := "SELECT COUNT(DISTINCT TABLE_NAME) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '" + schema + "' AND NON_UNIQUE = 1"
	if got, want := firstColumn(t, dst, plain), firstColumn(t, src, plain); got != want {
		t.Fatalf("%s tables with a plain index on the destination, %s on the source", got, want)
	}
	s.stop(t)
	dest.stop(t)
}
