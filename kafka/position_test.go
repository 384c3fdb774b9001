package kafka_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/position"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
	"github.com/dtle-io/dtle/kafka"
)

// TestPositionControlOfASubscription runs a subscription job, stops it, and
// moves its position back (the transactions after it are emitted again,
// with the rows the source has), forward (the transactions it passes are
// never emitted), and skips exactly one transaction (its events never
// come, the next transaction's do); every check reads the records the
// topics hold.
func TestPositionControlOfASubscription(t *testing.T) {
	const schema = "kafka_pos"
	src := sandboxtest.OpenDB(t, pair.Source)
	sandboxtest.Exec(t, src, []string{"DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema,
		"CREATE TABLE " + schema + ".t (id INT NOT NULL PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO " + schema + ".t VALUES (1, 'seed')"})
	conn := sourceConn(t, src)
	j := newJob(t, schema)
	j.startDest()
	j.startSrc()
	j.waitEvent("job_stage_incr")
	ctx := t.Context()

	pos, err := kafka.OpenPosition(j.id, j.dest)
	if err != nil {
		t.Fatal(err)
	}
	defer pos.Close()

	// Three transactions, emitted once.
	before := executed(t, src)
	first := []string{commit(t, conn, "INSERT INTO t VALUES (10, 'one')"), commit(t, conn, "INSERT INTO t VALUES (11, 'two')"),
		commit(t, conn, "UPDATE t SET v = 'three' WHERE id = 10")}
	waitPosition(t, pos, first[2])
	j.stopBoth()
	cp, err := pos.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Flavor != change.FlavorMariaDB {
		t.Fatalf("this test drives a MariaDB source (its GTIDs); the position's flavor is %q", cp.Flavor)
	}
	tables := cp.Tables
	for _, g := range first {
		if n := eventsOf(t, j, schema, g); n != 1 {
			t.Fatalf("transaction %s: %d events before any move, want 1", g, n)
		}
	}

	// (1) Back, to before the three: each is emitted once more, with the
	// rows as the source wrote them.
	if err := position.CheckReachable(ctx, src, cp.Flavor, before); err != nil {
		t.Fatal(err)
	}
	moved, err := pos.Move(ctx, before)
	if err != nil {
		t.Fatal(err)
	}
	if moved.From != cp.GTIDSet || moved.To != before {
		t.Fatalf("moved %+v, want from %s to %s", moved, cp.GTIDSet, before)
	}
	if cp, err = pos.Read(ctx); err != nil || cp.GTIDSet != before || cp.Stage != change.StageIncr {
		t.Fatalf("after the move the position is %+v (%v), want gtid set %s", cp, err, before)
	}
	if fmt.Sprint(cp.Tables) != fmt.Sprint(tables) {
		t.Fatalf("the move changed the copied tables: %v, was %v", cp.Tables, tables)
	}
	j.startBoth()
	waitPosition(t, pos, first[2])
	evs := waitEvents(t, j, schema, func(evs []event) bool { return countGTID(evs, first[2]) == 2 })
	for _, g := range first {
		if n := countGTID(evs, g); n != 2 {
			t.Errorf("transaction %s: %d events after the move back, want 2 (emitted again)", g, n)
		}
	}
	// The events emitted again carry the source's rows: 10 inserted as
	// 'one' and updated to 'three', 11 inserted as 'two'.
	var again []string
	for _, e := range evs {
		if e.Src.GTID != nil && slices.Contains(first, *e.Src.GTID) {
			again = append(again, e.Op+":"+string(e.After["id"])+"="+string(e.After["v"]))
		}
	}
	slices.Sort(again) // the table's partitions keep no order between keys
	if got, want := strings.Join(again, ","), `c:10="one",c:10="one",c:11="two",c:11="two",u:10="three",u:10="three"`; got != want {
		t.Errorf("the events of the three transactions: %s, want %s", got, want)
	}
	if got := sandboxtest.JoinedRows(t, src, "SELECT id, v FROM "+schema+".t WHERE id IN (10, 11) ORDER BY id"); got != "10:three,11:two" {
		t.Errorf("the source holds %s", got)
	}

	// (2) Forward, past two transactions made while the job is stopped:
	// neither is emitted, the one after them is.
	j.stopBoth()
	passed := []string{commit(t, conn, "INSERT INTO t VALUES (20, 'passed')"), commit(t, conn, "INSERT INTO t VALUES (21, 'passed')")}
	to := executed(t, src)
	after := commit(t, conn, "INSERT INTO t VALUES (22, 'after')")
	if _, err := pos.Move(ctx, to); err != nil {
		t.Fatal(err)
	}
	j.startBoth()
	waitPosition(t, pos, after)
	evs = waitEvents(t, j, schema, func(evs []event) bool { return countGTID(evs, after) == 1 })
	for _, g := range passed {
		if n := countGTID(evs, g); n != 0 {
			t.Errorf("transaction %s, passed by the move forward: %d events", g, n)
		}
	}

	// (3) Skip exactly one transaction.
	j.stopBoth()
	skipped := commit(t, conn, "INSERT INTO t VALUES (30, 'skipped')")
	next := commit(t, conn, "INSERT INTO t VALUES (31, 'next')")
	// On MariaDB only the next transaction of its domain can be skipped:
	// skipping next would pass skipped too.
	if _, err := pos.Skip(ctx, next); !errors.Is(err, position.ErrBadPosition) || !strings.Contains(err.Error(), "the job is at "+after) {
		t.Fatalf("skip %s before %s: %v, want a bad position saying the job is at %s", next, skipped, err, after)
	}
	if _, err := pos.Skip(ctx, after); !errors.Is(err, position.ErrAlreadyApplied) {
		t.Fatalf("skip %s, emitted already: %v, want ErrAlreadyApplied", after, err)
	}
	sk, err := pos.Skip(ctx, skipped)
	if err != nil {
		t.Fatal(err)
	}
	if sk.GTID != skipped || sk.From != after || sk.To != skipped || time.Since(sk.At) > time.Minute {
		t.Fatalf("skip: %+v, want %s skipped from %s", sk, skipped, after)
	}
	if _, err := pos.Skip(ctx, skipped); !errors.Is(err, position.ErrAlreadyApplied) {
		t.Fatalf("skip %s twice: %v, want ErrAlreadyApplied", skipped, err)
	}
	list, err := pos.Skips(ctx)
	if err != nil || len(list) != 1 || list[0].GTID != skipped || !list[0].At.Equal(sk.At) {
		t.Fatalf("skips: %+v (%v), want the one of %s", list, err, skipped)
	}
	j.startBoth()
	waitPosition(t, pos, next)
	evs = waitEvents(t, j, schema, func(evs []event) bool { return countGTID(evs, next) == 1 })
	if n := countGTID(evs, skipped); n != 0 {
		t.Errorf("skipped transaction %s: %d events", skipped, n)
	}
	for _, e := range evs {
		if string(e.After["id"]) == "30" {
			t.Errorf("an event of the skipped row: %s", e.raw)
		}
	}
	// The sink's later positions do not hide the skip.
	if list, err := pos.Skips(ctx); err != nil || len(list) != 1 || list[0].GTID != skipped {
		t.Fatalf("skips once the job ran on: %+v (%v)", list, err)
	}
	j.stopBoth()
}

