package api_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestValidation checks good and bad configs, as a body and as the
// job_config query parameter.
func TestValidation(t *testing.T) {
	startAgent(t)
	prepare(t, "api_valid", "CREATE TABLE api_valid.t (id INT PRIMARY KEY)")
	good := map[string]any{
		"job_name":  "v1",
		"src_task":  map[string]any{"mysql_connection_config": conn(pair.Source), "replicate_do_db": []any{map[string]any{"table_schema": "api_valid"}}},
		"dest_task": map[string]any{"mysql_connection_config": conn(pair.Dest)},
	}
	check := func(t *testing.T, r reply, wantOK bool) map[string]any {
		t.Helper()
		m := mustOK(t, r)
		if m["driver_config_validated"] != true {
			t.Fatalf("driver_config_validated false: %s", r.Body)
		}
		reports := m["mysql_task_validation_report"].([]any)
		if len(reports) != 2 {
			t.Fatalf("want reports for src and dest: %s", r.Body)
		}
		src, dest := reports[0].(map[string]any), reports[1].(map[string]any)
		if src["task_name"] != "src" || dest["task_name"] != "dest" {
			t.Fatalf("task names: %s", r.Body)
		}
		for _, k := range []string{"connection_validation", "privileges_validation", "gtid_mode_validation", "server_id_validation", "binlog_validation"} {
			if _, ok := src[k]; !ok {
				t.Fatalf("src %s missing: %s", k, r.Body)
			}
			if c, _ := src[k].(map[string]any); wantOK && (c == nil || c["validated"] != true) {
				t.Errorf("src %s: %v", k, src[k])
			}
		}
		for _, k := range []string{"gtid_mode_validation", "server_id_validation", "binlog_validation"} {
			if v, ok := dest[k]; !ok || v != nil {
				t.Errorf("dest %s = %v, want null", k, v)
			}
		}
		return m
	}
	check(t, call(t, http.MethodGet, "/v2/validation/job", good), true)
	check(t, call(t, http.MethodPost, "/v2/validation/job", map[string]any{"job_config": good}), true)
	q := url.Values{"job_config": {mustJSON(t, good)}}
	check(t, callWith(t, http.MethodGet, "/v2/validation/job?"+q.Encode(), nil, apiToken), true)

	bad := map[string]any{
		"job_name": "v2",
		"src_task": map[string]any{"mysql_connection_config": map[string]any{"mysql_host": pair.Source.Host,
			"mysql_port": pair.Source.Port, "mysql_user": jobUser, "mysql_password": "wrong-password"}},
		"dest_task": map[string]any{"mysql_connection_config": conn(pair.Dest)},
	}
	m := check(t, call(t, http.MethodGet, "/v2/validation/job", bad), false)
	c := m["mysql_task_validation_report"].([]any)[0].(map[string]any)["connection_validation"].(map[string]any)
	if c["validated"] != false || !strings.Contains(c["error"].(string), "Access denied") {
		t.Errorf("wrong password: connection_validation = %v", c)
	}
	if strings.Contains(mustJSON(t, m), "wrong-password") {
		t.Error("the report holds the password")
	}

	// Rules are matched against the source's tables.
	rules := map[string]any{
		"job_name": "v4",
		"src_task": map[string]any{"mysql_connection_config": conn(pair.Source), "replicate_do_db": []any{
			map[string]any{"table_schema": "api_valid", "tables": []any{
				map[string]any{"table_name": "t", "where": "nope > 1"},
				map[string]any{"table_name": "missing"},
			}},
			map[string]any{"table_schema_regex": "^no_such_schema"},
		}},
		"dest_task": map[string]any{"mysql_connection_config": conn(pair.Dest)},
	}
	m = mustOK(t, call(t, http.MethodGet, "/v2/validation/job", rules))
	warning, _ := m["job_validation_warning"].(string)
	for _, want := range []string{"replicate_do_db[0].tables[1]: no table on the source matches",
		"replicate_do_db[1]: no schema on the source matches"} {
		if !strings.Contains(warning, want) {
			t.Errorf("job_validation_warning lacks %q: %s", want, warning)
		}
	}
	if e, _ := m["job_validation_error"].(string); !strings.Contains(e, `replicate_do_db[0].tables[0].where on api_valid.t: `) ||
		!strings.Contains(e, `unknown column "nope"`) {
		t.Errorf("job_validation_error: %q", e)
	}
	// A rule that does not parse fails job creation, naming the rule.
	rules["src_task"].(map[string]any)["replicate_do_db"] = []any{map[string]any{"table_schema": "api_valid",
		"tables": []any{map[string]any{"table_name": "t", "where": "id >"}}}}
	r := call(t, http.MethodPost, "/v2/job/migration", rules)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "src_task.replicate_do_db[0].tables[0].where") {
		t.Errorf("create with a bad where: %d %s", r.Status, r.Body)
	}

	incomplete := map[string]any{"job_name": "v3", "src_task": map[string]any{}, "dest_task": map[string]any{}}
	m = mustOK(t, call(t, http.MethodGet, "/v2/validation/job", incomplete))
	if m["driver_config_validated"] != false || !strings.Contains(m["job_validation_error"].(string), "mysql_connection_config") {
		t.Errorf("incomplete config: %v", m)
	}
}

