package repltest

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/extractor"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/pipeline"
	"github.com/dtle-io/dtle/internal/rowdiff"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
	"github.com/dtle-io/dtle/internal/transport"
)

var pair *sandbox.Pair

func TestMain(m *testing.M) { sandboxtest.RunTests(m, &pair) }

const natsToken = "repltest-token"

// jobSecret seals the jobs' streams, as the cluster's secret does under Nomad.
var jobSecret = []byte("0123456789abcdef0123456789abcdef")

func startNATS(t *testing.T) string {
	t.Helper()
	srv, err := pipeline.StartLocalServer(natsToken)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv.ClientURL()
}

// directs are the meeting points of the tests whose tasks talk directly,
// as two tasks in one plugin process do, by their NATS server's URL.
var directs sync.Map

// startDirect is startNATS for a test whose tasks meet directly; NATS is
// still there, as on a Nomad node, for what does not find its peer.
func startDirect(t *testing.T) string {
	t.Helper()
	url := startNATS(t)
	directs.Store(url, transport.NewDirect())
	t.Cleanup(func() { directs.Delete(url) })
	return url
}

// directOf is the meeting point of a test's tasks, nil over NATS.
func directOf(natsURL string) *transport.Direct {
	d, _ := directs.Load(natsURL)
	direct, _ := d.(*transport.Direct)
	return direct
}

// task is one side of a job running in the background, with the
// destination's events.
type task struct {
	*pipeline.Running
	events chan string
	live   atomic.Pointer[pipeline.Live] // the destination's, while it runs
}

// direct is what the running destination took directly (transport.Direct).
func (tk *task) direct() *transport.Traffic {
	if l := tk.live.Load(); l != nil && l.Direct != nil {
		return l.Direct
	}
	return &transport.Traffic{}
}

func (tk *task) stop(t *testing.T) {
	t.Helper()
	if err := tk.Stop(30 * time.Second); err != nil {
		t.Fatalf("task ended with %v", err)
	}
}

func logger(t *testing.T, name string) hclog.Logger { return sandboxtest.Logger(t, name) }

func startDest(t *testing.T, natsURL, job string, dest *config.Task) *task {
	t.Helper()
	events := make(chan string, 16)
	tk := &task{events: events}
	lt := pipeline.Go(context.Background(), pipeline.Dest{URL: natsURL, Token: natsToken, Name: "dest", Direct: directOf(natsURL),
		Live: func(l *pipeline.Live) {
			if l != nil {
				tk.live.Store(l)
			}
		},
		SinkConfig: pipeline.SinkConfig{Secret: jobSecret, JobID: job, Task: dest, Logger: logger(t, "dest"),
			Event: func(m string) {
				select {
				case events <- m:
				default:
				}
			}}}.Run)
	log := logger(t, "dest")
	go func() {
		<-lt.Done()
		if err := lt.Err(); err != nil {
			log.Error("destination ended", "error", err) // the harness's own tests read why
		}
	}()
	t.Cleanup(func() { _ = lt.Stop(30 * time.Second) })
	tk.Running = lt
	return tk
}

func startSrc(t *testing.T, natsURL, job string, src *config.Task) *task {
	t.Helper()
	return startSrcWith(t, natsURL, job, src, nil)
}

// startSrcWith runs the source with its sender wrapped (to count or inject faults).
func startSrcWith(t *testing.T, natsURL, job string, src *config.Task, wrap func(extractor.Sender) extractor.Sender) *task {
	t.Helper()
	lt := pipeline.Go(context.Background(), pipeline.Source{Secret: jobSecret, Locate: pipeline.At(natsURL), Token: natsToken, JobID: job,
		AllocID: "local-" + job, Task: src, Logger: logger(t, "src"),
		RequestTimeout: 5 * time.Second, // a stopped destination never answers
		Wrap:           wrap, Direct: directOf(natsURL)}.Run)
	t.Cleanup(func() { _ = lt.Stop(30 * time.Second) })
	return &task{Running: lt}
}

func tasks(schema string) (src, dest *config.Task) {
	src = &config.Task{ConnectionConfig: pair.Source, ReplicateDoDB: []*config.ReplicateDB{{TableSchema: schema}}}
	dest = &config.Task{ConnectionConfig: pair.Dest}
	src.Defaults()
	dest.Defaults()
	return src, dest
}

