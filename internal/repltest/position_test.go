package repltest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtle-io/dtle/extractor"
	"github.com/dtle-io/dtle/internal/position"
	"github.com/dtle-io/dtle/internal/rowdiff"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// A job given binlog_file and binlog_pos copies nothing and reads the
// binlog from there: nothing written before the position reaches the
// destination, everything after does, row for row.
func TestStartFromBinlogFilePosition(t *testing.T) {
	const schema = "repl_filepos"
	ctx := context.Background()
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "USE "+schema, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO t VALUES (1, 'before'), (2, 'before')", "UPDATE t SET v = 'before too' WHERE id = 1")
	// The destination has the table as it stood at the position (empty
	// here, so that any row from before it would show).
	exec(t, dst, "CREATE DATABASE "+schema, "USE "+schema, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
	file, pos := masterStatus(t, src)
	exec(t, src, "USE "+schema, "INSERT INTO t VALUES (3, 'after'), (4, 'after')", "UPDATE t SET v = 'after' WHERE id = 2",
		"DELETE FROM t WHERE id = 4", "CREATE TABLE t2 (id INT PRIMARY KEY, w INT)", "INSERT INTO t2 VALUES (1, 1), (2, 2)")

	natsURL := startNATS(t)
	job := jobID("filepos")
	srcTask, destTask := tasks(schema)
	srcTask.BinlogFile, srcTask.BinlogPos = file, pos
	dest := startDest(t, natsURL, job, destTask)
	var copied atomic.Int64
	s := startSrcWith(t, natsURL, job, srcTask, func(inner extractor.Sender) extractor.Sender {
		return &copyCounter{Sender: inner, n: &copied}
	})
	waitEvent(t, dest, "job_stage_incr")
	exec(t, src, "USE "+schema, "INSERT INTO t VALUES (5, 'live')", "UPDATE t2 SET w = 20 WHERE id = 2")
	// Rows 2, 3 and 5 were written after the position, row 1 only before.
	waitFor(t, 30*time.Second, func() error {
		if err := rowdiff.Tables(context.Background(), src, dst, schema, "t2"); err != nil {
			return err
		}
		want, got := rowsOf(t, src, "SELECT id, v FROM "+schema+".t WHERE id <> 1 ORDER BY id"), rowsOf(t, dst, "SELECT id, v FROM "+schema+".t ORDER BY id")
		if want != got {
			return fmt.Errorf("destination t holds %s, want %s", got, want)
		}
		return nil
	})
	s.stop(t)
	dest.stop(t)
	if n := copied.Load(); n != 0 {
		t.Fatalf("a job started at a binlog position copied anyway: %d table and chunk messages", n)
	}
	var set string
	if err := dst.QueryRowContext(ctx, "SELECT gtid_set FROM dtle.checkpoint WHERE job_id = ?", job).Scan(&set); err != nil {
		t.Fatal(err)
	}
	if want := executedGTIDs(t, src); set != want {
		t.Fatalf("checkpoint %q, want the source's %q", set, want)
	}
}

// A binlog_file/binlog_pos the source does not have ends the source task
// for good, saying so.
func TestStartFromAMissingBinlogPositionFails(t *testing.T) {
	const schema = "repl_filepos_bad"
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	natsURL := startNATS(t)
	srcTask, destTask := tasks(schema)
	exec(t, src, "CREATE TABLE "+schema+".t (id INT PRIMARY KEY)")
	file, end := masterStatus(t, src)
	for _, c := range []struct {
		name string
		file string
		pos  int64
	}{
		{"no such file", "no-such-bin.000001", 4},
		{"beyond the file's end", file, 1 << 31},
		{"inside an event", file, end - 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			job := jobID("filepos-bad")
			st := *srcTask
			st.BinlogFile, st.BinlogPos = c.file, c.pos
			startDest(t, natsURL, job, destTask)
			s := startSrc(t, natsURL, job, &st)
			select {
			case <-s.Done():
			case <-time.After(60 * time.Second):
				t.Fatal("the source task did not end")
			}
			err := s.Err()
			if !errors.Is(err, extractor.ErrBadStart) || !strings.Contains(err.Error(), "no binlog position") {
				t.Fatalf("the source ended with %v, want ErrBadStart naming the position", err)
			}
		})
	}
}

// A transaction the destination refuses fails the destination task with
// its GTID; once recorded to be skipped, or replaced with given SQL, the
// resumed job handles exactly that transaction, once, and goes on.
func TestSkipOrReplaceAFailingTransaction(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("parallel_workers=%d", workers), func(t *testing.T) { skipOrReplace(t, workers) })
	}
}

