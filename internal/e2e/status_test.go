package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/devagent"
)

// GET /v2/job/status follows a job through its stages: each table's copy
// progress while the copy runs (under a speed limit, so there is time to
// watch it), then the binlog stage, where the transactions not applied are
// counted from the source's GTID set and the applied one, down to 0 with
// both sets equal; a destination table dropped behind the job's back then
// fails the dest task, and the status names the task, the time and the
// server's reason, with what to do.
func TestJobStatus(t *testing.T) {
	const schema, jobID = "e2e_status", "status-sync"
	sizes := map[string]int{"a": 3000, "b": 2000, "c": 1000}
	var stmts []string
	for _, tb := range []string{"a", "b", "c"} {
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s.%s (id INT PRIMARY KEY, v VARCHAR(40))", schema, tb))
	}
	src, dst := prepare(t, schema, stmts...)
	for tb, n := range sizes {
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO %s.%s VALUES ", schema, tb)
		for id := range n {
			if id > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "(%d, 'row %d')", id, id)
		}
		execAll(t, src, b.String(), fmt.Sprintf("ANALYZE TABLE %s.%s", schema, tb))
	}
	a := startAgent(t)
	job := syncJob("status", schema)
	srcTask := job["src_task"].(map[string]any)
	srcTask["chunk_size"] = 100
	srcTask["speed_limit"] = map[string]any{"copy_rows_per_second": 2000}
	if status, m := apiCall(t, a, http.MethodPost, "/v2/job/sync", job); status != http.StatusOK {
		t.Fatalf("create: %d %v", status, m)
	}
	t.Cleanup(func() { apiCall(t, a, http.MethodPost, "/v2/job/delete", map[string]any{"job_id": jobID}) })

	// The full copy: each table's progress, some table seen part-way (the
	// last such sight, when the copy's rate is known).
	var partway map[string]any
	st := pollStatus(t, a, jobID, time.Minute, func(st map[string]any) bool {
		if st["stage"] == "full_copy" {
			for _, tb := range list(st["tables"]) {
				if r := num(tb["rows"]); !tb["done"].(bool) && r > 0 && r < num(tb["estimated_rows"]) {
					partway = tb
				}
			}
		}
		return st["stage"] == "binlog"
	})
	if partway == nil {
		t.Fatal("no table was seen part-way through its copy")
	}
	t.Logf("seen part-way: %v", partway)
	if p, e := num(partway["percent"]), partway["eta"].(string); p <= 0 || p >= 100 || e == "" || e == "unknown" {
		t.Errorf("a table part-way: percent %v, eta %q", p, e)
	}
	tables := list(st["tables"])
	if len(tables) != len(sizes) {
		t.Fatalf("tables: %v", st["tables"])
	}
	for _, tb := range tables {
		name := tb["source_table"].(string)
		if tb["source_schema"] != schema || tb["dest_table"] != name || !tb["done"].(bool) || num(tb["rows"]) != float64(sizes[name]) ||
			num(tb["percent"]) != 100 || tb["eta"] != "0s" || num(tb["estimated_rows"]) <= 0 {
			t.Errorf("table %s once copied: %v", name, tb)
		}
	}
	if lim, _ := st["speed_limit"].(map[string]any); lim == nil || num(lim["in_force"].(map[string]any)["copy_rows_per_second"]) != 2000 {
		t.Errorf("speed_limit: %v", st["speed_limit"])
	}
	checkTasks(t, st)
	if st["job_type"] != "sync" || st["status"] != "running" || st["last_error"] != nil {
		t.Errorf("job: type %v, status %v, last_error %v", st["job_type"], st["status"], st["last_error"])
	}

	// The binlog stage, its source held to 20 rows a second: the status
	// counts the transactions not applied yet, then none, with the applied
	// GTID set the source's.
	if status, m := apiCall(t, a, http.MethodPost, "/v2/job/speed_limit", map[string]any{"job_id": jobID,
		"speed_limit": map[string]any{"copy_rows_per_second": 2000, "binlog_rows_per_second": 20}}); status != http.StatusOK {
		t.Fatalf("set the binlog cap: %d %v", status, m)
	}
	pollStatus(t, a, jobID, 10*time.Second, func(st map[string]any) bool {
		lim, _ := st["speed_limit"].(map[string]any)
		return lim != nil && num(lim["in_force"].(map[string]any)["binlog_rows_per_second"]) == 20
	})
	const writes = 40
	for i := range writes {
		execAll(t, src, fmt.Sprintf("INSERT INTO %s.a VALUES (%d, 'binlog')", schema, 10000+i))
	}
	behind := 0.0
	st = pollStatus(t, a, jobID, 30*time.Second, func(st map[string]any) bool {
		lag := st["lag"].(map[string]any)
		if n, ok := lag["transactions"].(float64); ok {
			if n > writes {
				t.Fatalf("%v transactions behind after %d writes: %v", n, writes, st)
			}
			behind = max(behind, n)
			sp, ap := st["source_position"].(map[string]any), st["applied_position"].(map[string]any)
			return n == 0 && sp["gtid_set"] != "" && sp["gtid_set"] == ap["gtid_set"]
		}
		return false
	})
	t.Logf("at most %v transactions behind; caught up at %v", behind, st["applied_position"])
	if behind == 0 {
		t.Error("the status never counted a transaction not applied, the source held to 20 rows a second")
	}
	sp, ap := st["source_position"].(map[string]any), st["applied_position"].(map[string]any)
	if sp["error"] != nil || sp["file"] == "" || num(sp["position"]) <= 0 || ap["file"] != sp["file"] || ap["position"] != sp["position"] {
		t.Errorf("positions once caught up: source %v, applied %v", sp, ap)
	}
	if tp, _ := st["throughput"].(map[string]any); tp == nil || tp["task"] != "dest" {
		t.Errorf("throughput: %v", st["throughput"])
	}
	waitIdentical(t, src, dst, schema)
	// The same figures on /metrics.
	body := metricsText(t, a)
	for _, want := range []string{
		`dtle_copy_table_done{job="` + jobID + `",task="src",alloc_id=`,
		`,schema="` + schema + `",table="a"} 1`,
		`dtle_copy_table_rows{job="` + jobID + `",task="src",`,
		`,schema="` + schema + `",table="b"} 2000`,
		`,stage="binlog"} 20`,
		`,stage="copy"} 2000`,
		`dtle_lag_transactions{job="` + jobID + `",task="dest",`,
		"# TYPE dtle_speed_limit_rows_per_second gauge",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}

	// A destination table dropped behind the job's back fails the dest task.
	dropped := time.Now().Add(-time.Second).Truncate(time.Second)
	execAll(t, dst, "DROP TABLE "+schema+".c")
	execAll(t, src, "INSERT INTO "+schema+".c VALUES (5000, 'after the drop')")
	st = pollStatus(t, a, jobID, 30*time.Second, func(st map[string]any) bool {
		le, _ := st["last_error"].(map[string]any)
		return le != nil && le["task"] == "dest"
	})
	le := st["last_error"].(map[string]any)
	t.Logf("last_error: %v", le)
	at, err := time.Parse(time.RFC3339, le["time"].(string))
	msg, _ := le["message"].(string)
	if err != nil || at.Before(dropped) || le["task"] != "dest" || !strings.Contains(msg, schema+".c") || !strings.Contains(msg, "1146") ||
		!strings.Contains(le["what_to_do"].(string), "missing on the destination") || le["allocation_id"] == "" {
		t.Errorf("last_error: %v", le)
	}
	// A paused job answers too, its last error kept.
	if status, m := apiCall(t, a, http.MethodPost, "/v2/job/pause", map[string]any{"job_id": jobID}); status != http.StatusOK {
		t.Fatalf("pause: %d %v", status, m)
	}
	st = pollStatus(t, a, jobID, 10*time.Second, func(st map[string]any) bool { return st["status"] == "paused" })
	if st["last_error"] == nil || st["stage"] != "binlog" {
		t.Errorf("paused: stage %v, last_error %v", st["stage"], st["last_error"])
	}
	if allocs, _, err := a.Client().Jobs().Allocations(jobID, false, nil); err == nil {
		for _, al := range allocs {
			if s := al.TaskStates["dest"]; s != nil && !devagent.HasEvent(s, "1146") {
				var evs []string
				for _, e := range s.Events {
					evs = append(evs, e.Type+": "+e.DisplayMessage)
				}
				t.Errorf("the dest task's events lack the failure:\n%s", strings.Join(evs, "\n"))
			}
		}
	}
}