func open(t *testing.T, c *config.MySQLConnection) *sql.DB {
	t.Helper()
	db, err := mysqlconn.Open(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// exec runs stmts in order on one connection (see sandbox.ExecErr).
func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	sandboxtest.Exec(t, db, stmts)
}

// caughtUp is a job of one schema in its binlog stage, the destination
// holding the source's rows.
type caughtUp struct {
	src, dst          *sql.DB
	job               string
	srcTask, destTask *config.Task
	s, dest           *task
}

// startCaughtUp creates schema afresh on both servers, runs stmts on the
// source, and runs a job named name of the schema with workers, its tasks
// meeting through natsURL; it returns once the destination is in the
// binlog stage with the source's rows.
func startCaughtUp(t *testing.T, natsURL, schema, name string, workers int, stmts ...string) *caughtUp {
	t.Helper()
	c := &caughtUp{src: open(t, pair.Source), dst: open(t, pair.Dest), job: jobID(name)}
	freshSchema(t, c.src, c.dst, schema)
	exec(t, c.src, stmts...)
	c.srcTask, c.destTask = tasks(schema)
	c.destTask.ParallelWorkers = workers
	c.dest = startDest(t, natsURL, c.job, c.destTask)
	c.s = startSrc(t, natsURL, c.job, c.srcTask)
	waitEvent(t, c.dest, "job_stage_incr")
	waitSame(t, c.src, c.dst, schema, 30*time.Second)
	return c
}

// freshSchema drops and creates schema on both servers.
func freshSchema(t *testing.T, src, dst *sql.DB, schema string) {
	t.Helper()
	for _, db := range []*sql.DB{src, dst} {
		exec(t, db, "DROP DATABASE IF EXISTS `"+schema+"`")
	}
	exec(t, src, "CREATE DATABASE `"+schema+"`")
}

// waitSame polls until the schema is identical on both sides.
func waitSame(t *testing.T, src, dst *sql.DB, schema string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, func() error { return rowdiff.Schema(context.Background(), src, dst, schema) })
}

// waitTables polls until the tables are identical on both sides.
func waitTables(t *testing.T, src, dst *sql.DB, schema string, timeout time.Duration, tables ...string) {
	t.Helper()
	waitFor(t, timeout, func() error { return rowdiff.Tables(context.Background(), src, dst, schema, tables...) })
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
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("not identical after %s: %v", timeout, last)
}

func waitEvent(t *testing.T, tk *task, want string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case e := <-tk.events:
			if e == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %s event", want)
		}
	}
}

// workload writes to the source until stopped: inserts, updates (some
// changing the key), deletes, in multi-statement transactions.
type workload struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
	n    int
}

func startWorkload(t *testing.T, db *sql.DB, schema string, seed int) *workload {
	w := &workload{stop: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			id := seed + i
			stmts := []string{
				fmt.Sprintf("INSERT INTO `%s`.w (id, v, note) VALUES (%d, %d, 'row %d 😀')", schema, id, i, id),
				fmt.Sprintf("UPDATE `%s`.w SET v = v + 1 WHERE id = %d", schema, id-3),
				fmt.Sprintf("DELETE FROM `%s`.w WHERE id = %d", schema, id-7),
				fmt.Sprintf("UPDATE `%s`.w SET id = id + 1000000 WHERE id = %d", schema, id-11),
				fmt.Sprintf("INSERT INTO `%s`.nokey (a, b) VALUES (%d, 'dup'), (%d, 'dup')", schema, i%5, i%5),
				fmt.Sprintf("DELETE FROM `%s`.nokey WHERE a = %d LIMIT 1", schema, (i+2)%5),
			}
			tx, err := db.BeginTx(context.Background(), nil)
			if err == nil {
				for _, q := range stmts {
					if _, err = tx.ExecContext(context.Background(), q); err != nil {
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
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
				return
			}
			w.mu.Lock()
			w.n++
			w.mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return w
}

func (w *workload) end(t *testing.T) int {
	t.Helper()
	close(w.stop)
	w.wg.Wait()
	if w.err != nil {
		t.Fatalf("workload: %v", w.err)
	}
	return w.n
}

const workloadTables = "CREATE TABLE w (id BIGINT PRIMARY KEY, v INT, note VARCHAR(64), KEY v (v), KEY note_v (note(10), v)) ENGINE=InnoDB"
const nokeyTable = "CREATE TABLE nokey (a INT, b VARCHAR(10)) ENGINE=InnoDB"

// waitProgress waits until the job's checkpoint on the destination moves
// past where it is now, so a restart after it has applied work to lose or
// repeat.
func waitProgress(t *testing.T, dst *sql.DB, job string) {
	t.Helper()
	read := func() string {
		var set string
		_ = dst.QueryRowContext(context.Background(), "SELECT gtid_set FROM dtle.checkpoint WHERE job_id = ?", job).Scan(&set)
		return set
	}
	from := read()
	deadline := time.Now().Add(30 * time.Second)
	for read() == from {
		if time.Now().After(deadline) {
			t.Fatalf("the checkpoint of %s stayed at %q", job, from)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