func skipOrReplace(t *testing.T, workers int) {
	schema := fmt.Sprintf("repl_skip%d", workers)
	ctx := context.Background()
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	// u has a unique key over a nullable column: dtle writes it with
	// INSERT, so a row added behind dtle's back makes a duplicate key.
	exec(t, src, "USE "+schema, "CREATE TABLE k (id INT PRIMARY KEY, v VARCHAR(20))",
		"CREATE TABLE u (a INT NULL, b VARCHAR(20), UNIQUE KEY (a))", "CREATE TABLE c (id INT PRIMARY KEY, n INT)",
		"CREATE TABLE big (id INT PRIMARY KEY, pad LONGTEXT)", "INSERT INTO c VALUES (1, 0)")
	natsURL := startNATS(t)
	job := jobID("skip")
	srcTask, destTask := tasks(schema)
	destTask.ParallelWorkers = workers
	srcTask.GroupMaxSize = 64 // a backlog arrives in messages of many transactions
	start := func() (*task, *task) {
		d := startDest(t, natsURL, job, destTask)
		return d, startSrc(t, natsURL, job, srcTask)
	}
	dest, s := start()
	waitEvent(t, dest, "job_stage_incr")
	waitSame(t, src, dst, schema, 30*time.Second)

	// Skip: the failing transaction's rows never arrive, those around it do.
	exec(t, dst, "INSERT INTO "+schema+".u VALUES (5, 'dest')")
	exec(t, src, "INSERT INTO "+schema+".k VALUES (1, 'before')")
	gtid := sourceTxn(t, src, "INSERT INTO "+schema+".k VALUES (2, 'skipped')", "INSERT INTO "+schema+".u VALUES (5, 'src')")
	exec(t, src, "INSERT INTO "+schema+".k VALUES (3, 'after')")
	failedOn(t, dest, gtid)
	_ = s.Stop(30 * time.Second)
	if got := rowsOf(t, dst, "SELECT id, v FROM "+schema+".k ORDER BY id"); got != "1:before" {
		t.Fatalf("before the failing transaction the destination holds k %s, want what came before it", got)
	}
	if _, err := position.Record(ctx, dst, job, gtid, nil); err != nil {
		t.Fatal(err)
	}
	dest, s = start()
	waitEvent(t, dest, "skipped transaction "+gtid)
	waitRows(t, dst, "SELECT id, v FROM "+schema+".k ORDER BY id", "1:before,3:after")
	if got := rowsOf(t, dst, "SELECT a, b FROM "+schema+".u ORDER BY a"); got != "5:dest" {
		t.Fatalf("u holds %s after the skip", got)
	}

	// Replace: the given statements run instead, once.
	exec(t, dst, "INSERT INTO "+schema+".u VALUES (6, 'dest')")
	gtid2 := sourceTxn(t, src, "INSERT INTO "+schema+".k VALUES (4, 'source')", "INSERT INTO "+schema+".u VALUES (6, 'src')")
	exec(t, src, "INSERT INTO "+schema+".k VALUES (5, 'after')")
	failedOn(t, dest, gtid2)
	_ = s.Stop(30 * time.Second)
	repl := []string{"INSERT INTO " + schema + ".k VALUES (4, 'replaced')", "UPDATE " + schema + ".u SET b = 'replaced' WHERE a = 6",
		"UPDATE " + schema + ".c SET n = n + 1 WHERE id = 1"}
	if _, err := position.Record(ctx, dst, job, gtid2, repl); err != nil {
		t.Fatal(err)
	}
	dest, s = start()
	waitEvent(t, dest, "replaced transaction "+gtid2+" with 3 statements")
	waitRows(t, dst, "SELECT id, v FROM "+schema+".k ORDER BY id", "1:before,3:after,4:replaced,5:after")
	if got := rowsOf(t, dst, "SELECT a, b FROM "+schema+".u ORDER BY a"); got != "5:dest,6:replaced" {
		t.Fatalf("u holds %s after the replacement", got)
	}
	// In a backlog, applied in groups, the transactions before the failing
	// one are applied and it is the one named.
	s.stop(t)
	dest.stop(t)
	exec(t, dst, "INSERT INTO "+schema+".u VALUES (8, 'dest')")
	for i := 100; i < 150; i++ {
		exec(t, src, fmt.Sprintf("INSERT INTO %s.k VALUES (%d, 'backlog')", schema, i))
	}
	gtid4 := sourceTxn(t, src, "INSERT INTO "+schema+".k VALUES (150, 'skipped')", "INSERT INTO "+schema+".u VALUES (8, 'src')")
	exec(t, src, "INSERT INTO "+schema+".k VALUES (151, 'after')")
	dest, s = start()
	failedOn(t, dest, gtid4)
	_ = s.Stop(30 * time.Second)
	if got := rowsOf(t, dst, "SELECT COUNT(*), MIN(id), MAX(id) FROM "+schema+".k WHERE id >= 100"); got != "50:100:149" {
		t.Fatalf("before the failing transaction of a backlog the destination holds k rows (count:min:max) %s, want 50:100:149", got)
	}
	if _, err := position.Record(ctx, dst, job, gtid4, nil); err != nil {
		t.Fatal(err)
	}
	dest, s = start()
	waitEvent(t, dest, "skipped transaction "+gtid4)
	waitRows(t, dst, "SELECT COUNT(*), MIN(id), MAX(id) FROM "+schema+".k WHERE id >= 100", "51:100:151")

	if workers == 1 {
		// A transaction in parts (about 6 MiB) is skipped whole.
		exec(t, dst, "INSERT INTO "+schema+".u VALUES (7, 'dest')")
		var stmts []string
		for i := range 6 {
			stmts = append(stmts, fmt.Sprintf("INSERT INTO %s.big VALUES (%d, REPEAT('p', 1048576))", schema, i))
		}
		gtid3 := sourceTxn(t, src, append(stmts, "INSERT INTO "+schema+".u VALUES (7, 'src')")...)
		exec(t, src, "INSERT INTO "+schema+".k VALUES (6, 'after')")
		failedOn(t, dest, gtid3)
		_ = s.Stop(30 * time.Second)
		if _, err := position.Record(ctx, dst, job, gtid3, nil); err != nil {
			t.Fatal(err)
		}
		dest, s = start()
		waitEvent(t, dest, "skipped transaction "+gtid3)
		waitRows(t, dst, "SELECT id, v FROM "+schema+".k WHERE id = 6", "6:after")
		if got := rowsOf(t, dst, "SELECT COUNT(*) FROM "+schema+".big"); got != "0" {
			t.Fatalf("big holds %s rows of a skipped transaction", got)
		}
	}

	// Once: after another restart and more changes, the replacement has
	// not run again, and the transactions cannot be recorded again.
	s.stop(t)
	dest.stop(t)
	dest, s = start()
	exec(t, src, "INSERT INTO "+schema+".k VALUES (7, 'last')")
	waitRows(t, dst, "SELECT id, v FROM "+schema+".k WHERE id = 7", "7:last")
	if got := rowsOf(t, dst, "SELECT n FROM "+schema+".c"); got != "1" {
		t.Fatalf("the replacement ran %s times", got)
	}
	if _, err := position.Record(ctx, dst, job, gtid, nil); !errors.Is(err, position.ErrAlreadyApplied) {
		t.Fatalf("recording an applied transaction again: %v", err)
	}
	hs, err := position.List(ctx, dst, job)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if h.Done.IsZero() {
			t.Errorf("request for %s still pending", h.GTID)
		}
	}
	if n := 3 + map[bool]int{true: 1}[workers == 1]; len(hs) != n {
		t.Errorf("%d requests recorded, want %d: %+v", len(hs), n, hs)
	}
	s.stop(t)
	dest.stop(t)
}

