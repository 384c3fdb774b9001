package verify_test

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/pipeline"
	"github.com/dtle-io/dtle/internal/rowdiff"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
	"github.com/dtle-io/dtle/internal/verify"
)

var pair *sandbox.Pair

func TestMain(m *testing.M) { sandboxtest.RunTests(m, &pair) }

const natsToken = "verify-test-token"

// jobSecret seals the jobs' streams, as the cluster's secret does under Nomad.
var jobSecret = []byte("0123456789abcdef0123456789abcdef")

// job is a replicating job running in this process: the source and the
// destination tasks of internal/pipeline over an embedded NATS server.
type job struct {
	id       string
	src      *config.Task
	dest     *config.Task
	srcDB    *sql.DB
	dstDB    *sql.DB
	incr     chan struct{} // closed at the destination's job_stage_incr
	incrOnce sync.Once
}

// startJob runs a job with the source task src (connection filled in)
// and waits until it replicates the binlog.
func startJob(t *testing.T, name string, src *config.Task) *job {
	t.Helper()
	srv, err := pipeline.StartLocalServer(natsToken)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	url := srv.ClientURL()
	j := &job{id: fmt.Sprintf("%s-%d", name, time.Now().UnixNano()), src: src, incr: make(chan struct{}),
		srcDB: sandboxtest.OpenDB(t, pair.Source), dstDB: sandboxtest.OpenDB(t, pair.Dest)}
	src.ConnectionConfig = pair.Source
	src.Defaults()
	j.dest = &config.Task{ConnectionConfig: pair.Dest}
	j.dest.Defaults()
	dest := pipeline.Go(context.Background(), pipeline.Dest{URL: url, Token: natsToken, Name: "dest",
		SinkConfig: pipeline.SinkConfig{Secret: jobSecret, JobID: j.id, Task: j.dest, Logger: sandboxtest.Logger(t, "dest"),
			Event: func(m string) {
				if m == "job_stage_incr" {
					j.incrOnce.Do(func() { close(j.incr) })
				}
			}}}.Run)
	t.Cleanup(func() { _ = dest.Stop(30 * time.Second) })
	source := pipeline.Go(context.Background(), pipeline.Source{Secret: jobSecret, Locate: pipeline.At(url), Token: natsToken,
		JobID: j.id, AllocID: "local-" + j.id, Task: src, Logger: sandboxtest.Logger(t, "src"), RequestTimeout: 5 * time.Second}.Run)
	t.Cleanup(func() { _ = source.Stop(30 * time.Second) })
	select {
	case <-j.incr:
	case <-dest.Done():
		t.Fatalf("the destination ended: %v", dest.Err())
	case <-time.After(90 * time.Second):
		t.Fatal("the job did not reach the binlog stage")
	}
	return j
}

// verify runs a comparison of the job and fails the test if it fails as a
// whole; cfg's job, tasks and logger are filled in.
func (j *job) verify(t *testing.T, cfg verify.Config) verify.Report {
	t.Helper()
	cfg.JobID, cfg.Source, cfg.Dest = j.id, j.src, pair.Dest
	cfg.Logger = sandboxtest.Logger(t, "verify")
	v, err := verify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := v.Run(ctx)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	for _, tb := range rep.Tables {
		t.Logf("%s -> %s: %s chunks=%d rows=%d rechecked=%d missing=%d%v extra=%d%v different=%d%v unsettled=%d repaired=%d in %s %s",
			tb.Source, tb.Dest, tb.State, tb.Chunks, tb.Rows, tb.Rechecked, tb.Missing, tb.MissingKeys, tb.Extra, tb.ExtraKeys,
			tb.Different, tb.DifferentKeys, tb.Unsettled, tb.Repaired, tb.Duration, tb.Reason)
	}
	return rep
}

// caughtUp waits until the destination has applied everything the source
// has executed.
func (j *job) caughtUp(t *testing.T) {
	t.Helper()
	var pos string
	if err := j.srcDB.QueryRowContext(context.Background(), "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, func() error {
		var set string
		if err := j.dstDB.QueryRowContext(context.Background(), "SELECT gtid_set FROM dtle.checkpoint WHERE job_id = ?", j.id).Scan(&set); err != nil {
			return err
		}
		if set != pos {
			return fmt.Errorf("applied %s, source at %s", set, pos)
		}
		return nil
	})
}

// exec runs stmts in order on one connection.
func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	sandboxtest.Exec(t, db, stmts)
}