// pollStatus polls GET /v2/job/status every 100ms until done holds for its
// reply, and returns that reply.
func pollStatus(t *testing.T, a *devagent.Agent, jobID string, timeout time.Duration, done func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last map[string]any
	for time.Now().Before(deadline) {
		status, m := apiCall(t, a, http.MethodGet, "/v2/job/status?job_id="+jobID, nil)
		if status != http.StatusOK {
			t.Fatalf("GET /v2/job/status: %d %v", status, m)
		}
		if last = m; done(m) {
			return m
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the status did not get there within %s; the last:\n%v\nagent log:\n%s", timeout, last, a.LogTail(30))
	return nil
}

// checkTasks checks the tasks of a running job's status.
func checkTasks(t *testing.T, st map[string]any) {
	t.Helper()
	tasks := list(st["tasks"])
	if len(tasks) != 2 || tasks[0]["name"] != "src" || tasks[1]["name"] != "dest" {
		t.Fatalf("tasks: %v", st["tasks"])
	}
	for _, tk := range tasks {
		fig, _ := tk["figures"].(map[string]any)
		if tk["state"] != "running" || tk["node_name"] == "" || tk["allocation_id"] == "" || num(tk["restarts"]) != 0 || fig == nil ||
			fig["current_coordinates"] == nil {
			t.Errorf("task %v: %v", tk["name"], tk)
		}
	}
}

func list(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, len(l))
	for i, x := range l {
		out[i], _ = x.(map[string]any)
	}
	return out
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// metricsText is the agent's /metrics.
func metricsText(t *testing.T, a *devagent.Agent) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.APIURL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}
