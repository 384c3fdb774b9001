package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/dtle-io/dtle/internal/config"
)

// The 4.x UI's job and data-source routes, driven with requests built from
// the contract's models; every 200 reply is held to the contract's model.

// conn4 is a 4.x connection_config for the job's account on server c.
func conn4(c *config.MySQLConnection) map[string]any {
	return map[string]any{"database_type": "MariaDB", "host": c.Host, "port": c.Port, "user": jobUser,
		"password": jobPassword, "service_name": ""}
}

// doRule4 is a 4.x replicate_do_db entry, from the contract's model.
func doRule4(t *testing.T, schema string) map[string]any {
	return contractSample(t, "models.DataSourceConfig", map[string]any{"table_schema": schema})
}

// mysqlJob4 is a 4.x migration or sync body for a job of schema from the
// source to the destination of the test pair, every field of the model
// present; set overrides more.
func mysqlJob4(t *testing.T, jobID, schema string, set map[string]any) map[string]any {
	t.Helper()
	fields := map[string]any{"job_id": jobID, "failover": true, "src_task.replicate_do_db": []any{doRule4(t, schema)}}
	for task, c := range map[string]map[string]any{"src_task": conn4(pair.Source), "dest_task": conn4(pair.Dest)} {
		for k, v := range c {
			fields[task+".connection_config."+k] = v
		}
	}
	for k, v := range set {
		// A value for a path replaces what the defaults set below it.
		for f := range fields {
			if strings.HasPrefix(f, k+".") {
				delete(fields, f)
			}
		}
		fields[k] = v
	}
	return contractSample(t, "models.CreateOrUpdateMysqlToMysqlJobParamV2", fields)
}

// okContract fails unless r is a 200 "ok" fitting the contract's model of
// method path (nullable: fields that may be null), and returns it decoded.
func okContract(t *testing.T, r reply, method, path string, nullable ...string) map[string]any {
	t.Helper()
	m := mustOK(t, r)
	checkReplyNullable(t, method, path, r.Body, nullable...)
	return m
}

// refusedV4 fails unless r is the status with {message, error_code} and
// the message holds want.
func refusedV4(t *testing.T, r reply, status int, want string) {
	t.Helper()
	m := map[string]any{}
	if r.Status == status {
		m = r.object(t)
	}
	msg, _ := m["message"].(string)
	code, _ := m["error_code"].(string)
	if r.Status != status || code == "" || !strings.Contains(msg, want) {
		t.Errorf("status %d %s, want %d with {message (holding %q), error_code}", r.Status, r.Body, status, want)
	}
}

// path4 is a route with its query.
func path4(route string, q url.Values) string { return route + "?" + q.Encode() }