// freshSchema drops schemas on both servers and creates the first on the
// source with stmts run in it.
func freshSchema(t *testing.T, src, dst *sql.DB, schemas []string, stmts ...string) {
	t.Helper()
	for _, s := range schemas {
		for _, db := range []*sql.DB{src, dst} {
			exec(t, db, "DROP DATABASE IF EXISTS `"+s+"`")
		}
	}
	exec(t, src, append([]string{"CREATE DATABASE `" + schemas[0] + "`", "USE `" + schemas[0] + "`"}, stmts...)...)
}

// waitFor polls check until it passes, failing the test with its last error.
func waitFor(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = check(); last == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not within %s: %v", timeout, last)
}

// identical checks row by row that the tables are the same on both sides.
func identical(t *testing.T, src, dst *sql.DB, schema string, tables ...string) {
	t.Helper()
	if err := rowdiff.Tables(context.Background(), src, dst, schema, tables...); err != nil {
		t.Fatal(err)
	}
}

// workload writes to table w of a schema until stopped: inserts of new
// rows, updates, deletes and key changes near them, in transactions of a
// few statements, as fast as the source takes them.
type workload struct {
	stop chan struct{}
	done chan struct{}
	err  error
	txns atomic.Int64
}

func startWorkload(db *sql.DB, schema string, first int) *workload {
	w := &workload{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		ctx := context.Background()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			id := first + i
			stmts := []string{
				fmt.Sprintf("INSERT INTO `%s`.w (id, v, note, f, d, b, dt, l) VALUES (%d, %d, 'new %d ✓', %d.25, %d.5, UNHEX('%04x'), NOW(3), 'é%d')",
					schema, id, i, id, i, i, i, i),
				fmt.Sprintf("UPDATE `%s`.w SET v = v + 1, note = CONCAT(note, '+') WHERE id = %d", schema, id-3),
				fmt.Sprintf("DELETE FROM `%s`.w WHERE id = %d", schema, id-7),
				fmt.Sprintf("UPDATE `%s`.w SET id = id + 10000000 WHERE id = %d", schema, id-11),
				fmt.Sprintf("UPDATE `%s`.w SET v = v - 1 WHERE id = %d", schema, 1+(i*37)%5000),
			}
			tx, err := db.BeginTx(ctx, nil)
			if err == nil {
				for _, q := range stmts {
					if _, err = tx.ExecContext(ctx, q); err != nil {
						break
					}
				}
				if err == nil {
					err = tx.Commit()
				} else {
					_ = tx.Rollback()
				}
			}
			if err != nil {
				w.err = err
				return
			}
			w.txns.Add(1)
		}
	}()
	return w
}

// end stops the workload and returns the transactions it committed.
func (w *workload) end(t *testing.T) int64 {
	t.Helper()
	close(w.stop)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the workload did not stop")
	}
	if w.err != nil {
		t.Fatalf("workload: %v", w.err)
	}
	return w.txns.Load()
}

// wTable is the workload's table: text in two character sets, a FLOAT, a
// DECIMAL, bytes, a fractional DATETIME and NULLs. Its FLOATs hold values
// of six digits at most: the full copy reads a FLOAT as the server writes
// it, and MariaDB writes six digits.
const wTable = "CREATE TABLE w (id BIGINT PRIMARY KEY, v INT, note VARCHAR(64), f FLOAT, d DECIMAL(20,6), b VARBINARY(16), " +
	"dt DATETIME(3), l VARCHAR(20) CHARACTER SET latin1, KEY v (v)) ENGINE=InnoDB"

// seedW fills w with rows 1..n in one statement.
func seedW(n int) string {
	return fmt.Sprintf("INSERT INTO w (id, v, note, f, d, b, dt, l) "+
		"SELECT seq, seq %% 100, IF(seq %% 10 = 0, NULL, CONCAT('row ', seq, ' 😀')), seq / 4, seq * 1.000001, "+
		"UNHEX(LPAD(HEX(seq), 8, '0')), '2024-01-02 03:04:05.678' + INTERVAL seq SECOND, IF(seq %% 3 = 0, 'café', NULL) "+
		"FROM seq_1_to_%d", n)
}

func sandboxDBs(t *testing.T) (src, dst *sql.DB) {
	t.Helper()
	return sandboxtest.OpenDB(t, pair.Source), sandboxtest.OpenDB(t, pair.Dest)
}

// sorted orders keys of numbers by value.
func sorted(keys [][]string) [][]string {
	out := slices.Clone(keys)
	slices.SortFunc(out, func(a, b []string) int {
		if c := cmp.Compare(len(a[0]), len(b[0])); c != 0 {
			return c
		}
		return cmp.Compare(a[0], b[0])
	})
	return out
}

// queries compares what two queries return, row by row.
func queries(src *sql.DB, qs string, dst *sql.DB, qd string) error {
	return rowdiff.Queries(context.Background(), src, qs, dst, qd)
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
