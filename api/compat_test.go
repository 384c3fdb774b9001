package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/api"
)

// TestUnknownFieldsIgnored: like dtle 3.x, the API ignores the fields it
// does not know (its UI and scripts send more than the contract shows) and
// logs them at DEBUG, while a known field of the wrong type is still
// refused.
func TestUnknownFieldsIgnored(t *testing.T) {
	startAgent(t)
	// The dev agent's level; another test may have changed it.
	mustOK(t, call(t, http.MethodPost, "/v2/log/level", url.Values{"dtle_log_level": {"DEBUG"}}))
	var job map[string]any
	if err := json.Unmarshal([]byte(seedMySQLJob), &job); err != nil {
		t.Fatal(err)
	}
	job["job_name"] = "compat1"
	job["binlog_relay"], job["reverse"], job["retry"] = false, false, 3
	src, dest := job["src_task"].(map[string]any), job["dest_task"].(map[string]any)
	src["task_step_name"] = "job_stage_full"
	src["mysql_connection_config"].(map[string]any)["mysql_connect_timeout"] = 5
	src["replicate_do_db"] = []any{map[string]any{"table_schema": "db1", "ui_expanded": true,
		"tables": []any{map[string]any{"table_name": "tb1", "ui_checked": true}}}}
	dest["binlog_relay"] = false
	body := map[string]any{"migration_job_config": job, "ui_version": "3.21"}

	got := mustOK(t, call(t, http.MethodPost, "/v2/job/migration", body))
	t.Cleanup(func() { call(t, http.MethodPost, "/v2/job/delete", url.Values{"job_id": {"compat1-migration"}}) })
	delete(got, "eval_create_index")
	delete(got, "job_modify_index")
	want := strings.ReplaceAll(strings.ReplaceAll(seedMySQLReply, "%TYPE%", "migration"), "job1", "compat1")
	var wantObj map[string]any
	if err := json.Unmarshal([]byte(want), &wantObj); err != nil {
		t.Fatal(err)
	}
	// The rule keeps what the request said of it, less the unknown fields.
	wantObj["job"].(map[string]any)["src_task"].(map[string]any)["replicate_do_db"] = []any{map[string]any{
		"table_schema": "db1", "table_schema_rename": nil,
		"tables": []any{map[string]any{"table_name": "tb1", "table_rename": "", "column_map_from": nil, "where": ""}}}}
	if mustJSON(t, got) != mustJSON(t, wantObj) {
		t.Errorf("reply:\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, wantObj))
	}
	eventually(t, 30*time.Second, "the ignored fields are logged at DEBUG", func() string {
		log, err := os.ReadFile(agent.LogPath)
		if err != nil {
			return err.Error()
		}
		for _, line := range strings.Split(string(log), "\n") {
			if strings.Contains(line, "[DEBUG]") && strings.Contains(line, "API request fields ignored") &&
				strings.Contains(line, "src_task.replicate_do_db[0].tables[0].ui_checked") && strings.Contains(line, "binlog_relay") {
				return ""
			}
		}
		return "no DEBUG line names them"
	})

	// Validation reads the same config the same way.
	prepare(t, "api_compat", "CREATE TABLE api_compat.t (id INT PRIMARY KEY)")
	valid := map[string]any{"job_name": "compat2", "retry": 3, "task_step_name": "x",
		"src_task":  map[string]any{"mysql_connection_config": conn(pair.Source), "binlog_relay": true, "replicate_do_db": []any{map[string]any{"table_schema": "api_compat"}}},
		"dest_task": map[string]any{"mysql_connection_config": conn(pair.Dest), "reverse": false}}
	if m := mustOK(t, call(t, http.MethodPost, "/v2/validation/job", map[string]any{"job_config": valid})); m["driver_config_validated"] != true {
		t.Errorf("validation with unknown fields: %v", m)
	}

	// Types and values are checked as before.
	job["src_task"].(map[string]any)["chunk_size"] = "big"
	r := call(t, http.MethodPost, "/v2/job/migration", body)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "src_task.chunk_size: must be a number") {
		t.Errorf("wrong type beside unknown fields: %d %s", r.Status, r.Body)
	}
}

// TestTaskNameAliases: task_name takes dtle 3.x's other names, source for
// src and dst or destination for dest; the job holds src and dest.
func TestTaskNameAliases(t *testing.T) {
	startAgent(t)
	cases := []struct {
		name, src, dest string
	}{
		{"source and destination", "source", "destination"},
		{"dst", "src", "dst"},
		{"any case", "Source", "DEST"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := "alias" + itoa(i)
			body := strings.Replace(seedMySQLJob, `"job_name": "job1"`, `"job_name": "`+id+`"`, 1)
			body = strings.Replace(body, `"task_name": "src"`, `"task_name": "`+c.src+`"`, 1)
			body = strings.Replace(body, `"task_name": "dest"`, `"task_name": "`+c.dest+`"`, 1)
			got := mustOK(t, call(t, http.MethodPost, "/v2/job/sync", body))
			t.Cleanup(func() { call(t, http.MethodPost, "/v2/job/delete", url.Values{"job_id": {id + "-sync"}}) })
			j := got["job"].(map[string]any)
			if s, d := j["src_task"].(map[string]any)["task_name"], j["dest_task"].(map[string]any)["task_name"]; s != "src" || d != "dest" {
				t.Errorf("reply task names %v, %v; want src, dest", s, d)
			}
			nj, _, err := agent.Client().Jobs().Info(id+"-sync", nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, g := range nj.TaskGroups {
				names = append(names, g.Tasks[0].Name)
			}
			if strings.Join(names, ",") != "src,dest" {
				t.Errorf("the Nomad job's tasks are %v, want src, dest", names)
			}
		})
	}
}