// TestUIDataSourceRoutes: /v2/database/{schemas,columns,instance_connection}
// and their /v2/mysql aliases, for MySQL and MariaDB; any other database is
// refused as not supported.
func TestUIDataSourceRoutes(t *testing.T) {
	startAgent(t)
	prepare(t, "api_ui_ds", "CREATE TABLE api_ui_ds.t (id INT PRIMARY KEY, name VARCHAR(20), at DATETIME)")
	db := url.Values{"database_type": {"MySQL"}, "host": {pair.Source.Host}, "port": {itoa(pair.Source.Port)},
		"user": {jobUser}, "password": {jobPassword}, "service_name": {""}, "character_set": {"utf8mb4"}, "is_password_encrypted": {"false"}}
	my := url.Values{"mysql_host": {pair.Source.Host}, "mysql_port": {itoa(pair.Source.Port)}, "mysql_user": {jobUser},
		"mysql_password": {jobPassword}, "mysql_character_set": {"utf8mb4"}, "is_mysql_password_encrypted": {"false"}}
	with := func(q url.Values, kv ...string) url.Values {
		out := url.Values{}
		for k, v := range q {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, c := range []struct{ name, route, contract string }{
		{"schemas", path4("/v2/database/schemas", db), "/v2/database/schemas"},
		{"schemas of a MariaDB, any case", path4("/v2/database/schemas", with(db, "database_type", "mariadb")), "/v2/database/schemas"},
		{"schemas, 3.x names", path4("/v2/mysql/schemas", my), "/v2/mysql/schemas"},
	} {
		m := okContract(t, call(t, http.MethodGet, c.route, nil), http.MethodGet, c.contract)
		if !strings.Contains(mustJSON(t, m["schemas"]), `"schema_name":"api_ui_ds","tables":[{"table_name":"t"}]`) {
			t.Errorf("%s: api_ui_ds.t not listed: %v", c.name, m["schemas"])
		}
	}
	for _, c := range []struct{ name, route, contract string }{
		{"columns", path4("/v2/database/columns", with(db, "schema", "api_ui_ds", "table", "t")), "/v2/database/columns"},
		{"columns, 3.x names", path4("/v2/mysql/columns", with(my, "mysql_schema", "api_ui_ds", "mysql_table", "t")), "/v2/mysql/columns"},
	} {
		m := okContract(t, call(t, http.MethodGet, c.route, nil), http.MethodGet, c.contract)
		if got := mustJSON(t, m["columns"]); got != `["id","name","at"]` {
			t.Errorf("%s: columns %s, want id, name, at in order", c.name, got)
		}
	}
	okContract(t, call(t, http.MethodGet, path4("/v2/database/instance_connection", db), nil), http.MethodGet, "/v2/database/instance_connection")
	okContract(t, call(t, http.MethodGet, path4("/v2/mysql/instance_connection", my), nil), http.MethodGet, "/v2/mysql/instance_connection")

	bad := []struct {
		name, path string
		status     int
		want       string
	}{
		{"Oracle is not supported", path4("/v2/database/schemas", with(db, "database_type", "Oracle")), 400, "not supported"},
		{"Oracle is not supported for columns either", path4("/v2/database/columns", with(db, "database_type", "oracle", "schema", "s", "table", "t")), 400, "not supported"},
		{"nor for a connection check", path4("/v2/database/instance_connection", with(db, "database_type", "PostgreSQL")), 400, "not supported"},
		{"database_type is required", path4("/v2/database/schemas", with(db, "database_type", "")), 400, "database_type: required"},
		{"port must be a number", path4("/v2/database/schemas", with(db, "port", "x")), 400, "port: must be a number"},
		{"the password is required, maybe empty", "/v2/database/instance_connection?database_type=MySQL&host=h&port=1&user=u", 400, "password: required"},
		{"a wrong password is the server's refusal", path4("/v2/database/instance_connection", with(db, "password", "wrong")), 400, "Access denied"},
		{"the same through the alias", path4("/v2/mysql/instance_connection", with(my, "mysql_password", "wrong")), 400, "Access denied"},
		{"an encrypted password that is not", path4("/v2/database/schemas", with(db, "is_password_encrypted", "true")), 400, "password"},
		{"no such table", path4("/v2/database/columns", with(db, "schema", "api_ui_ds", "table", "nope")), 404, "no such table"},
		{"the table is required", path4("/v2/mysql/columns", with(my, "mysql_schema", "api_ui_ds")), 400, "mysql_table: required"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) { refusedV4(t, call(t, http.MethodGet, c.path, nil), c.status, c.want) })
	}
}

// TestUINodesCarry4xFields: /v2/nodes answers with the 3.x fields and the
// 4.x ones (as /v2/monitor/task does, checked in TestUIJobRoutesContract).
func TestUINodesCarry4xFields(t *testing.T) {
	startAgent(t)
	m := okContract(t, call(t, http.MethodGet, "/v2/nodes", nil), http.MethodGet, "/v2/nodes")
	n := m["nodes"].([]any)[0].(map[string]any)
	// The dev agent is a server and a client: the leader, and a member.
	if n["leader"] != true || n["member"] != true || n["dtle_version"] == "" || n["nomad_version"] == "" {
		t.Errorf("node's 4.x fields: %v", n)
	}
	for _, k := range []string{"node_address", "node_name", "node_id", "node_status", "node_status_description", "datacenter"} {
		if _, ok := n[k]; !ok {
			t.Errorf("node lacks the 3.x field %s", k)
		}
	}
}

// TestUIJobRoutesContract drives every 4.x job route once with a body
// holding every field of its model: create, list, detail, position,
// monitor, update, pause, resume, delete, for a migration and a
// subscription job (to an in-process Kafka).
func TestUIJobRoutesContract(t *testing.T) {
	startAgent(t)
	const schema = "api_ui_routes"
	name := fmt.Sprintf("uiroutes%d", time.Now().UnixNano()%1e9) // a new id each run: see TestUIFlowSync
	jobID, subID := name+"-migration", name+"-subscription"
	prepare(t, schema, "CREATE TABLE api_ui_routes.t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO api_ui_routes.t VALUES (1,'a')")
	oracle := "src_task.oracle_src_task_config"

	body := mysqlJob4(t, name, schema, nil)
	created := okContract(t, call(t, http.MethodPost, "/v2/job/migration/create", body), http.MethodPost, "/v2/job/migration/create", oracle)
	t.Cleanup(func() { call(t, http.MethodPost, "/v2/job/migration/delete", url.Values{"job_id": {jobID}}) })
	if created["job_id"] != jobID || created["job"].(map[string]any)["job_id"] != jobID {
		t.Fatalf("job_id %v (and under job: %v), want %s", created["job_id"], created["job"], jobID)
	}
	src := created["src_task"].(map[string]any)
	if src["chunk_size"] != 2000.0 || src["connection_config"].(map[string]any)["password"] != "*" ||
		created["dest_task"].(map[string]any)["mysql_dest_task_config"].(map[string]any)["parallel_workers"] != 1.0 {
		t.Errorf("create reply lacks the defaults or shows a password: %v", created)
	}
	refusedV4(t, call(t, http.MethodPost, "/v2/job/migration/create", body), http.StatusConflict, "update")

	list := okContract(t, call(t, http.MethodGet, "/v2/jobs/migration?filter_job_id="+name+"&order_by=job_create_time", nil),
		http.MethodGet, "/v2/jobs/migration")
	if jobs := list["jobs"].([]any); len(jobs) != 1 || jobs[0].(map[string]any)["job_id"] != jobID {
		t.Errorf("list: %v", jobs)
	}

	var d map[string]any
	eventually(t, 2*time.Minute, "the migration job reaches the binlog stage", func() string {
		d = mustOK(t, call(t, http.MethodGet, "/v2/job/migration/detail?job_id="+jobID, nil))
		if b := d["basic_task_profile"].(map[string]any)["job_base_info"].(map[string]any); b["job_stage"] != "job_stage_incr" {
			return fmt.Sprintf("job_stage %v", b["job_stage"])
		}
		return ""
	})
	checkReplyNullable(t, http.MethodGet, "/v2/job/migration/detail", []byte(mustJSON(t, d)),
		"basic_task_profile.configuration.src_config.oracle_src_task_config")
	for _, k := range []string{"job_id", "job_name", "failover", "job_status", "src_task_detail", "dest_task_detail"} {
		if _, ok := d[k]; !ok {
			t.Errorf("detail lacks the 3.x field %s", k)
		}
	}
	okContract(t, call(t, http.MethodGet, "/v2/job/position?job_id="+jobID, nil), http.MethodGet, "/v2/job/position")
	alloc := runningAlloc(d, "dest")
	okContract(t, call(t, http.MethodGet, "/v2/monitor/task?task_name=dest&allocation_id="+alloc, nil), http.MethodGet, "/v2/monitor/task")

	body["src_task"].(map[string]any)["chunk_size"] = 500
	body["src_task"].(map[string]any)["connection_config"].(map[string]any)["password"] = "*"
	body["dest_task"].(map[string]any)["connection_config"].(map[string]any)["password"] = "*"
	body["job_id"] = jobID
	okContract(t, call(t, http.MethodPost, "/v2/job/migration/update", body), http.MethodPost, "/v2/job/migration/update", oracle)
	for _, verb := range []string{"pause", "resume", "delete"} {
		okContract(t, call(t, http.MethodPost, "/v2/job/migration/"+verb, url.Values{"job_id": {jobID}}), http.MethodPost, "/v2/job/migration/"+verb)
	}

	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	sub := contractSample(t, "models.CreateOrUpdateMysqlToKafkaJobParamV2", map[string]any{"job_id": name, "failover": true,
		"src_task.connection_config": conn4(pair.Source), "src_task.replicate_do_db": []any{doRule4(t, schema)},
		"dest_task.kafka_broker_addrs": kc.ListenAddrs(), "dest_task.kafka_topic": "ui_routes"})
	okContract(t, call(t, http.MethodPost, "/v2/job/subscription/create", sub), http.MethodPost, "/v2/job/subscription/create", oracle)
	t.Cleanup(func() { call(t, http.MethodPost, "/v2/job/subscription/delete", url.Values{"job_id": {subID}}) })
	okContract(t, call(t, http.MethodGet, "/v2/jobs/subscription?filter_job_dest_port="+strings.Split(kc.ListenAddrs()[0], ":")[1], nil),
		http.MethodGet, "/v2/jobs/subscription")
	eventually(t, 2*time.Minute, "the subscription job reaches the binlog stage", func() string {
		d = mustOK(t, call(t, http.MethodGet, "/v2/job/subscription/detail?job_id="+subID, nil))
		if b := d["basic_task_profile"].(map[string]any)["job_base_info"].(map[string]any); b["job_stage"] != "job_stage_incr" {
			return fmt.Sprintf("job_stage %v", b["job_stage"])
		}
		return ""
	})
	checkReplyNullable(t, http.MethodGet, "/v2/job/subscription/detail", []byte(mustJSON(t, d)),
		"basic_task_profile.configuration.src_config.oracle_src_task_config",
		"basic_task_profile.configuration.dst_config.mysql_dest_task_config")
	if topic := d["basic_task_profile"].(map[string]any)["job_base_info"].(map[string]any)["subscription_topic"]; topic != "ui_routes" {
		t.Errorf("subscription_topic %v", topic)
	}
	sub["job_id"] = subID
	sub["src_task"].(map[string]any)["connection_config"].(map[string]any)["password"] = "*"
	okContract(t, call(t, http.MethodPost, "/v2/job/subscription/update", sub), http.MethodPost, "/v2/job/subscription/update", oracle)
	for _, verb := range []string{"pause", "resume", "delete"} {
		okContract(t, call(t, http.MethodPost, "/v2/job/subscription/"+verb, url.Values{"job_id": {subID}}), http.MethodPost, "/v2/job/subscription/"+verb)
	}
}

// TestUIJobBadRequests: a bad 4.x job request is a 4xx {message,
// error_code} naming what is wrong, in the 4.x names.
func TestUIJobBadRequests(t *testing.T) {
	startAgent(t)
	job := func(set map[string]any) map[string]any { return mysqlJob4(t, "uibad", "api_ui_bad", set) }
	cases := []struct {
		name, path string
		body       any
		status     int
		want       string
	}{
		{"job_id is required", "/v2/job/sync/create", job(map[string]any{"job_id": ""}), 400, "job_id: required"},
		{"src_task is required", "/v2/job/sync/create", `{"job_id": "x", "dest_task": {}}`, 400, "src_task: required"},
		{"a missing host is named in 4.x terms", "/v2/job/sync/create", job(map[string]any{"src_task.connection_config.host": ""}), 400, "src_task.connection_config.host: required"},
		{"a connection is required", "/v2/job/sync/create", job(map[string]any{"dest_task.connection_config": nil}), 400, "dest_task.connection_config: required"},
		{"a value of the wrong type", "/v2/job/sync/create", job(map[string]any{"retry": "3"}), 400, "retry"},
		{"Oracle sources are not supported", "/v2/job/sync/create", job(map[string]any{"src_task.oracle_src_task_config": map[string]any{"scn": 7}}), 400, "not supported"},
		{"nor Oracle connections", "/v2/job/sync/create", job(map[string]any{"src_task.connection_config.database_type": "Oracle"}), 400, "not supported"},
		{"a two-way sync gtid is not supported", "/v2/job/sync/create", job(map[string]any{"src_task.mysql_src_task_config.two_way_sync_gtid": "0-1-5"}), 400, "two_way_sync_gtid: not supported"},
		{"reverse is not supported here", "/v2/job/sync/create", job(map[string]any{"reverse": true}), 400, "reverse"},
		{"set_gtid_next is not supported", "/v2/job/sync/create", job(map[string]any{"dest_task.mysql_dest_task_config.set_gtid_next": true}), 400, "set_gtid_next"},
		{"an unknown sql_filter", "/v2/job/sync/create", job(map[string]any{"src_task.sql_filter": []any{"NoSuchThing"}}), 400, "sql_filter[0]"},
		{"a negative retry", "/v2/job/sync/create", job(map[string]any{"retry": -1}), 400, "retry"},
		{"failover=false needs node ids", "/v2/job/sync/create", job(map[string]any{"failover": false}), 400, "node_id"},
		{"update of a job that does not exist", "/v2/job/sync/update", job(nil), 404, "no such job"},
		{"a Kafka job needs brokers", "/v2/job/subscription/create", `{"job_id": "x", "src_task": {"connection_config": {"host": "h", "port": 1, "user": "u", "password": ""}}, "dest_task": {"kafka_topic": "t"}}`, 400, "kafka_broker_addrs: required"},
		{"kafka_date_time_zone is not supported", "/v2/job/subscription/create", `{"job_id": "x", "src_task": {"connection_config": {"host": "h", "port": 1, "user": "u", "password": ""}}, "dest_task": {"kafka_broker_addrs": ["k:9092"], "kafka_topic": "t", "kafka_date_time_zone": "+08:00"}}`, 400, "kafka_date_time_zone"},
		{"malformed JSON", "/v2/job/migration/create", `{"job_id": `, 400, "malformed JSON"},
		{"pause without job_id", "/v2/job/sync/pause", url.Values{}, 400, "job_id: required"},
		{"pause of an unknown job", "/v2/job/sync/pause", url.Values{"job_id": {"nope-sync"}}, 404, "nope-sync"},
		{"delete of an unknown job", "/v2/job/subscription/delete", url.Values{"job_id": {"nope-subscription"}}, 404, "nope-subscription"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { refusedV4(t, call(t, http.MethodPost, c.path, c.body), c.status, c.want) })
	}
	gets := []struct {
		name, path string
		status     int
		want       string
	}{
		{"an order the list does not know", "/v2/jobs/sync?order_by=job_id", 400, "order_by"},
		{"a port that is not one", "/v2/jobs/sync?filter_job_src_port=abc", 400, "filter_job_src_port"},
		{"position needs job_id", "/v2/job/position", 400, "job_id: required"},
		{"position of an unknown job", "/v2/job/position?job_id=nope-sync", 404, "nope-sync"},
		{"detail of a type that is not one", "/v2/job/replication/detail?job_id=x", 404, "migration, sync or subscription"},
		{"a list of a type that is not one", "/v2/jobs/replication", 404, "no such route"},
	}
	for _, c := range gets {
		t.Run(c.name, func(t *testing.T) { refusedV4(t, call(t, http.MethodGet, c.path, nil), c.status, c.want) })
	}
}
