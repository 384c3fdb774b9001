package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/devagent"
	"github.com/dtle-io/dtle/internal/rowdiff"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// Each fault strikes while the source is being written to, with the job in
// its binlog stage across the two nodes; each ends with a row-by-row
// comparison.
func TestFaultsEndIdentical(t *testing.T) {
	const schema = "cl_faults"
	n2 := cl.Nodes[1]
	job := startJob(t, "faults", schema, false, 10000)
	restartServer := func(name string, restart func(context.Context) error) func(*testing.T) {
		return func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := restart(ctx); err != nil {
				t.Fatalf("restart the %s: %v", name, err)
			}
		}
	}
	for _, f := range []struct {
		name   string
		strike func(*testing.T)
	}{
		{"destination MariaDB restarted", restartServer("destination", dest.Restart)},
		{"source MariaDB restarted", restartServer("source", source.Restart)},
		{"NATS link between the nodes cut for 5s", func(t *testing.T) {
			if n2.Link.Cut() == 0 {
				t.Fatal("the src's stream did not go through node 2's link")
			}
			time.Sleep(5 * time.Second)
			n2.Link.Restore()
		}},
	} {
		w := startWriter(schema, 10000)
		time.Sleep(time.Second)
		f.strike(t)
		time.Sleep(2 * time.Second)
		ran := w.halt()
		n := compare(t, schema, 2*time.Minute)
		t.Logf("%-40s writes %5d  rows compared %6d  lost %d  duplicated %d", f.name, ran, n.Compared, n.Lost, n.Duplicated)
	}
	for _, task := range []string{"src", "dest"} {
		p := waitTask(t, job, task, time.Minute, runningOn(nil))
		if p.state.Failed {
			t.Errorf("%s failed: %s", task, describe(p))
		}
	}
}

// EnvFaultCycles sets how many kill cycles TestKillCycles runs
// (`make test-faults` runs 50).
const EnvFaultCycles = "DTLE_FAULT_CYCLES"

// TestKillCycles runs jobs and kills the plugin of one node or both with
// SIGKILL at a random moment, during the full copy or the binlog stage,
// while the source is written to; each cycle ends with a row-by-row
// comparison, and the test prints the tally.
func TestKillCycles(t *testing.T) {
	cycles := 2
	if s := os.Getenv(EnvFaultCycles); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", EnvFaultCycles, s)
		}
		cycles = n
	}
	seedRand := uint64(time.Now().UnixNano())
	if s := os.Getenv("DTLE_FAULT_SEED"); s != "" {
		seedRand, _ = strconv.ParseUint(s, 10, 64)
	}
	rnd := rand.New(rand.NewPCG(seedRand, 0))
	t.Logf("%d cycles, DTLE_FAULT_SEED=%d", cycles, seedRand)
	const rows = 50000
	n1, n2 := cl.Nodes[0], cl.Nodes[1]
	var total rowdiff.Counts
	stages := map[string]int{}
	var table []string
	defer func() {
		t.Logf("kill -9 cycles:\ncycle  plugins killed           stage        writes  compared  lost  duplicated\n%s\n"+
			"total: %d cycles (%d during the full copy, %d in the binlog stage, %d while starting), "+
			"%d rows compared, %d lost, %d duplicated",
			strings.Join(table, "\n"), len(table), stages["full copy"], stages["binlog"], stages["starting"],
			total.Compared, total.Lost, total.Duplicated)
	}()
	for i := 1; i <= cycles && !t.Failed(); i++ {
		schema := fmt.Sprintf("cl_cycle_%d", i)
		seed(t, schema, rows)
		job := createJob(t, fmt.Sprintf("cycle-%d", i), schema, false, n1, n2)
		w := startWriter(schema, rows)
		waitTask(t, job, "dest", 2*time.Minute, runningOn(n2))
		time.Sleep(time.Duration(rnd.Int64N(int64(4 * time.Second))))
		stage := stageOf(t, job)
		var victims []*Node
		switch rnd.IntN(3) {
		case 0:
			victims = []*Node{n1}
		case 1:
			victims = []*Node{n2}
		default:
			victims = []*Node{n1, n2}
		}
		var names []string
		killed := time.Now()
		for _, v := range victims {
			if v.KillPlugins() == 0 {
				t.Fatalf("cycle %d: no plugin process on %s", i, v.Name)
			}
			names = append(names, v.Name)
		}
		waitRecovered(t, job, killed, victims...)
		time.Sleep(time.Second)
		ran := w.halt()
		n := compare(t, schema, 2*time.Minute)
		total.Compared += n.Compared
		total.Lost += n.Lost
		total.Duplicated += n.Duplicated
		stages[stage]++
		table = append(table, fmt.Sprintf("%5d  %-23s %-12s %6d  %8d  %4d  %10d", i, strings.Join(names, "+"), stage,
			ran, n.Compared, n.Lost, n.Duplicated))
		deleteJob(t, job)
		src, dst := dbs(t)
		_, _ = src.ExecContext(context.Background(), "DROP DATABASE "+schema)
		_, _ = dst.ExecContext(context.Background(), "DROP DATABASE "+schema)
	}
}

