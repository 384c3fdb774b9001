package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/devagent"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// Position control through the API, on one job: it starts at a binlog file
// and position (nothing before it copied, everything after replicated); its
// checkpoint, paused, is moved forward (the transactions between never
// arrive) and back (they are applied again), and refused while it runs; a
// transaction the destination refuses fails the task with its GTID, is
// skipped, and another is replaced with given SQL, each recorded and
// evented.
func TestPositionControlThroughTheAPI(t *testing.T) {
	const schema, jobID = "e2e_pos", "pos-sync"
	tables := []string{"CREATE TABLE e2e_pos.t (id INT PRIMARY KEY, v VARCHAR(40))",
		// u has a unique key over a nullable column: dtle writes it with
		// INSERT, so a row added behind its back makes a duplicate key.
		"CREATE TABLE e2e_pos.u (a INT NULL, b VARCHAR(20), UNIQUE KEY (a))"}
	src, dst := prepare(t, schema, append(tables, "INSERT INTO e2e_pos.t VALUES (1, 'before'), (2, 'before')")...)
	// The destination has the tables as they stood at the position: empty
	// here, so that a row from before it would show.
	execAll(t, dst, append([]string{"CREATE DATABASE e2e_pos"}, tables...)...)
	file, pos := masterStatus(t, src)
	execAll(t, src, "INSERT INTO e2e_pos.t VALUES (3, 'after')", "UPDATE e2e_pos.t SET v = 'after' WHERE id = 2")

	// (a) Start at the file and position.
	a := startAgent(t)
	job := syncJob("pos", schema)
	srcTask := job["src_task"].(map[string]any)
	srcTask["binlog_file"], srcTask["binlog_pos"] = file, pos
	if status, m := apiCall(t, a, http.MethodPost, "/v2/job/sync", job); status != http.StatusOK {
		t.Fatalf("create: %d %v", status, m)
	}
	t.Cleanup(func() { apiCall(t, a, http.MethodPost, "/v2/job/delete", map[string]any{"job_id": jobID}) })
	waitTask(t, a, jobID, "dest", 2*time.Minute, func(st *nomad.TaskState) bool { return devagent.HasEvent(st, "job_stage_incr") })
	waitRows(t, dst, "SELECT id, v FROM e2e_pos.t ORDER BY id", "2:after,3:after")
	st := waitTask(t, a, jobID, "dest", time.Minute, func(*nomad.TaskState) bool { return true })
	if devagent.HasEvent(st, "job_stage_full") {
		t.Errorf("a job started at a binlog position made a full copy: %s", describe(st))
	}

	// (b) Move the checkpoint: refused while the job runs.
	moveTo := func(body map[string]any) (int, map[string]any) {
		body["job_id"] = jobID
		return apiCall(t, a, http.MethodPost, "/v2/job/checkpoint", body)
	}
	status, m := moveTo(map[string]any{"gtid_set": executedGTIDs(t, src)})
	if msg, _ := m["message"].(string); status != http.StatusConflict || !strings.Contains(msg, "POST /v2/job/pause") {
		t.Fatalf("a move while the job runs: %d %v, want 409 saying to pause it", status, m)
	}
	pauseJob(t, a, jobID)
	before := executedGTIDs(t, src)
	for _, bad := range []map[string]any{
		{},
		{"gtid_set": before, "binlog_file": file, "binlog_pos": pos},
		{"binlog_file": file},
		{"gtid_set": "not a gtid"},
		{"gtid_set": ahead(t, before)},
		{"binlog_file": "no-such-bin.000001", "binlog_pos": 4},
	} {
		if status, m := moveTo(bad); status != http.StatusBadRequest {
			t.Errorf("move %v: %d %v, want 400", bad, status, m)
		}
	}
	// Forward, past two transactions, by file and position.
	execAll(t, src, "INSERT INTO e2e_pos.t VALUES (10, 'between')", "INSERT INTO e2e_pos.t VALUES (11, 'between')")
	file1, pos1 := masterStatus(t, src)
	status, m = moveTo(map[string]any{"binlog_file": file1, "binlog_pos": pos1})
	if status != http.StatusOK || m["from_gtid_set"] != before || m["gtid_set"] != executedGTIDs(t, src) {
		t.Fatalf("move forward: %d %v; want from %s to %s", status, m, before, executedGTIDs(t, src))
	}
	t.Logf("moved forward: %v", m)
	execAll(t, src, "INSERT INTO e2e_pos.t VALUES (12, 'after the move')")
	resumeJob(t, a, jobID)
	waitRows(t, dst, "SELECT id, v FROM e2e_pos.t ORDER BY id", "2:after,3:after,12:after the move")
	// Back, before those two, by GTID set: they arrive, and the row written
	// after them is written again (deleted behind dtle's back meanwhile).
	pauseJob(t, a, jobID)
	execAll(t, dst, "DELETE FROM e2e_pos.t WHERE id = 12")
	if status, m := moveTo(map[string]any{"gtid_set": before}); status != http.StatusOK || m["gtid_set"] != before {
		t.Fatalf("move back: %d %v", status, m)
	}
	resumeJob(t, a, jobID)
	waitRows(t, dst, "SELECT id, v FROM e2e_pos.t ORDER BY id", rowsOf(t, src, "SELECT id, v FROM e2e_pos.t WHERE id <> 1 ORDER BY id"))

	// (c) Skip a transaction the destination refuses.
	execAll(t, dst, "INSERT INTO e2e_pos.u VALUES (5, 'dest')")
	gtid := sourceTxn(t, src, "INSERT INTO e2e_pos.t VALUES (20, 'skipped')", "INSERT INTO e2e_pos.u VALUES (5, 'src')")
	execAll(t, src, "INSERT INTO e2e_pos.t VALUES (21, 'after')")
	st = waitTask(t, a, jobID, "dest", 2*time.Minute, func(st *nomad.TaskState) bool {
		return devagent.HasEvent(st, "transaction "+gtid+" failed") && devagent.HasEvent(st, "Duplicate entry")
	})
	t.Logf("the destination failed: %s", describe(st))
	skip := func(body map[string]any) (int, map[string]any) {
		body["job_id"] = jobID
		return apiCall(t, a, http.MethodPost, "/v2/job/skip", body)
	}
	if status, m := skip(map[string]any{"gtid": gtid}); status != http.StatusConflict {
		t.Fatalf("a skip while the job is not paused: %d %v, want 409", status, m)
	}
	pauseJob(t, a, jobID)
	status, m = skip(map[string]any{"gtid": gtid})
	t.Logf("skip: %v", m)
	if req, _ := m["request"].(map[string]any); status != http.StatusOK || req["state"] != "pending" || req["action"] != "skip" {
		t.Fatalf("skip: %d %v", status, m)
	}
	resumeJob(t, a, jobID)
	waitTask(t, a, jobID, "dest", 2*time.Minute, func(st *nomad.TaskState) bool {
		return devagent.HasEvent(st, "skipped transaction "+gtid)
	})
	waitRows(t, dst, "SELECT id, v FROM e2e_pos.t WHERE id >= 20 ORDER BY id", "21:after")
	if got := rowsOf(t, dst, "SELECT a, b FROM e2e_pos.u"); got != "5:dest" {
		t.Fatalf("u holds %s after the skip", got)
	}

	// Replace one with given SQL.
	execAll(t, dst, "INSERT INTO e2e_pos.u VALUES (6, 'dest')")
	gtid2 := sourceTxn(t, src, "INSERT INTO e2e_pos.t VALUES (22, 'source')", "INSERT INTO e2e_pos.u VALUES (6, 'src')")
	execAll(t, src, "INSERT INTO e2e_pos.t VALUES (23, 'after')")
	waitTask(t, a, jobID, "dest", 2*time.Minute, func(st *nomad.TaskState) bool {
		return devagent.HasEvent(st, "transaction "+gtid2+" failed")
	})
	pauseJob(t, a, jobID)
	for _, bad := range [][]string{
		{"INSERT INTO e2e_pos.t VALUES (22, 'x'); DROP TABLE e2e_pos.u"},
		{"UPDATE dtle.checkpoint SET gtid_set = ''"},
		{"INSERT INTO e2e_pos.t VALUES (22, 'x')", "ALTER TABLE e2e_pos.t ADD COLUMN c INT"},
	} {
		if status, m := skip(map[string]any{"gtid": gtid2, "sql": bad}); status != http.StatusBadRequest {
			t.Errorf("replacement %q: %d %v, want 400", bad, status, m)
		}
	}
	if status, m := skip(map[string]any{"gtid": gtid, "sql": []string{"DELETE FROM e2e_pos.t WHERE id = 1"}}); status != http.StatusBadRequest ||
		!strings.Contains(fmt.Sprint(m["message"]), "applied") {
		t.Errorf("a transaction handled already: %d %v, want 400", status, m)
	}
	status, m = skip(map[string]any{"gtid": gtid2, "sql": []string{"INSERT INTO e2e_pos.t VALUES (22, 'replaced')",
		"UPDATE e2e_pos.u SET b = 'replaced' WHERE a = 6"}})
	if req, _ := m["request"].(map[string]any); status != http.StatusOK || req["action"] != "replace" {
		t.Fatalf("replace: %d %v", status, m)
	}
	resumeJob(t, a, jobID)
	waitTask(t, a, jobID, "dest", 2*time.Minute, func(st *nomad.TaskState) bool {
		return devagent.HasEvent(st, "replaced transaction "+gtid2+" with 2 statements")
	})
	waitRows(t, dst, "SELECT id, v FROM e2e_pos.t WHERE id >= 20 ORDER BY id", "21:after,22:replaced,23:after")
	if got := rowsOf(t, dst, "SELECT a, b FROM e2e_pos.u ORDER BY a"); got != "5:dest,6:replaced" {
		t.Fatalf("u holds %s after the replacement", got)
	}
	// Both recorded, done.
	status, m = apiCall(t, a, http.MethodGet, "/v2/job/skip?job_id="+jobID, nil)
	reqs, _ := m["requests"].([]any)
	if status != http.StatusOK || len(reqs) != 2 {
		t.Fatalf("list: %d %v", status, m)
	}
	for _, r := range reqs {
		if r := r.(map[string]any); r["state"] != "done" || r["done_at"] == "" {
			t.Errorf("request %v is not done", r)
		}
	}
	if log := a.LogTail(400); !strings.Contains(log, "job checkpoint moved") {
		t.Errorf("the plugin log does not record the moves")
	}
}