// TestNodesSchemasLogLevel covers the node and server routes.
func TestNodesSchemasLogLevel(t *testing.T) {
	startAgent(t)
	m := mustOK(t, call(t, http.MethodGet, "/v2/nodes", nil))
	nodes := m["nodes"].([]any)
	if len(nodes) != 1 {
		t.Fatalf("nodes: %v", nodes)
	}
	n := nodes[0].(map[string]any)
	if n["node_name"] != "dtle-dev" || n["node_status"] != "ready" || n["node_id"] == "" || n["datacenter"] == "" {
		t.Errorf("node: %v", n)
	}
	for _, k := range []string{"node_address", "node_status_description"} {
		if _, ok := n[k]; !ok {
			t.Errorf("node lacks %s", k)
		}
	}

	prepare(t, "api_schemas", "CREATE TABLE api_schemas.a (id INT PRIMARY KEY)", "CREATE TABLE api_schemas.b (id INT PRIMARY KEY)",
		"CREATE VIEW api_schemas.v AS SELECT id FROM api_schemas.a")
	q := url.Values{"mysql_host": {pair.Source.Host}, "mysql_port": {itoa(pair.Source.Port)}, "mysql_user": {jobUser}, "mysql_password": {jobPassword}}
	m = mustOK(t, call(t, http.MethodGet, "/v2/mysql/schemas?"+q.Encode(), nil))
	var found map[string]any
	for _, s := range m["schemas"].([]any) {
		s := s.(map[string]any)
		switch s["schema_name"] {
		case "api_schemas":
			found = s
		case "mysql", "information_schema", "performance_schema", "sys":
			t.Errorf("system schema %v listed", s["schema_name"])
		}
	}
	if found == nil {
		t.Fatalf("api_schemas not listed: %v", m)
	}
	for _, key := range []string{"tables", "Tables"} {
		tables := found[key].([]any)
		if len(tables) != 2 || tables[0].(map[string]any)["table_name"] != "a" || tables[1].(map[string]any)["table_name"] != "b" {
			t.Errorf("%s: %v, want a and b (no views)", key, tables)
		}
	}
	q.Set("mysql_password", "nope")
	if r := call(t, http.MethodGet, "/v2/mysql/schemas?"+q.Encode(), nil); r.Status != http.StatusBadRequest || strings.Contains(string(r.Body), "nope") {
		t.Errorf("wrong password: %d %s", r.Status, r.Body)
	}

	reloads := strings.Count(agent.LogTail(100000), "Reloading configuration")
	m = mustOK(t, call(t, http.MethodPost, "/v2/log/level", url.Values{"dtle_log_level": {"debug"}}))
	if m["dtle_log_level"] != "DEBUG" {
		t.Errorf("log level reply: %v", m)
	}
	// As the seed's procedure expects (3.x sent SIGHUP), the Nomad agent
	// reloads its own log_level from its file too.
	eventually(t, 10*time.Second, "the Nomad agent reloads its configuration", func() string {
		if strings.Count(agent.LogTail(100000), "Reloading configuration") <= reloads {
			return "no reload in the agent's log"
		}
		return ""
	})
	mustOK(t, call(t, http.MethodPost, "/v2/log/level", map[string]string{"dtle_log_level": "INFO"}))
}

