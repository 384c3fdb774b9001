package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/api"
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
	checkMonitorShape(t, monitor(t, destAlloc, "dest"))
	checkRemoteMonitor(t, srcAlloc)
	byJob := mustOK(t, call(t, http.MethodGet, "/v2/monitor/task?job_id="+jobID+"&task_name=dest", nil))
	if byJob["tasks_status"].(map[string]any)["exec_master_tx_count"].(float64) < 2 {
		t.Errorf("monitor by job_id: %v", byJob)
	}
	srcFig := monitor(t, srcAlloc, "src")
	if srcFig["progress_PCT"] != "100.0" || srcFig["read_master_tx_count"].(float64) < 2 {
		t.Errorf("source figures: progress %v, read tx %v", srcFig["progress_PCT"], srcFig["read_master_tx_count"])
	}
	if f := srcFig["current_coordinates"].(map[string]any)["file"]; f == "" {
		t.Error("source figures: no binlog file")
	}
	checkMetrics(t, jobID)

	// Pause: the tasks stop and the source has no binlog dump for us (it
	// has one now, so the query below does see it).
	dumps := "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER='" + jobUser + "' AND COMMAND LIKE 'Binlog Dump%'"
	if n := scalar(t, src, dumps); n < 1 {
		t.Fatalf("a running job shows %d binlog dump connections, want 1", n)
	}
	mustOK(t, call(t, http.MethodPost, "/v2/job/pause", url.Values{"job_id": {jobID}}))
	eventually(t, time.Minute, "paused job closes its binlog connection", func() string {
		if n := scalar(t, src, dumps); n != 0 {
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
	if s := jobStatus(t, jobID); s != "running" && s != "pending" {
		t.Errorf("job_status %s after resume, want running", s)
	}

	// Update with the masked passwords the detail shows: the stored ones
	// stay, so the new allocations connect.
	d = detail(t, jobID)
	oldSrc, oldDest := runningAlloc(d, "src"), runningAlloc(d, "dest")
	srcConn["mysql_password"], destConn["mysql_password"] = "*", "*"
	job["is_mysql_password_encrypted"] = false
	job["src_task"].(map[string]any)["chunk_size"] = 500
	job["dest_task"].(map[string]any)["parallel_workers"] = 2
	mustOK(t, call(t, http.MethodPost, "/v2/job/migration", map[string]any{"migration_job_config": job}))
	eventually(t, 2*time.Minute, "the updated job runs in new allocations", func() string {
		d := detail(t, jobID)
		s, de := runningAlloc(d, "src"), runningAlloc(d, "dest")
		if s == "" || de == "" || s == oldSrc || de == oldDest {
			return fmt.Sprintf("running src %q dest %q (before: %q %q)", s, de, oldSrc, oldDest)
		}
		if m := monitor(t, de, "dest"); m["stage"] == "" || !strings.Contains(m["current_coordinates"].(map[string]any)["gtid_set"].(string), "-") {
			return "the new destination has not connected"
		}
		return ""
	})
	execAll(t, src, "INSERT INTO api_life.t VALUES (7,'g')")
	eventually(t, 2*time.Minute, "updated job replicates", func() string {
		if n := scalar(t, dst, "SELECT COUNT(*) FROM api_life.t WHERE id=7"); n != 1 {
			return "row 7 not applied"
		}
		cfg := detail(t, jobID)["src_task_detail"].(map[string]any)["task_config"].(map[string]any)
		if cfg["chunk_size"] != 500.0 {
			return fmt.Sprintf("chunk_size %v", cfg["chunk_size"])
		}
		return ""
	})

	// Delete: the job goes, the data stays.
	mustOK(t, call(t, http.MethodPost, "/v2/job/delete", url.Values{"job_id": {jobID}}))
	if s := jobStatus(t, jobID); s != "<absent>" {
		t.Errorf("deleted job still listed as %s", s)
	}
	if n := scalar(t, dst, "SELECT COUNT(*) FROM api_life.t"); n != 6 {
		t.Errorf("destination has %d rows after delete, want 6", n)
	}
	if log, err := os.ReadFile(agent.LogPath); err != nil || strings.Contains(string(log), jobPassword) {
		t.Errorf("the agent log holds the MySQL password (read error: %v)", err)
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
		`dtle_lag_seconds{job="` + jobID + `",task="src"`,
		"# TYPE dtle_rows_read_total counter",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	// The applied count is the monitor's: at least the two transactions
	// the test wrote.
	applied := -1.0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, `dtle_txns_applied_total{job="`+jobID+`",task="dest"`) {
			_, _ = fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &applied)
		}
	}
	if applied < 2 {
		t.Errorf("dtle_txns_applied_total of the destination = %v, want at least 2:\n%s", applied, body)
	}
	if r := callWith(t, http.MethodGet, "/metrics", nil, ""); r.Status != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d", r.Status)
	}
}

// checkMonitorShape checks the monitor reply against the contract's fields.
func checkMonitorShape(t *testing.T, m map[string]any) {
	t.Helper()
	for _, k := range []string{"current_coordinates", "delay_count", "progress_PCT", "exec_master_row_count", "exec_master_tx_count",
		"read_master_row_count", "read_master_tx_count", "ETA", "backlog", "throughput_status", "nats_message_status",
		"buffer_status", "stage", "timestamp"} {
		if _, ok := m[k]; !ok {
			t.Errorf("monitor lacks %s", k)
		}
	}
	sub := map[string][]string{
		"current_coordinates": {"file", "position", "gtid_set", "relay_master_log_file", "read_master_log_pos", "retrieved_gtid_set"},
		"delay_count":         {"num", "time"},
		"throughput_status":   {"num", "time", "rows_per_second", "txns_per_second"},
		"nats_message_status": {"in_messages", "out_messages", "in_bytes", "out_bytes", "reconnects"},
		"buffer_status":       {"binlog_event_queue_size", "extractor_tx_queue_size", "applier_tx_queue_size", "send_by_timeout", "send_by_size_full"},
	}
	for obj, keys := range sub {
		o, _ := m[obj].(map[string]any)
		for _, k := range keys {
			if _, ok := o[k]; !ok {
				t.Errorf("monitor %s lacks %s", obj, k)
			}
		}
	}
	if n := m["nats_message_status"].(map[string]any)["in_messages"].(float64); n == 0 {
		t.Error("monitor: no NATS messages counted on a running destination")
	}
	if ts := int64(m["timestamp"].(float64)); time.Since(time.Unix(0, ts)) > time.Minute {
		t.Errorf("monitor timestamp %d is not now", ts)
	}
}

// checkRemoteMonitor asks a second API server, one that runs no tasks, for
// a task's figures: it must fetch them from the API of the task's node.
func checkRemoteMonitor(t *testing.T, alloc string) {
	t.Helper()
	srv, err := api.New(api.Config{Addr: "127.0.0.1:0", Token: apiToken, Nomad: api.NomadConn{Addr: agent.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, ts.URL+"/v2/monitor/task?allocation_id="+alloc+"&task_name=src", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out api.MonitorResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("monitor through another node's API: %d %v", resp.StatusCode, err)
	}
	if out.TasksStatus == nil || out.TasksStatus.ReadMasterTxCount < 2 || out.TasksStatus.Stage == "" {
		t.Errorf("monitor through another node's API: %+v", out.TasksStatus)
	}
}