// pauseJob pauses a job and waits until its tasks have stopped.
func pauseJob(t *testing.T, a *devagent.Agent, jobID string) {
	t.Helper()
	if status, m := apiCall(t, a, http.MethodPost, "/v2/job/pause", map[string]any{"job_id": jobID}); status != http.StatusOK {
		t.Fatalf("pause: %d %v", status, m)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		allocs, _, err := a.Client().Jobs().Allocations(jobID, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		live := 0
		for _, al := range allocs {
			if al.ClientStatus == nomad.AllocClientStatusRunning || al.ClientStatus == nomad.AllocClientStatusPending {
				live++
			}
		}
		if live == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d allocations of %s still run a minute after the pause", live, jobID)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func resumeJob(t *testing.T, a *devagent.Agent, jobID string) {
	t.Helper()
	if status, m := apiCall(t, a, http.MethodPost, "/v2/job/resume", map[string]any{"job_id": jobID}); status != http.StatusOK {
		t.Fatalf("resume: %d %v", status, m)
	}
}

// executedGTIDs is the source's binlog GTID position.
func executedGTIDs(t *testing.T, db *sql.DB) string {
	t.Helper()
	var set string
	if err := db.QueryRowContext(context.Background(), "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

// ahead is a MariaDB position past set: its last domain a thousand further.
func ahead(t *testing.T, set string) string {
	t.Helper()
	parts := strings.Split(set, ",")
	last := parts[len(parts)-1]
	i := strings.LastIndexByte(last, '-')
	var seq int
	if _, err := fmt.Sscan(last[i+1:], &seq); err != nil {
		t.Fatalf("gtid position %q: %v", set, err)
	}
	parts[len(parts)-1] = fmt.Sprintf("%s-%d", last[:i], seq+1000)
	return strings.Join(parts, ",")
}

// sourceTxn runs stmts as one transaction and returns its GTID.
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
	var file string
	var pos int64
	vals := []any{&file, &pos}
	for len(vals) < len(cols) {
		vals = append(vals, new(sql.RawBytes))
	}
	if err := rows.Scan(vals...); err != nil {
		t.Fatal(err)
	}
	return file, pos
}

// rowsOf is a query's rows as "a:b,c:d".
func rowsOf(t *testing.T, db *sql.DB, query string) string {
	t.Helper()
	return sandboxtest.JoinedRows(t, db, query)
}

// waitRows polls until query gives want.
func waitRows(t *testing.T, db *sql.DB, query, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got := rowsOf(t, db, query)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s, want %s\nagent log:\n%s", query, got, want, agent.LogTail(40))
		}
		time.Sleep(250 * time.Millisecond)
	}
}