// TestBadInputs: every bad request gets a 4xx naming what is wrong, and the
// server keeps serving.
func TestBadInputs(t *testing.T) {
	startAgent(t)
	valid := strings.TrimSpace(seedMySQLJob)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		want               string
	}{
		{"malformed JSON", "POST", "/v2/job/migration", `{"job_name": "x",`, 400, "malformed JSON"},
		{"empty body", "POST", "/v2/job/migration", "", 400, "JSON body"},
		{"wrong type names the field", "POST", "/v2/job/migration", strings.Replace(valid, `"mysql_port": 3307`, `"mysql_port": "3307"`, 1), 400, "src_task.mysql_connection_config.mysql_port"},
		{"wrong type beside an unknown field", "POST", "/v2/job/migration", strings.Replace(valid, `"failover": true`, `"failovr": true, "failover": "yes"`, 1), 400, "failover: must be true or false"},
		{"missing job_name", "POST", "/v2/job/migration", strings.Replace(valid, `"job_name": "job1",`, ``, 1), 400, "job_name: required"},
		{"missing src_task", "POST", "/v2/job/sync", `{"job_name": "x", "dest_task": {}}`, 400, "src_task: required"},
		{"missing host", "POST", "/v2/job/migration", strings.Replace(valid, `"mysql_host": "10.186.63.28", `, ``, 1), 400, "mysql_host: required"},
		{"kafka destination on a migration job", "POST", "/v2/job/migration", seedKafkaJob, 400, "kafka_broker_addrs"},
		{"failover=false without node_id", "POST", "/v2/job/migration", strings.Replace(valid, `"failover": true`, `"failover": false`, 1), 400, "node_id"},
		{"malformed node_id", "POST", "/v2/job/migration", strings.Replace(valid, `"task_name": "src"`, `"task_name": "src", "node_id": "no-such-node"`, 1), 400, "no-such-node"},
		{"unknown node_id", "POST", "/v2/job/migration", strings.Replace(valid, `"task_name": "src"`, `"task_name": "src", "node_id": "0b0e5b9e-0000-4000-8000-000000000000"`, 1), 400, "no such Nomad node"},
		{"wrong task name", "POST", "/v2/job/migration", strings.Replace(valid, `"task_name": "src"`, `"task_name": "sink"`, 1), 400, "src_task.task_name"},
		{"bad encrypted password", "POST", "/v2/job/migration", strings.Replace(valid, `"is_mysql_password_encrypted": false`, `"is_mysql_password_encrypted": true`, 1), 400, "mysql_password"},
		{"unknown job type", "POST", "/v2/job/replication", valid, 404, "migration, sync or subscription"},
		{"pause without job_id", "POST", "/v2/job/pause", url.Values{}, 400, "job_id: required"},
		{"pause unknown job", "POST", "/v2/job/pause", url.Values{"job_id": {"nope-migration"}}, 404, "nope-migration"},
		{"resume unknown job", "POST", "/v2/job/resume", url.Values{"job_id": {"nope-migration"}}, 404, "nope-migration"},
		{"delete unknown job", "POST", "/v2/job/delete", url.Values{"job_id": {"nope-migration"}}, 404, "nope-migration"},
		{"detail unknown job", "GET", "/v2/job/sync/detail?job_id=nope-sync", nil, 404, "nope-sync"},
		{"detail without job_id", "GET", "/v2/job/sync/detail", nil, 400, "job_id"},
		{"bad filter", "GET", "/v2/jobs?filter_job_type=copy", nil, 400, "filter_job_type"},
		{"monitor without allocation", "GET", "/v2/monitor/task?task_name=src", nil, 400, "allocation_id"},
		{"monitor unknown allocation", "GET", "/v2/monitor/task?allocation_id=00000000-0000-0000-0000-000000000000&task_name=src", nil, 404, "allocation"},
		{"schemas without host", "GET", "/v2/mysql/schemas?mysql_port=1&mysql_user=u", nil, 400, "mysql_host"},
		{"schemas without password", "GET", "/v2/mysql/schemas?mysql_host=h&mysql_port=1&mysql_user=u", nil, 400, "mysql_password: required"},
		{"schemas bad port", "GET", "/v2/mysql/schemas?mysql_host=h&mysql_port=x&mysql_user=u", nil, 400, "mysql_port"},
		{"schemas bad encrypted password", "GET", "/v2/mysql/schemas?mysql_host=h&mysql_port=1&mysql_user=u&mysql_password=abc&is_mysql_password_encrypted=true", nil, 400, "mysql_password"},
		{"bad log level", "POST", "/v2/log/level", url.Values{"dtle_log_level": {"LOUD"}}, 400, "dtle_log_level"},
		{"validation without config", "GET", "/v2/validation/job", nil, 400, "job_config"},
		{"no such route", "GET", "/v2/nope", nil, 404, "no such route"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, c.method, c.path, c.body)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			m := r.object(t)
			msg, _ := m["message"].(string)
			if !strings.Contains(msg, c.want) || m["error_code"] == "" || m["error_code"] == nil {
				t.Errorf("reply %s, want a message with %q and an error_code", r.Body, c.want)
			}
		})
	}
	if r := callWith(t, http.MethodGet, "/v2/jobs", nil, ""); r.Status != http.StatusUnauthorized {
		t.Errorf("no token: %d %s", r.Status, r.Body)
	}
	if r := callWith(t, http.MethodGet, "/v2/jobs", nil, "wrong"); r.Status != http.StatusUnauthorized {
		t.Errorf("wrong token: %d %s", r.Status, r.Body)
	}
	if r := callWith(t, http.MethodGet, "/v2/health", nil, ""); r.Status != http.StatusOK {
		t.Errorf("health without token: %d %s", r.Status, r.Body)
	}
	mustOK(t, call(t, http.MethodGet, "/v2/jobs", nil))
}