// TestPositionWithoutReplication: a job that never ran has no position, one
// in its full copy is not replicating yet; neither can be moved.
func TestPositionWithoutReplication(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	task := &config.Task{KafkaBrokerAddrs: c.ListenAddrs(), KafkaTopic: "dtle"}
	ctx := t.Context()
	open := func(job string) *kafka.Position {
		p, err := kafka.OpenPosition(job, task)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	never := open("never")
	if _, err := never.Read(ctx); !errors.Is(err, position.ErrNoCheckpoint) {
		t.Fatalf("read a job that never ran: %v, want ErrNoCheckpoint", err)
	}
	if _, err := never.Move(ctx, "0-1-5"); !errors.Is(err, position.ErrNoCheckpoint) {
		t.Fatalf("move a job that never ran: %v, want ErrNoCheckpoint", err)
	}
	if list, err := never.Skips(ctx); err != nil || len(list) != 0 {
		t.Fatalf("skips of a job that never ran: %v %v, want none", list, err)
	}

	// A job in its full copy: its position record says stage "full".
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "_dtle.copying.offsets"); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(change.Checkpoint{Flavor: change.FlavorMariaDB, Stage: change.StageFull})
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "_dtle.copying.offsets", Key: []byte("copying"), Value: b}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	copying := open("copying")
	if _, err := copying.Skip(ctx, "0-1-5"); !errors.Is(err, position.ErrNotReplicating) {
		t.Fatalf("skip in a job in its full copy: %v, want ErrNotReplicating", err)
	}
}

