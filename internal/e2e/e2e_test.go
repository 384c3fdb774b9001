package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/devagent"
	"github.com/dtle-io/dtle/internal/rowdiff"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

var (
	pair  *sandbox.Pair
	agent *devagent.Agent
)

func TestMain(m *testing.M) {
	sandboxtest.RunTests(m, &pair, stopAgent)
}

func stopAgent() {
	if agent != nil {
		agent.Stop()
		_ = agent.Remove()
	}
}

// startAgent starts the package's agent once; tests share it.
func startAgent(t *testing.T) *devagent.Agent {
	t.Helper()
	if agent != nil {
		// A test before may have killed the plugin: its driver is healthy
		// again before the next test uses it.
		waitDriver(t, agent, true)
		return agent
	}
	dir, err := os.MkdirTemp("", "dtle-e2e-agent-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), devagent.ReadyTimeout)
	defer cancel()
	a, err := devagent.Start(ctx, devagent.Options{Dir: dir, API: true})
	if err != nil {
		t.Fatal(err)
	}
	agent = a // TestMain stops it after the last test.
	return a
}

func exampleJob(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../docs/examples/migration.nomad.hcl")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// jobUser and jobPassword are the account the example job connects as; the
// password must never show in a log.
const (
	jobUser     = "e2e_user"
	jobPassword = "e2e-Secret-Pw-4711"
)

// prepare gives both servers the job's account, empties schema on both and
// creates it on the source with stmts.
func prepare(t *testing.T, schema string, stmts ...string) (src, dst *sql.DB) {
	t.Helper()
	return sandboxtest.Prepare(t, pair, jobUser, jobPassword, schema, stmts...)
}

func runJob(t *testing.T, a *devagent.Agent, jobID string, src, dest string, srcPort, destPort int, extra ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append([]string{}, "job", "run", "-detach",
		"-var", "job_id="+jobID,
		"-var", "src_host="+src, "-var", fmt.Sprintf("src_port=%d", srcPort),
		"-var", "dest_host="+dest, "-var", fmt.Sprintf("dest_port=%d", destPort),
		"-var", "mysql_user="+jobUser, "-var", "mysql_password="+jobPassword)
	args = append(args, extra...)
	// "-var schema=X" is ours, not the job file's: it selects a variant
	// of the example limited to schema X.
	job := exampleJob(t)
	for i := 0; i+1 < len(extra); i += 2 {
		if schema, ok := strings.CutPrefix(extra[i+1], "schema="); ok {
			job = jobForSchema(t, schema)
			args = args[:len(args)-2]
		}
	}
	out, err := a.Nomad(ctx, append(args, job)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("nomad job run: %s", strings.TrimSpace(out))
}

// jobForSchema writes a copy of the example job whose source replicates
// only schema.
func jobForSchema(t *testing.T, schema string) string {
	t.Helper()
	b, err := os.ReadFile(exampleJob(t))
	if err != nil {
		t.Fatal(err)
	}
	const marker = "        # Without replicate_do_db"
	s := string(b)
	if !strings.Contains(s, marker) {
		t.Fatal("the example job lost its replicate_do_db comment")
	}
	s = strings.Replace(s, marker, fmt.Sprintf("        replicate_do_db {\n          table_schema = %q\n        }\n%s", schema, marker), 1)
	p := filepath.Join(t.TempDir(), "job.nomad.hcl")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitTask polls the job's allocations until cond holds for the named task.
func waitTask(t *testing.T, a *devagent.Agent, jobID, task string, timeout time.Duration,
	cond func(*nomad.TaskState) bool) *nomad.TaskState {
	t.Helper()
	client := a.Client()
	deadline := time.Now().Add(timeout)
	var last *nomad.TaskState
	for time.Now().Before(deadline) {
		allocs, _, err := client.Jobs().Allocations(jobID, false, nil)
		if err == nil {
			for _, stub := range allocs {
				if st, ok := stub.TaskStates[task]; ok {
					last = st
					if cond(st) {
						return st
					}
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("task %s of %s: condition not met within %s; last state: %s\nagent log:\n%s",
		task, jobID, timeout, describe(last), a.LogTail(30))
	return nil
}

func describe(st *nomad.TaskState) string {
	if st == nil {
		return "<none>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "state=%s failed=%v", st.State, st.Failed)
	for _, e := range st.Events {
		fmt.Fprintf(&b, "\n  %s: %s %s", e.Type, e.DisplayMessage, e.DriverError)
	}
	return b.String()
}

func TestExampleJobRunsAndStops(t *testing.T) {
	a := startAgent(t)
	const jobID = "e2e-run-migration"
	src, dst := prepare(t, "e2e_data",
		"CREATE TABLE e2e_data.orders (id INT PRIMARY KEY, item VARCHAR(40), qty INT)",
		"INSERT INTO e2e_data.orders VALUES (1, 'copied 😀', 1), (2, 'copied too', 2)")
	runJob(t, a, jobID, pair.Source.Host, pair.Dest.Host, pair.Source.Port, pair.Dest.Port)

	for _, task := range []string{"src", "dest"} {
		st := waitTask(t, a, jobID, task, 2*time.Minute, func(st *nomad.TaskState) bool {
			return st.State == "running" && devagent.HasEvent(st, "checks passed")
		})
		if !devagent.HasEvent(st, "Task started by client") {
			t.Errorf("%s: no Started event: %s", task, describe(st))
		}
	}
	waitTask(t, a, jobID, "dest", 2*time.Minute, func(st *nomad.TaskState) bool {
		return devagent.HasEvent(st, "job_stage_full") && devagent.HasEvent(st, "job_stage_incr")
	})
	execAll(t, src, "INSERT INTO e2e_data.orders VALUES (3, 'from the binlog', 3)",
		"UPDATE e2e_data.orders SET qty = 10 WHERE id = 1", "DELETE FROM e2e_data.orders WHERE id = 2")
	waitIdentical(t, src, dst, "e2e_data")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := a.Nomad(ctx, "job", "stop", "-detach", jobID); err != nil {
		t.Fatal(err)
	}
	for _, task := range []string{"src", "dest"} {
		st := waitTask(t, a, jobID, task, time.Minute, func(st *nomad.TaskState) bool {
			return st.State == "dead"
		})
		if st.Failed {
			t.Errorf("%s failed on stop: %s", task, describe(st))
		}
	}
	log, err := os.ReadFile(a.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), jobPassword) {
		t.Error("the MySQL password appears in the agent/plugin log")
	}
}

func TestJobOnSourceWithoutBinlogFailsWithReason(t *testing.T) {
	a := startAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := sandbox.Start(ctx, pair.Dir, sandbox.Options{Name: "nobinlog", NoBinlog: true,
		User: jobUser, Password: jobPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)

	const jobID = "e2e-nobinlog-migration"
	sandboxtest.CreateUser(t, sandboxtest.OpenDB(t, pair.Dest), jobUser, jobPassword)
	runJob(t, a, jobID, s.Host, pair.Dest.Host, s.Port, pair.Dest.Port)
	st := waitTask(t, a, jobID, "src", 2*time.Minute, func(st *nomad.TaskState) bool {
		return st.State == "dead" && st.Failed
	})
	if !devagent.HasEvent(st, "log_bin is OFF") {
		t.Fatalf("the failure does not give the reason: %s", describe(st))
	}
	if st.Restarts > 0 {
		t.Errorf("a setting only a person can fix was retried %d times", st.Restarts)
	}
	if _, err := a.Nomad(ctx, "job", "stop", "-purge", "-detach", jobID); err != nil {
		t.Fatal(err)
	}
}

func execAll(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	sandboxtest.Exec(t, db, stmts)
}

func waitIdentical(t *testing.T, src, dst *sql.DB, schema string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last error
	for time.Now().Before(deadline) {
		if last = rowdiff.Schema(context.Background(), src, dst, schema); last == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("source and destination differ: %v\nagent log:\n%s", last, agent.LogTail(40))
}

func TestPluginKilledDuringCopyAndBinlogResumesExactly(t *testing.T) {
	a := startAgent(t)
	const jobID = "e2e-kill-migration"
	src, dst := prepare(t, "e2e_kill",
		"CREATE TABLE e2e_kill.t (id INT PRIMARY KEY, v VARCHAR(40), n INT)",
		"CREATE TABLE e2e_kill.nokey (a INT, b VARCHAR(10))")
	for batch := range 40 {
		var b strings.Builder
		b.WriteString("INSERT INTO e2e_kill.t VALUES ")
		for i := range 1000 {
			if i > 0 {
				b.WriteString(",")
			}
			id := batch*1000 + i
			fmt.Fprintf(&b, "(%d, 'seed %d', %d)", id, id, i)
		}
		execAll(t, src, b.String(), fmt.Sprintf("INSERT INTO e2e_kill.nokey VALUES (%d, 'x'), (%d, 'x')", batch, batch))
	}

	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- writeUntil(stop, src) }()

	runJob(t, a, jobID, pair.Source.Host, pair.Dest.Host, pair.Source.Port, pair.Dest.Port,
		"-var", "chunk_size=100", "-var", "schema=e2e_kill")
	waitTask(t, a, jobID, "dest", 2*time.Minute, func(st *nomad.TaskState) bool {
		return st.State == "running" && devagent.HasEvent(st, "job_stage_full")
	})
	if n := a.KillPlugins(); n == 0 {
		t.Fatal("no plugin process to kill during the copy")
	}
	st := waitTask(t, a, jobID, "dest", 3*time.Minute, func(st *nomad.TaskState) bool {
		return st.State == "running" && devagent.HasEvent(st, "job_stage_incr")
	})
	t.Logf("after the first kill: %s", describe(st))
	time.Sleep(time.Second)
	if n := a.KillPlugins(); n == 0 {
		t.Fatal("no plugin process to kill during the binlog stage")
	}
	time.Sleep(2 * time.Second)
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitIdentical(t, src, dst, "e2e_kill")
	for _, task := range []string{"src", "dest"} {
		st := waitTask(t, a, jobID, task, time.Minute, func(st *nomad.TaskState) bool { return st.State == "running" })
		if st.Failed {
			t.Errorf("%s failed: %s", task, describe(st))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := a.Nomad(ctx, "job", "stop", "-purge", "-detach", jobID); err != nil {
		t.Fatal(err)
	}
}

// writeUntil changes e2e_kill on the source until stop closes.
func writeUntil(stop <-chan struct{}, db *sql.DB) error {
	ctx := context.Background()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		default:
		}
		id := 1_000_000 + i
		for _, q := range []string{
			fmt.Sprintf("INSERT INTO e2e_kill.t VALUES (%d, 'live', %d)", id, i),
			fmt.Sprintf("UPDATE e2e_kill.t SET n = n + 1 WHERE id = %d", i*7%40000),
			fmt.Sprintf("DELETE FROM e2e_kill.t WHERE id = %d", i*13%40000),
			fmt.Sprintf("INSERT INTO e2e_kill.nokey VALUES (%d, 'live')", i%10),
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}