// TestSwaggerPage renders the swagger UI in headless Chromium and finds
// operations of both API generations, 3.x and 4.x, on the page.
func TestSwaggerPage(t *testing.T) {
	startAgent(t)
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium: %v (make test installs Debian's chromium)", err)
	}
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--virtual-time-budget=20000", "--dump-dom", apiURL+"/swagger/index.html")
	cmd.Env = append(os.Environ(), "HOME="+profile)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	if !strings.Contains(dom, "dtle API") {
		t.Errorf("the rendered swagger page lacks its title")
	}
	// Swagger UI renders each operation's path with data-path: a route
	// must be an operation on the page, not a word of a description.
	for _, c := range []struct {
		generation string
		routes     []string
	}{
		{"3.x", []string{"/v2/job/{type}", "/v2/job/pause", "/v2/job/resume", "/v2/job/delete", "/v2/jobs",
			"/v2/job/{type}/detail", "/v2/validation/job", "/v2/monitor/task", "/v2/nodes", "/v2/mysql/schemas", "/v2/log/level"}},
		{"4.x", []string{"/v2/jobs/sync", "/v2/job/sync/create", "/v2/job/sync/update", "/v2/job/sync/detail",
			"/v2/job/sync/reverse", "/v2/job/sync/reverse_start", "/v2/job/position", "/v2/job/diagnosis",
			"/v2/database/schemas", "/v2/login", "/v2/loginWithoutVerifyCode", "/v2/login/captcha",
			"/v2/user/list", "/v2/user/current_user", "/v2/role/list", "/v2/tenant/list"}},
	} {
		for _, want := range c.routes {
			if !strings.Contains(dom, `data-path="`+want+`"`) {
				t.Errorf("the rendered swagger page lacks the %s operation %s", c.generation, want)
			}
		}
	}
	if !strings.Contains(dom, "opblock") {
		t.Errorf("swagger UI did not render its operations:\n%.2000s", dom)
	}
}