// sourceTxn runs stmts as one transaction on the source and returns its GTID.
func sourceTxn(t *testing.T, db *sql.DB, stmts ...string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			_ = tx.Rollback()
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var gtid string
	if err := conn.QueryRowContext(ctx, "SELECT @@SESSION.last_gtid").Scan(&gtid); err != nil {
		t.Fatal(err)
	}
	return gtid
}

// failedOn waits for the destination to fail on transaction gtid.
func failedOn(t *testing.T, dest *task, gtid string) {
	t.Helper()
	select {
	case <-dest.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("the destination did not fail on transaction %s", gtid)
	}
	err := dest.Err()
	if err == nil || !strings.Contains(err.Error(), "transaction "+gtid+" failed") || !strings.Contains(err.Error(), "Duplicate entry") {
		t.Fatalf("the destination ended with %v, want transaction %s's duplicate key", err, gtid)
	}
	t.Logf("the destination failed: %v", err)
}

// rowsOf is a query's rows as "a:b,c:d".
func rowsOf(t *testing.T, db *sql.DB, query string) string {
	t.Helper()
	return sandboxtest.JoinedRows(t, db, query)
}

// waitRows polls until query gives want.
func waitRows(t *testing.T, db *sql.DB, query, want string) {
	t.Helper()
	waitFor(t, 60*time.Second, func() error {
		if got := rowsOf(t, db, query); got != want {
			return fmt.Errorf("%s: %s, want %s", query, got, want)
		}
		return nil
	})
}

// masterStatus is the source's binlog file and position now.
func masterStatus(t *testing.T, db *sql.DB) (string, int64) {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SHOW MASTER STATUS")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatalf("SHOW MASTER STATUS: no row (%v)", rows.Err())
	}
	vals := make([]any, len(cols))
	var file string
	var pos int64
	vals[0], vals[1] = &file, &pos
	for i := 2; i < len(vals); i++ {
		vals[i] = new(sql.RawBytes)
	}
	if err := rows.Scan(vals...); err != nil {
		t.Fatal(err)
	}
	return file, pos
}