// waitHealthy waits until every node is ready with a healthy dtle driver.
func waitHealthy(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, n := range cl.Nodes {
		for {
			if _, err := n.NodeID(ctx); err == nil {
				break
			} else if ctx.Err() != nil {
				t.Fatalf("%s: %v", n.Name, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// stageOf says which stage the job's dest reports now.
func stageOf(t *testing.T, job string) string {
	t.Helper()
	p := waitTask(t, job, "dest", time.Minute, runningOn(nil))
	switch {
	case devagent.HasEvent(p.state, "job_stage_incr"):
		return "binlog"
	case devagent.HasEvent(p.state, "job_stage_full"):
		return "full copy"
	}
	return "starting"
}

// EnvHugeTxMB sets the size of TestHugeTransactionBoundedMemory's
// transaction in MiB (default 1024).
const EnvHugeTxMB = "DTLE_HUGE_TX_MB"

// pluginMemoryLimit is what a plugin may use at its peak, whatever the
// size of a transaction.
const pluginMemoryLimit = 512 << 20

// A single transaction of 1 GiB (64 KiB rows) crosses the nodes in parts;
// the destination commits it whole (no reader sees part of it) and neither
// plugin's peak memory reaches 512 MiB.
func TestHugeTransactionBoundedMemory(t *testing.T) {
	const schema = "cl_huge"
	mb := 1024
	if s := os.Getenv(EnvHugeTxMB); s != "" {
		var err error
		if mb, err = strconv.Atoi(s); err != nil || mb < 1 {
			t.Fatalf("%s=%q: want a positive number", EnvHugeTxMB, s)
		}
	}
	rows := mb * 16 // 64 KiB each
	src, dst := dbs(t)
	seed(t, schema, 100)
	sandboxtest.Exec(t, src, []string{"CREATE TABLE " + schema + ".big (id INT PRIMARY KEY, b LONGBLOB)"})
	n1, n2 := cl.Nodes[0], cl.Nodes[1]
	job := createJob(t, "huge", schema, false, n1, n2)
	waitReplicating(t, job)

	// The peak memory read at the end must be that of these processes.
	plugins := fmt.Sprint(n1.PluginPIDs(), n2.PluginPIDs())
	started := time.Now()
	ctx := context.Background()
	// 64 KiB of hex per row, different in every row.
	insert := fmt.Sprintf("INSERT INTO %s.big SELECT seq, REPEAT(SHA2(seq, 512), 512) FROM %s.seq_1_to_%d", schema, schema, rows)
	sandboxtest.Exec(t, src, []string{insert})
	t.Logf("source: one transaction of %d rows, %d MiB, written in %s", rows, mb, time.Since(started).Round(time.Second))

	// Watch the destination: the count is 0 until the whole transaction
	// commits, then all of it; at least once it must be 0 while the
	// destination holds an open transaction with rows written.
	started = time.Now()
	deadline := started.Add(10 * time.Minute)
	sawOpen := false
	for {
		var n, open int
		if err := dst.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM "+schema+".big), "+
			"(SELECT COALESCE(MAX(trx_rows_modified), 0) FROM information_schema.INNODB_TRX)").Scan(&n, &open); err != nil {
			t.Fatal(err)
		}
		if n == rows {
			break
		}
		sawOpen = sawOpen || n == 0 && open > 0
		if n != 0 {
			t.Fatalf("the destination shows %d of the transaction's %d rows: it was not committed whole", n, rows)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the transaction did not arrive within 10 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("destination: committed after %s", time.Since(started).Round(time.Second))
	if !sawOpen {
		t.Error("never saw the destination's transaction open with rows written and none visible: atomicity not observed")
	}
	if now := fmt.Sprint(n1.PluginPIDs(), n2.PluginPIDs()); now != plugins {
		t.Fatalf("a plugin restarted during the transaction (%s, now %s): its peak memory is not the transaction's", plugins, now)
	}
	q := "SELECT id, MD5(b), LENGTH(b) FROM " + schema + ".big ORDER BY id"
	if err := rowdiff.Queries(ctx, src, q, dst, q); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*Node{n1, n2} {
		for _, pid := range n.PluginPIDs() {
			peak := peakRSS(t, pid)
			t.Logf("%s plugin (pid %d): peak memory %d MiB", n.Name, pid, peak>>20)
			if peak >= pluginMemoryLimit {
				t.Errorf("%s plugin's peak memory %d MiB reached the %d MiB limit", n.Name, peak>>20, pluginMemoryLimit>>20)
			}
		}
	}
	if err := rowdiff.Tables(ctx, src, dst, schema, "t", "nokey"); err != nil {
		t.Error(err)
	}
	sandboxtest.Exec(t, src, []string{"DROP DATABASE " + schema})
}

// peakRSS is a process's high-water mark of resident memory (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// The binlog a job needs next is purged from the source while the job is
// stopped; started again, its src fails with a message that says so and
// how to recover, and Nomad does not keep restarting it. What was copied
// stays on the destination.
func TestPurgedBinlogFailsTheJob(t *testing.T) {
	const schema = "cl_purged"
	ctx := context.Background()
	// A source of its own: purging binlogs must not disturb other tests.
	s, err := sandbox.Start(ctx, t.TempDir(), sandbox.Options{Name: "purgesrc", User: jobUser, Password: jobPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	src, dst := sandboxtest.OpenDB(t, s.RootConnection()), sandboxtest.OpenDB(t, dest.RootConnection())
	sandboxtest.Exec(t, dst, []string{"DROP DATABASE IF EXISTS " + schema})
	sandboxtest.Exec(t, src, []string{"CREATE DATABASE " + schema, "CREATE TABLE " + schema + ".t (id INT PRIMARY KEY)",
		"INSERT INTO " + schema + ".t VALUES (1)"})
	n1, n2 := cl.Nodes[0], cl.Nodes[1]
	job := createJobFrom(t, s, "purged", schema, true, n1, n2)
	waitTask(t, job, "dest", 2*time.Minute, inStage(n2, "job_stage_incr"))
	sandboxtest.Exec(t, src, []string{"INSERT INTO " + schema + ".t VALUES (2)"})
	if err := waitRows(ctx, dst, schema+".t", 2, time.Minute); err != nil {
		t.Fatal(err)
	}

	// Stop the job, keeping its definition to run it again.
	spec, _, err := cl.Server.Client().Jobs().Info(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := cl.Server.Client().Jobs().Deregister(job, false, nil); err != nil {
		t.Fatal(err)
	}
	waitTask(t, job, "src", time.Minute, func(p placed) bool { return p.state.State == "dead" })

	// Meanwhile the source moves on and purges what the job has not read.
	sandboxtest.Exec(t, src, []string{"INSERT INTO " + schema + ".t VALUES (3)", "FLUSH BINARY LOGS"})
	var file string
	if err := src.QueryRowContext(ctx, "SHOW MASTER STATUS").Scan(&file, new(any), new(any), new(any)); err != nil {
		t.Fatal(err)
	}
	// A binlog still open by a lingering dump thread is kept (with only a
	// warning): purge until the older files are gone.
	deadline := time.Now().Add(30 * time.Second)
	for {
		sandboxtest.Exec(t, src, []string{"PURGE BINARY LOGS TO '" + file + "'"})
		var first string
		if err := src.QueryRowContext(ctx, "SHOW BINARY LOGS").Scan(&first, new(any)); err != nil {
			t.Fatal(err)
		}
		if first == file {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("binlogs before %s were not purged (oldest %s)", file, first)
		}
		time.Sleep(500 * time.Millisecond)
	}

	spec.Stop = nil
	if _, _, err := cl.Server.Client().Jobs().Register(spec, nil); err != nil {
		t.Fatal(err)
	}
	failed := waitTask(t, job, "src", 2*time.Minute, func(p placed) bool {
		return p.state.State == "dead" && p.state.Failed && devagent.HasEvent(p.state, "purged")
	})
	t.Logf("the src failed: %s", describe(failed))
	for _, want := range []string{"purged", "binlog_expire_logs_seconds", "full copy"} {
		if !devagent.HasEvent(failed.state, want) {
			t.Errorf("the failure does not say %q: %s", want, describe(failed))
		}
	}
	// Nomad's restart policy may start it once more; the driver refuses
	// that start at once, for the kept reason, and Nomad gives up.
	if failed.state.Restarts > 1 {
		t.Errorf("restarted %d times: %s", failed.state.Restarts, describe(failed))
	}
	// Nor does Nomad place it anew: its default for a failed service task
	// is a new allocation after 30s.
	time.Sleep(40 * time.Second)
	allocs, _, err := cl.Server.Client().Jobs().Allocations(job, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range allocs {
		if st, ok := a.TaskStates["src"]; ok && (st.State != "dead" || a.CreateIndex > failed.alloc.CreateIndex) {
			t.Errorf("the src runs again or was placed anew: %s", describe(placed{alloc: a, state: st, node: cl.NodeByID(a.NodeID)}))
		}
	}
	var n int
	if err := dst.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+schema+".t WHERE id IN (1, 2)").Scan(&n); err != nil || n != 2 {
		t.Fatalf("the destination lost what was copied: %d rows, %v", n, err)
	}
}

func waitRows(ctx context.Context, db *sql.DB, table string, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var n int
		err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n)
		if err == nil && n == want {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
			return fmt.Errorf("%s: want %d rows, have %d", table, want, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
