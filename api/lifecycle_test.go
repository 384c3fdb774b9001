package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/rowdiff"
	"github.com/dtle-io/dtle/internal/secret"
)

// detail returns GET /v2/job/migration/detail for a job.
func detail(t *testing.T, jobID string) map[string]any {
	t.Helper()
	return mustOK(t, call(t, http.MethodGet, "/v2/job/migration/detail?job_id="+url.QueryEscape(jobID), nil))
}

// runningAlloc returns the allocation id of the task's running allocation,
// "" when there is none.
func runningAlloc(d map[string]any, task string) string {
	td, _ := d[task+"_task_detail"].(map[string]any)
	allocs, _ := td["allocations"].([]any)
	for _, a := range allocs {
		a := a.(map[string]any)
		if st, _ := a["task_status"].(map[string]any); st["status"] == "running" {
			return a["allocation_id"].(string)
		}
	}
	return ""
}

func hasTaskEvent(d map[string]any, task, msg string) bool {
	td, _ := d[task+"_task_detail"].(map[string]any)
	allocs, _ := td["allocations"].([]any)
	for _, a := range allocs {
		st := a.(map[string]any)["task_status"].(map[string]any)
		for _, ev := range st["task_events"].([]any) {
			if ev.(map[string]any)["message"] == msg {
				return true
			}
		}
	}
	return false
}

// monitor returns the live figures of a task.
func monitor(t *testing.T, alloc, task string) map[string]any {
	t.Helper()
	m := mustOK(t, call(t, http.MethodGet, "/v2/monitor/task?allocation_id="+alloc+"&task_name="+task, nil))
	return m["tasks_status"].(map[string]any)
}

func jobStatus(t *testing.T, jobID string) string {
	t.Helper()
	list := mustOK(t, call(t, http.MethodGet, "/v2/jobs", nil))
	for _, j := range list["jobs"].([]any) {
		if j := j.(map[string]any); j["job_id"] == jobID {
			return j["job_status"].(string)
		}
	}
	return "<absent>"
}

