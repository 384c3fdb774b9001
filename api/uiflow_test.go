package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/rowdiff"
)

// uiJobs lists /v2/jobs/sync with the query q, as the login tok, and
// returns the jobs.
func uiJobs(t *testing.T, tok string, q url.Values) []map[string]any {
	t.Helper()
	m := okContract(t, callWith(t, http.MethodGet, "/v2/jobs/sync?"+q.Encode(), nil, tok), http.MethodGet, "/v2/jobs/sync")
	var out []map[string]any
	for _, j := range m["jobs"].([]any) {
		out = append(out, j.(map[string]any))
	}
	return out
}

// uiDetail is the 4.x part of a sync job's detail, as the login tok sees it.
func uiDetail(t *testing.T, tok, jobID string) (profile map[string]any, logs []any) {
	t.Helper()
	r := callWith(t, http.MethodGet, "/v2/job/sync/detail?job_id="+url.QueryEscape(jobID), nil, tok)
	m := okContract(t, r, http.MethodGet, "/v2/job/sync/detail")
	return m["basic_task_profile"].(map[string]any), m["task_logs"].([]any)
}

// uiPosition is the job's source position, as the login tok sees it.
func uiPosition(t *testing.T, tok, jobID string) string {
	t.Helper()
	r := callWith(t, http.MethodGet, "/v2/job/position?job_id="+url.QueryEscape(jobID), nil, tok)
	if r.Status != http.StatusOK {
		return ""
	}
	return okContract(t, r, http.MethodGet, "/v2/job/position")["position"].(string)
}

// runningLog is the allocation id of the task's running allocation in the
// 4.x task logs (desired to run, its last event a start or the driver's),
// "" when none runs.
func runningLog(logs []any, task string) string {
	for _, l := range logs {
		l := l.(map[string]any)
		evs := l["task_events"].([]any)
		if l["target"] != task || l["status"] != "run" || len(evs) == 0 {
			continue
		}
		if last := evs[len(evs)-1].(map[string]any)["event_type"]; last == "Started" || last == "Driver" {
			return l["allocation_id"].(string)
		}
	}
	return ""
}

// step is the job step named name.
func step(b map[string]any, name string) map[string]any {
	for _, s := range b["job_steps"].([]any) {
		if s := s.(map[string]any); s["step_name"] == name {
			return s
		}
	}
	return nil
}

// uiLogin logs in as the first admin twice, as the UI can: through a
// captcha (POST /v2/login/captcha, its answer read through the test hook,
// then POST /v2/login) and without one (POST /v2/loginWithoutVerifyCode).
// It returns both login tokens, each checked to be the admin's.
func uiLogin(t *testing.T) (withCaptcha, without string) {
	t.Helper()
	secret := clusterSecret(t)
	adminPw := bootstrapPassword(t)
	env := newUserEnv(t, apiURL, &[]string{adminPw, jobPassword})
	id, answer := getCaptcha(t, env, secret, api.CaptchaDefault)
	m := env.ok(http.MethodPost, "/v2/login", map[string]string{"tenant": api.PlatformTenant, "username": api.AdminUser,
		"password": adminPw, "captcha_id": id, "captcha": answer}, "")
	withCaptcha, _ = m["data"].(map[string]any)["token"].(string)
	without = env.login(api.PlatformTenant, api.AdminUser, adminPw)
	for _, tok := range []string{withCaptcha, without} {
		if tok == "" || tok == apiToken {
			t.Fatalf("login token %q", tok)
		}
		cu := env.ok(http.MethodGet, "/v2/user/current_user", nil, tok)["current_user"].(map[string]any)
		if cu["username"] != api.AdminUser || cu["tenant"] != api.PlatformTenant {
			t.Fatalf("current_user %v", cu)
		}
	}
	return withCaptcha, without
}