// TestSkipSet: the set that skips one transaction, MySQL and MariaDB.
func TestSkipSet(t *testing.T) {
	const u = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	for _, c := range []struct {
		flavor, set, gtid, want string
		err                     error
	}{
		{change.FlavorMySQL, u + ":1-5", u + ":6", u + ":1-6", nil},
		{change.FlavorMySQL, u + ":1-5", u + ":9", u + ":1-5:9", nil}, // a hole: 6-8 still emitted
		{change.FlavorMySQL, u + ":1-5", u + ":3", "", position.ErrAlreadyApplied},
		{change.FlavorMySQL, "", u + ":1", u + ":1", nil},
		{change.FlavorMySQL, u + ":1-5", "0-1-6", "", position.ErrBadPosition},
		{change.FlavorMariaDB, "0-1-5,1-2-7", "0-1-6", "0-1-6,1-2-7", nil},
		{change.FlavorMariaDB, "0-1-5", "0-2-6", "0-2-6", nil}, // another server of the domain
		{change.FlavorMariaDB, "0-1-5", "1-1-1", "0-1-5,1-1-1", nil},
		{change.FlavorMariaDB, "0-1-5", "0-1-7", "", position.ErrBadPosition},
		{change.FlavorMariaDB, "0-1-5", "1-1-2", "", position.ErrBadPosition},
		{change.FlavorMariaDB, "0-1-5", "0-1-5", "", position.ErrAlreadyApplied},
		{change.FlavorMariaDB, "0-1-5", u + ":6", "", position.ErrBadPosition},
	} {
		got, err := kafka.SkipSet(c.flavor, c.set, c.gtid)
		if got != c.want || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("SkipSet(%s, %q, %q) = %q, %v; want %q, %v", c.flavor, c.set, c.gtid, got, err, c.want, c.err)
		}
	}
	_, err := kafka.SkipSet(change.FlavorMariaDB, "0-1-5", "0-1-9")
	if msg := fmt.Sprint(err); !strings.Contains(msg, "the job is at 0-1-5 in domain 0") || !strings.Contains(msg, "0-<server>-6") {
		t.Errorf("skip past the next transaction: %q, want it to say where the job is and what can be skipped", msg)
	}
}

// sourceConn is one connection to the source, in schema kafka_pos, so that
// @@last_gtid names its transactions.
func sourceConn(t *testing.T, db *sql.DB) *sql.Conn {
	t.Helper()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := conn.ExecContext(t.Context(), "USE kafka_pos"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// commit runs one statement as its own transaction and returns its GTID.
func commit(t *testing.T, conn *sql.Conn, q string) string {
	t.Helper()
	if _, err := conn.ExecContext(t.Context(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var g string
	if err := conn.QueryRowContext(t.Context(), "SELECT @@last_gtid").Scan(&g); err != nil {
		t.Fatalf("the GTID of %s (a MariaDB source): %v", q, err)
	}
	return g
}

// executed is the source's binlog GTID position.
func executed(t *testing.T, db *sql.DB) string {
	t.Helper()
	var s string
	if err := db.QueryRowContext(t.Context(), "SELECT @@gtid_binlog_pos").Scan(&s); err != nil {
		t.Fatal(err)
	}
	set, err := position.NormalizeSet(change.FlavorMariaDB, s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// waitPosition waits until the job's committed position holds gtid: what
// it covers is in the topics.
func waitPosition(t *testing.T, p *kafka.Position, gtid string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		cp, err := p.Read(t.Context())
		if err != nil {
			last = err.Error()
			continue
		}
		set, err := change.ParseGTIDSet(cp.Flavor, cp.GTIDSet)
		if err != nil {
			t.Fatal(err)
		}
		if in, _ := set.Contains(gtid); in {
			return
		}
		last = cp.GTIDSet
	}
	t.Fatalf("the position did not reach %s in 60s; it is %s", gtid, last)
}

// waitEvents reads the job's events until done holds of them.
func waitEvents(t *testing.T, j *job, schema string, done func([]event) bool) []event {
	t.Helper()
	var evs []event
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if evs = readEvents(t, consumeAll(t, j.brokers, "dtle"), schema); done(evs) {
			return evs
		}
	}
	t.Fatalf("the events did not arrive in 30s; %d events", len(evs))
	return nil
}

func eventsOf(t *testing.T, j *job, schema, gtid string) int {
	t.Helper()
	return countGTID(readEvents(t, consumeAll(t, j.brokers, "dtle"), schema), gtid)
}

// countGTID counts the row events of the transaction gtid.
func countGTID(evs []event, gtid string) int {
	return count(evs, func(e event) bool { return e.Op != "" && e.Src.GTID != nil && *e.Src.GTID == gtid })
}

func (j *job) stopBoth() {
	j.t.Helper()
	stop(j.t, j.srcTask)
	stop(j.t, j.dstTask)
}

func (j *job) startBoth() {
	j.t.Helper()
	j.startDest()
	j.startSrc()
	j.waitEvent("job_stage_incr")
}