// TestJobLifecycle drives a migration job through the API only: create with
// an encrypted password, detail, monitor, pause (no binlog connection
// left), resume (nothing lost or repeated), delete (data stays).
func TestJobLifecycle(t *testing.T) {
	startAgent(t)
	const schema, jobID = "api_life", "life-migration"
	src, dst := prepare(t, schema,
		"CREATE TABLE api_life.t (id INT PRIMARY KEY, v VARCHAR(40))",
		"INSERT INTO api_life.t VALUES (1,'a'),(2,'b'),(3,'c')")
	enc, err := secret.Encrypt(&rsaKey.PublicKey, jobPassword)
	if err != nil {
		t.Fatal(err)
	}
	srcConn, destConn := conn(pair.Source), conn(pair.Dest)
	srcConn["mysql_password"], destConn["mysql_password"] = enc, enc
	job := map[string]any{
		"job_name": "life", "is_mysql_password_encrypted": true,
		"src_task": map[string]any{"mysql_connection_config": srcConn,
			"replicate_do_db": []any{map[string]any{"table_schema": schema}}},
		"dest_task": map[string]any{"mysql_connection_config": destConn},
	}
	created := mustOK(t, call(t, http.MethodPost, "/v2/job/migration", job))
	if id := created["job"].(map[string]any)["job_id"]; id != jobID {
		t.Fatalf("job_id %v, want %s", id, jobID)
	}
	t.Cleanup(func() { call(t, http.MethodPost, "/v2/job/delete", url.Values{"job_id": {jobID}}) })

	// The Nomad job holds the password only encrypted.
	nj, _, err := agent.Client().Jobs().Info(jobID, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(nj)
	if strings.Contains(string(raw), jobPassword) {
		t.Fatal("the Nomad job holds the MySQL password in plaintext")
	}

	var d map[string]any
	eventually(t, 2*time.Minute, "job reaches the binlog stage", func() string {
		d = detail(t, jobID)
		if !hasTaskEvent(d, "dest", "job_stage_incr") || runningAlloc(d, "src") == "" {
			return "no job_stage_incr event yet"
		}
		return ""
	})
	checkDetailShape(t, d, pair.Source.Port)
	if s := jobStatus(t, jobID); s != "running" {
		t.Errorf("job_status %s, want running", s)
	}

	srcAlloc, destAlloc := runningAlloc(d, "src"), runningAlloc(d, "dest")
	before := monitor(t, destAlloc, "dest")
	execAll(t, src, "INSERT INTO api_life.t VALUES (4,'d')", "UPDATE api_life.t SET v='bb' WHERE id=2")
	eventually(t, time.Minute, "monitor figures advance", func() string {
		after := monitor(t, destAlloc, "dest")
		if after["exec_master_tx_count"].(float64) < before["exec_master_tx_count"].(float64)+2 {
			return fmt.Sprintf("exec_master_tx_count %v -> %v", before["exec_master_tx_count"], after["exec_master_tx_count"])
		}
		if after["current_coordinates"].(map[string]any)["gtid_set"] == "" {
			return "no gtid_set"
		}
		return ""
	})
	srcFig := monitor(t, srcAlloc, "src")
	if srcFig["progress_PCT"] != "100.0" || srcFig["read_master_tx_count"].(float64) < 2 {
		t.Errorf("source figures: progress %v, read tx %v", srcFig["progress_PCT"], srcFig["read_master_tx_count"])
	}
	if f := srcFig["current_coordinates"].(map[string]any)["file"]; f == "" {
		t.Error("source figures: no binlog file")
	}
	checkMetrics(t, jobID)

	// Pause: the tasks stop and the source has no binlog dump for us.
	mustOK(t, call(t, http.MethodPost, "/v2/job/pause", url.Values{"job_id": {jobID}}))
	eventually(t, time.Minute, "paused job closes its binlog connection", func() string {
		n := scalar(t, src, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER='"+jobUser+"' AND COMMAND LIKE 'Binlog Dump%'")
		if n != 0 {
			return fmt.Sprintf("%d binlog dump connections", n)
		}
		if s := jobStatus(t, jobID); s != "paused" {
			return "job_status " + s
		}
		if runningAlloc(detail(t, jobID), "dest") != "" {
			return "dest still running"
		}
		return ""
	})
	mustOK(t, call(t, http.MethodPost, "/v2/job/pause", url.Values{"job_id": {jobID}})) // again: no change
	execAll(t, src, "INSERT INTO api_life.t VALUES (5,'e')", "DELETE FROM api_life.t WHERE id=1")
	time.Sleep(2 * time.Second)
	if n := scalar(t, dst, "SELECT COUNT(*) FROM api_life.t WHERE id=5"); n != 0 {
		t.Fatal("a paused job applied a new row")
	}

	// Resume by JSON body: it continues where it stopped.
	mustOK(t, call(t, http.MethodPost, "/v2/job/resume", map[string]string{"job_id": jobID}))
	execAll(t, src, "INSERT INTO api_life.t VALUES (6,'f')")
	eventually(t, 2*time.Minute, "resumed job catches up", func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rowdiff.Tables(ctx, src, dst, schema, "t"); err != nil {
			return err.Error()
		}
		return ""
	})
	if s := jobStatus(t, jobID); s == "paused" {
		t.Errorf("job_status %s after resume", s)
	}

	// Delete: the job goes, the data stays.
	mustOK(t, call(t, http.MethodPost, "/v2/job/delete", url.Values{"job_id": {jobID}}))
	if s := jobStatus(t, jobID); s != "<absent>" {
		t.Errorf("deleted job still listed as %s", s)
	}
	if n := scalar(t, dst, "SELECT COUNT(*) FROM api_life.t"); n != 5 {
		t.Errorf("destination has %d rows after delete, want 5", n)
	}
	if r := call(t, http.MethodGet, "/v2/job/migration/detail?job_id="+jobID, nil); r.Status != http.StatusNotFound {
		t.Errorf("detail of a deleted job: %d %s", r.Status, r.Body)
	}
}

// checkDetailShape checks a job detail against the contract's fields.
func checkDetailShape(t *testing.T, d map[string]any, srcPort int) {
	t.Helper()
	for _, k := range []string{"job_id", "job_name", "failover", "src_task_detail", "dest_task_detail"} {
		if _, ok := d[k]; !ok {
			t.Errorf("detail lacks %s", k)
		}
	}
	src := d["src_task_detail"].(map[string]any)
	cfg := src["task_config"].(map[string]any)
	want := map[string]any{"task_name": "src", "gtid": "", "group_max_size": 1.0, "chunk_size": 2000.0,
		"drop_table_if_exists": false, "skip_create_db_table": false, "repl_chan_buffer_size": 32.0}
	for k, v := range want {
		if cfg[k] != v {
			t.Errorf("src task_config.%s = %v, want %v", k, cfg[k], v)
		}
	}
	if ig, ok := cfg["replicate_ignore_db"].([]any); !ok || len(ig) != 0 {
		t.Errorf("src task_config.replicate_ignore_db = %v, want []", cfg["replicate_ignore_db"])
	}
	mc := cfg["mysql_connection_config"].(map[string]any)
	if mc["mysql_password"] != "*" || mc["mysql_port"] != float64(srcPort) || mc["mysql_user"] != jobUser {
		t.Errorf("src mysql_connection_config = %v", mc)
	}
	dest := d["dest_task_detail"].(map[string]any)["task_config"].(map[string]any)
	if dest["task_name"] != "dest" || dest["parallel_workers"] != 1.0 {
		t.Errorf("dest task_config = %v", dest)
	}
	a := src["allocations"].([]any)[0].(map[string]any)
	for _, k := range []string{"node_id", "allocation_id", "task_status"} {
		if _, ok := a[k]; !ok {
			t.Errorf("allocation lacks %s", k)
		}
	}
	st := a["task_status"].(map[string]any)
	for _, k := range []string{"task_events", "started_at", "finished_at", "status"} {
		if _, ok := st[k]; !ok {
			t.Errorf("task_status lacks %s", k)
		}
	}
	ev := st["task_events"].([]any)[0].(map[string]any)
	for _, k := range []string{"event_type", "setup_error", "message", "time"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("task event lacks %s", k)
		}
	}
	if _, err := time.Parse(time.RFC3339, ev["time"].(string)); err != nil {
		t.Errorf("task event time: %v", err)
	}
}

// checkMetrics reads /metrics and finds the job's series.
func checkMetrics(t *testing.T, jobID string) {
	t.Helper()
	r := call(t, http.MethodGet, "/metrics", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("/metrics: %d %s", r.Status, r.Body)
	}
	body := string(r.Body)
	for _, want := range []string{
		`dtle_task_up{job="` + jobID + `",task="dest"`,
		`dtle_txns_applied_total{job="` + jobID + `",task="dest"`,
		`dtle_lag_seconds{job="` + jobID + `",task="src"`,
		"# TYPE dtle_rows_read_total counter",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	if r := callWith(t, http.MethodGet, "/metrics", nil, ""); r.Status != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d", r.Status)
	}
}