// TestUIFlowSync runs a sync job as the 4.x UI does, between two MariaDB
// servers, with login tokens only (never the api_token): log in with a
// captcha and without, create the job with the 4.x body, find it in the
// list with filters, watch its detail, position and figures move, pause,
// resume, update it (passwords as the detail shows them: "*"), reverse it
// into a two-way sync, delete both jobs; the destination must then equal
// the source, row by row.
func TestUIFlowSync(t *testing.T) {
	startAgent(t)
	// The job's life runs on the captcha login's token; the reverse and
	// the delete on the other login's, as a second session of the UI.
	tok, tok2 := uiLogin(t)
	// A new job id each run: a job resumes from the destination's
	// checkpoint of its id, which a delete keeps.
	const schema = "api_ui_flow"
	name := fmt.Sprintf("uiflow%d", time.Now().UnixNano()%1e9)
	jobID := name + "-sync"
	src, dst := prepare(t, schema,
		"CREATE TABLE api_ui_flow.t (id INT PRIMARY KEY, v VARCHAR(40), n INT)",
		"INSERT INTO api_ui_flow.t VALUES (1,'a',1),(2,'b',2),(3,'c',3),(4,'d',4)")
	same := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rowdiff.Tables(ctx, src, dst, schema, "t"); err != nil {
			return err.Error()
		}
		return ""
	}

	// Create, wrapped as the swagger's parameter names it.
	body := mysqlJob4(t, name, schema, map[string]any{"task_step_name": "all",
		"src_task.sql_filter": []any{"NoDDLDropTable"}})
	created := mustOK(t, callWith(t, http.MethodPost, "/v2/job/sync/create", map[string]any{"sync_job_config": body}, tok))
	if created["job_id"] != jobID {
		t.Fatalf("job_id %v, want %s", created["job_id"], jobID)
	}
	t.Cleanup(func() { callWith(t, http.MethodPost, "/v2/job/sync/delete", url.Values{"job_id": {jobID}}, tok) })
	nj, _, err := agent.Client().Jobs().Info(jobID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := json.Marshal(nj); strings.Contains(string(raw), jobPassword) {
		t.Fatal("the Nomad job holds the MySQL password in clear")
	}

	// The list, with each filter: the job is found by what it is and
	// missed by what it is not.
	srcPort, destPort := itoa(pair.Source.Port), itoa(pair.Dest.Port)
	for _, c := range []struct {
		name  string
		q     url.Values
		found bool
	}{
		{"by job id prefix", url.Values{"filter_job_id": {name[:8]}}, true},
		{"by another job id", url.Values{"filter_job_id": {"other"}}, false},
		{"by source host and port", url.Values{"filter_job_src_ip": {pair.Source.Host}, "filter_job_src_port": {srcPort}}, true},
		{"by the destination's port as the source's", url.Values{"filter_job_src_port": {destPort}}, false},
		{"by destination port", url.Values{"filter_job_dest_port": {destPort}, "order_by": {"job_create_time"}}, true},
		{"by another destination host", url.Values{"filter_job_dest_ip": {"192.0.2.1"}}, false},
	} {
		found := false
		for _, j := range uiJobs(t, tok, c.q) {
			found = found || j["job_id"] == jobID
		}
		if found != c.found {
			t.Errorf("list %s (%s): found %v, want %v", c.name, c.q.Encode(), found, c.found)
		}
	}
	eventually(t, 2*time.Minute, "the list shows the job running", func() string {
		jobs := uiJobs(t, tok, url.Values{"filter_job_id": {jobID}, "filter_job_status": {"running"}})
		if len(jobs) != 1 {
			return fmt.Sprintf("jobs %v", jobs)
		}
		j := jobs[0]
		if st := j["allocation_status"].(map[string]any); st["src"] != "running" || st["dest"] != "running" {
			return fmt.Sprintf("allocation_status %v", st)
		}
		if j["src_addr_list"].([]any)[0] != pair.Source.Host+":"+srcPort || j["dst_database_type"] != "MariaDB" {
			return fmt.Sprintf("addresses or types: %v", j)
		}
		return ""
	})

	// Detail: the stages, the copy's progress, the configuration as sent.
	var p map[string]any
	var logs []any
	eventually(t, 2*time.Minute, "the detail shows the copy done and the binlog followed", func() string {
		p, logs = uiDetail(t, tok, jobID)
		b := p["job_base_info"].(map[string]any)
		full, incr := step(b, "job_stage_full"), step(b, "job_stage_incr")
		if b["job_stage"] != "job_stage_incr" || full == nil || full["step_status"] != "finish" || full["step_schedule"] != 100.0 ||
			incr == nil || incr["step_status"] != "running" {
			return fmt.Sprintf("stage %v, steps %v", b["job_stage"], b["job_steps"])
		}
		if dp := b["dump_progress"].(map[string]any); dp["exec_row_count"].(float64) < 4 || dp["exec_row_count"] != dp["total_row_count"] {
			return fmt.Sprintf("dump_progress %v", dp)
		}
		if runningLog(logs, "src") == "" || runningLog(logs, "dest") == "" {
			return "the task logs show no running task"
		}
		return ""
	})
	cfg := p["configuration"].(map[string]any)
	if sf := mustJSON(t, cfg["src_config"].(map[string]any)["sql_filter"]); sf != `["NoDDLDropTable"]` || cfg["fail_over"] != true || cfg["retry_times"] != 3.0 {
		t.Errorf("configuration: %v", cfg)
	}
	if ci := p["connection_info"].(map[string]any); mustJSON(t, ci["src_data_base"].(map[string]any)["password"]) != `"*"` ||
		ci["dst_data_base"].(map[string]any)["port"] != float64(pair.Dest.Port) {
		t.Errorf("connection_info: %v", ci)
	}
	if n := len(p["dtle_node_infos"].([]any)); n != 2 {
		t.Errorf("dtle_node_infos: %d, want src and dest", n)
	}

	// Position and figures move with the source's writes.
	before := uiPosition(t, tok, jobID)
	execAll(t, src, "INSERT INTO api_ui_flow.t VALUES (5,'e',5)", "UPDATE api_ui_flow.t SET v='bb' WHERE id=2")
	eventually(t, time.Minute, "the position moves", func() string {
		if now := uiPosition(t, tok, jobID); now == before || now == "" {
			return fmt.Sprintf("position %q, before %q", now, before)
		}
		return ""
	})
	destAlloc := runningLog(logs, "dest")
	eventually(t, time.Minute, "the destination's figures count the writes", func() string {
		m := okContract(t, callWith(t, http.MethodGet, "/v2/monitor/task?task_name=dest&allocation_id="+destAlloc, nil, tok), http.MethodGet, "/v2/monitor/task")
		if n := m["tasks_status"].(map[string]any)["exec_master_tx_count"].(float64); n < 2 {
			return fmt.Sprintf("exec_master_tx_count %v", n)
		}
		return ""
	})
	eventually(t, time.Minute, "the destination catches up", same)

	// sql_filter NoDDLDropTable: a table dropped on the source stays on the
	// destination.
	execAll(t, src, "CREATE TABLE api_ui_flow.kept (id INT PRIMARY KEY)")
	eventually(t, time.Minute, "a new table arrives", func() string {
		if n := scalar(t, dst, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='api_ui_flow' AND TABLE_NAME='kept'"); n != 1 {
			return "not on the destination"
		}
		return ""
	})
	execAll(t, src, "DROP TABLE api_ui_flow.kept", "INSERT INTO api_ui_flow.t VALUES (8,'h',8)")
	eventually(t, time.Minute, "the write after the drop arrives", same)
	if n := scalar(t, dst, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='api_ui_flow' AND TABLE_NAME='kept'"); n != 1 {
		t.Error("sql_filter NoDDLDropTable: the dropped table is gone from the destination too")
	}

	// Pause: listed as paused; writes wait.
	okContract(t, callWith(t, http.MethodPost, "/v2/job/sync/pause", url.Values{"job_id": {jobID}}, tok), http.MethodPost, "/v2/job/sync/pause")
	eventually(t, time.Minute, "the job is paused", func() string {
		if jobs := uiJobs(t, tok, url.Values{"filter_job_id": {jobID}, "filter_job_status": {"paused"}}); len(jobs) != 1 {
			return "not listed as paused"
		}
		if _, logs := uiDetail(t, tok, jobID); runningLog(logs, "dest") != "" || runningLog(logs, "src") != "" {
			return "a task still runs"
		}
		return ""
	})
	execAll(t, src, "INSERT INTO api_ui_flow.t VALUES (6,'f',6)", "DELETE FROM api_ui_flow.t WHERE id=1")

	// Resume: the writes made while paused arrive.
	okContract(t, callWith(t, http.MethodPost, "/v2/job/sync/resume", url.Values{"job_id": {jobID}}, tok), http.MethodPost, "/v2/job/sync/resume")
	eventually(t, 2*time.Minute, "the resumed job catches up", same)

	// Update with the passwords as the detail shows them ("*"): the
	// stored ones stay, the new options apply.
	body["job_id"] = jobID
	body["src_task"].(map[string]any)["connection_config"].(map[string]any)["password"] = "*"
	body["dest_task"].(map[string]any)["connection_config"].(map[string]any)["password"] = "*"
	body["src_task"].(map[string]any)["chunk_size"] = 500
	body["dest_task"].(map[string]any)["mysql_dest_task_config"].(map[string]any)["parallel_workers"] = 2
	okContract(t, callWith(t, http.MethodPost, "/v2/job/sync/update", body, tok), http.MethodPost, "/v2/job/sync/update",
		"src_task.oracle_src_task_config")
	eventually(t, 2*time.Minute, "the updated job runs with the new options", func() string {
		p, logs := uiDetail(t, tok, jobID)
		cfg := p["configuration"].(map[string]any)
		if cfg["src_config"].(map[string]any)["chunk_size"] != 500.0 ||
			cfg["dst_config"].(map[string]any)["mysql_dest_task_config"].(map[string]any)["parallel_workers"] != 2.0 {
			return fmt.Sprintf("configuration %v", cfg)
		}
		if a := runningLog(logs, "dest"); a == "" || a == destAlloc {
			return "no new destination allocation running"
		}
		return ""
	})
	execAll(t, src, "INSERT INTO api_ui_flow.t VALUES (7,'g',7)", "UPDATE api_ui_flow.t SET n=n+10", "DELETE FROM api_ui_flow.t WHERE id=3")
	eventually(t, 2*time.Minute, "the updated job replicates", same)

	// Reverse, from the other login: the reverse job replicates from the
	// destination back to the source while the job runs; a change made on
	// either side arrives once on the other, never sent back.
	tok = tok2
	_, logs = uiDetail(t, tok, jobID)
	srcAlloc := runningLog(logs, "src")
	rev := okContract(t, callWith(t, http.MethodPost, "/v2/job/sync/reverse", map[string]any{"job_id": jobID}, tok),
		http.MethodPost, "/v2/job/sync/reverse")
	revID, _ := rev["reverse_job_id"].(string)
	if revID != "reverse-"+jobID {
		t.Fatalf("reverse_job_id %q", revID)
	}
	t.Cleanup(func() { callWith(t, http.MethodPost, "/v2/job/sync/delete", url.Values{"job_id": {revID}}, tok2) })
	okContract(t, callWith(t, http.MethodPost, "/v2/job/sync/reverse_start", url.Values{"job_id": {jobID}}, tok),
		http.MethodPost, "/v2/job/sync/reverse_start")
	eventually(t, 2*time.Minute, "the reverse job follows the destination's binlog and the job's source restarted", func() string {
		p, revLogs := uiDetail(t, tok, revID)
		if b := p["job_base_info"].(map[string]any); b["job_stage"] != "job_stage_incr" {
			return fmt.Sprintf("reverse job stage %v", b["job_stage"])
		}
		if runningLog(revLogs, "src") == "" || runningLog(revLogs, "dest") == "" {
			return "the reverse job's tasks do not run"
		}
		_, logs := uiDetail(t, tok, jobID)
		if a := runningLog(logs, "src"); a == "" || a == srcAlloc {
			return "the job's source has not restarted with skip_dtle_applied"
		}
		return ""
	})
	if jobs := uiJobs(t, tok, url.Values{"filter_job_id": {revID}, "filter_job_status": {"running"}}); len(jobs) != 1 {
		t.Errorf("the reverse job is not listed as running: %v", jobs)
	}
	n2 := scalar(t, src, "SELECT n FROM api_ui_flow.t WHERE id=2")
	execAll(t, dst, "INSERT INTO api_ui_flow.t VALUES (101,'from dest',1)", "UPDATE api_ui_flow.t SET n=n+1 WHERE id=2")
	execAll(t, src, "INSERT INTO api_ui_flow.t VALUES (9,'i',9)")
	eventually(t, 2*time.Minute, "writes on both sides converge", same)
	for side, db := range map[string]*sql.DB{"source": src, "destination": dst} {
		if n := scalar(t, db, "SELECT n FROM api_ui_flow.t WHERE id=2"); n != n2+1 {
			t.Errorf("%s: row 2: n = %d, want %d (a change applied twice or lost)", side, n, n2+1)
		}
	}

	// Delete both: gone from the list; the data stays, equal on both sides.
	for _, id := range []string{revID, jobID} {
		okContract(t, callWith(t, http.MethodPost, "/v2/job/sync/delete", url.Values{"job_id": {id}}, tok), http.MethodPost, "/v2/job/sync/delete")
		if jobs := uiJobs(t, tok, url.Values{"filter_job_id": {id}}); len(jobs) != 0 {
			t.Errorf("deleted job %s still listed: %v", id, jobs)
		}
	}
	if d := same(); d != "" {
		t.Errorf("after delete: %s", d)
	}
}