// TestJobsListsJobFileJobs: a dtle job run with "nomad job run", without a
// job_type meta, is listed like the others (the API acts on it anyway):
// a subscription when its destination writes to Kafka, else a migration.
// A Nomad job without a dtle task is not listed.
func TestJobsListsJobFileJobs(t *testing.T) {
	startAgent(t)
	nc := agent.Client()
	// As a job file has it: blocks as lists of objects. No group runs.
	mysql := map[string]any{"mysql_connection_config": []any{map[string]any{"mysql_host": "127.0.0.1", "mysql_port": 1,
		"mysql_user": "u", "mysql_password": "p"}}}
	kafka := map[string]any{"kafka_broker_addrs": []any{"127.0.0.1:1"}, "kafka_topic": "t"}
	register := func(id, driver string, dest map[string]any) {
		job := &nomad.Job{ID: &id, Name: &id, Type: ptrTo("service"), Datacenters: []string{"*"}}
		for _, g := range []struct {
			name string
			cfg  map[string]any
		}{{"src", mysql}, {"dest", dest}} {
			job.TaskGroups = append(job.TaskGroups, &nomad.TaskGroup{Name: ptrTo(g.name), Count: ptrTo(0),
				Tasks: []*nomad.Task{{Name: g.name, Driver: driver, Config: g.cfg}}})
		}
		if _, _, err := nc.Jobs().Register(job, nil); err != nil {
			t.Fatalf("register %s: %v", id, err)
		}
		t.Cleanup(func() { _, _, _ = nc.Jobs().Deregister(id, true, nil) })
	}
	register("file-mysql", "dtle", mysql)
	register("file-kafka", "dtle", kafka)
	register("file-other", "raw_exec", mysql)

	types := func(filter string) map[string]any {
		got := map[string]any{}
		list := mustOK(t, call(t, http.MethodGet, "/v2/jobs?filter_job_type="+filter, nil))
		for _, j := range list["jobs"].([]any) {
			j := j.(map[string]any)
			if strings.HasPrefix(j["job_id"].(string), "file-") {
				got[j["job_id"].(string)] = j["job_type"]
			}
		}
		return got
	}
	cases := []struct {
		filter string
		want   map[string]any
	}{
		{"", map[string]any{"file-mysql": "migration", "file-kafka": "subscription"}},
		{"subscription", map[string]any{"file-kafka": "subscription"}},
		{"migration", map[string]any{"file-mysql": "migration"}},
		{"sync", map[string]any{}},
	}
	for _, c := range cases {
		if got := types(c.filter); mustJSON(t, got) != mustJSON(t, c.want) {
			t.Errorf("GET /v2/jobs?filter_job_type=%s: %v, want %v", c.filter, got, c.want)
		}
	}
	// The detail route takes it by the same type.
	d := mustOK(t, call(t, http.MethodGet, "/v2/job/subscription/detail?job_id=file-kafka", nil))
	if cfg := d["dest_task_detail"].(map[string]any)["task_config"].(map[string]any); cfg["kafka_topic"] != "t" {
		t.Errorf("detail of a job file's subscription: %v", cfg)
	}
	if r := call(t, http.MethodGet, "/v2/job/migration/detail?job_id=file-kafka", nil); r.Status != http.StatusNotFound ||
		!strings.Contains(string(r.Body), "subscription") {
		t.Errorf("detail under the wrong type: %d %s", r.Status, r.Body)
	}
	mustOK(t, call(t, http.MethodPost, "/v2/job/delete", url.Values{"job_id": {"file-mysql"}}))
	if got := types(""); mustJSON(t, got) != mustJSON(t, map[string]any{"file-kafka": "subscription"}) {
		t.Errorf("after deleting file-mysql: %v", got)
	}
}

// TestMalformedBodies: a body that does not parse as its Content-Type says
// (or has a type the API does not read) is reported as malformed, not as
// the parameters it failed to give.
func TestMalformedBodies(t *testing.T) {
	addr := serveInProcess(t, api.Config{Addr: "127.0.0.1:0", Nomad: api.NomadConn{Addr: "127.0.0.1:1"}})
	cases := []struct {
		name, ctype, body, want string
	}{
		{"JSON sent as a form (curl -d without -H)", "application/x-www-form-urlencoded", `{"job_id": "j1-migration"}`,
			"malformed form body: it holds JSON; send it with Content-Type: application/json"},
		{"bad escape in a form", "application/x-www-form-urlencoded", "job_id=j1%zz", "malformed form body"},
		{"semicolon in a form", "application/x-www-form-urlencoded", "job_id=j1;x=1", "malformed form body"},
		{"no Content-Type", "", "job_id=j1-migration", "malformed body"},
		{"text", "text/plain", "job_id=j1-migration", `malformed body: its Content-Type "text/plain"`},
		{"multipart without a boundary", "multipart/form-data", "job_id=j1-migration", "malformed multipart form body"},
		{"bad Content-Type", "application/x-www-form-urlencoded; charset", "job_id=j1-migration", "malformed Content-Type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := newRequestURL(t, http.MethodPost, "http://"+addr+"/v2/job/pause", strings.NewReader(c.body))
			req.Header.Del("Content-Type")
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			wantError(t, send(t, req), http.StatusBadRequest, c.want)
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
