package api

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	nomad "github.com/hashicorp/nomad/api"
)

// exampleV4 is a 4.x sync body as the UI sends it.
func exampleV4() string {
	return `{"job_id":"orders","failover":true,"retry":2,"task_step_name":"all",
"src_task":{"task_name":"src","connection_config":{"database_type":"MariaDB","host":"s","port":3307,"user":"u","password":"pw"},
 "replicate_do_db":[{"table_schema":"db1","tables":[{"table_name":"t1","column_map_from":["a"]}]}],"sql_filter":["NoDDL","nodmldelete"],
 "mysql_src_task_config":{"gtid":"","binlog_relay":true},"oracle_src_task_config":{"scn":0}},
"dest_task":{"task_name":"dest","connection_config":{"host":"d","port":3308,"user":"u","password":"pw"},
 "mysql_dest_task_config":{"parallel_workers":4,"bulk_insert1":100}}}`
}

func TestConvertV4(t *testing.T) {
	var p CreateOrUpdateMysqlToMysqlJobParamV2
	if _, err := decodeJSON([]byte(exampleV4()), &p); err != nil {
		t.Fatal(err)
	}
	j, err := p.jobConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := j.normalize(JobTypeSync); err != nil {
		t.Fatal(err)
	}
	if j.JobID != "orders-sync" || j.JobName != "orders" || j.DestTask.ParallelWorkers != 4 {
		t.Errorf("job config: %+v", j)
	}
	if got := j.SrcTask.ReplicateDoDb[0].IgnoreEvent; !reflect.DeepEqual(got, []string{"all ddl", "delete"}) {
		t.Errorf("sql_filter as ignore_event: %v", got)
	}
	p.filled(j)
	if p.JobID != "orders-sync" || p.SrcTask.ChunkSize != 2000 || p.SrcTask.GroupTimeout != 100 ||
		p.SrcTask.ConnectionConfig.Password != "*" || p.DestTask.ConnectionConfig.Password != "*" ||
		p.DestTask.DatabaseType != dbTypeMySQL || p.SrcTask.ConnectionConfig.DatabaseType != dbTypeMariaDB {
		t.Errorf("filled body: %+v %+v", p.SrcTask, p.DestTask)
	}
	if tc := p.SrcTask.ReplicateDoDb[0].Tables[0]; tc.ColumnMapTo == nil || p.SrcTask.ReplicateIgnoreDb == nil {
		t.Error("filled body has null lists")
	}
	// The plain password stays in the job config only.
	if j.SrcTask.MysqlConnectionConfig.MysqlPassword != "pw" {
		t.Error("the job config lost the password")
	}
}

func TestConvertV4Refusals(t *testing.T) {
	cases := []struct {
		name, from, to, want string
	}{
		{"an unknown sql_filter", `"NoDDL"`, `"NoSuch"`, "sql_filter[0]: unknown filter"},
		{"a column-level alter filter", `"NoDDL"`, `"NoDDLAlterTableAddColumn"`, "not supported"},
		{"an Oracle source", `"scn":0`, `"scn":42`, "Oracle sources are not supported"},
		{"an Oracle connection", `"database_type":"MariaDB"`, `"database_type":"Oracle"`, "src_task.connection_config.database_type \"Oracle\": not supported"},
		{"a two-way sync gtid", `"binlog_relay":true`, `"two_way_sync_gtid":"0-1-5"`, "two_way_sync_gtid: not supported"},
		{"wait_on_job", `"binlog_relay":true`, `"wait_on_job":"j-sync"`, "wait_on_job: not supported"},
		{"set_gtid_next", `"bulk_insert1":100`, `"set_gtid_next":true`, "set_gtid_next: not supported"},
		{"a negative retry", `"retry":2`, `"retry":-2`, "retry: must not be negative"},
		{"no job_id", `"job_id":"orders"`, `"job_id":""`, "job_id: required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := strings.Replace(exampleV4(), c.from, c.to, 1)
			var p CreateOrUpdateMysqlToMysqlJobParamV2
			if _, err := decodeJSON([]byte(body), &p); err != nil {
				t.Fatal(err)
			}
			_, err := p.jobConfig()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want %q", err, c.want)
			}
		})
	}
}

// TestRenameV4: the shared path's messages name the 4.x fields.
// two_way_sync turns on the source's skip_dtle_applied for any dtle job.
func TestConvertV4TwoWaySync(t *testing.T) {
	body := strings.Replace(exampleV4(), `"binlog_relay":true`, `"two_way_sync":true`, 1)
	var p CreateOrUpdateMysqlToMysqlJobParamV2
	if _, err := decodeJSON([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	j, err := p.jobConfig()
	if err != nil {
		t.Fatal(err)
	}
	if src, _ := j.tasks(); !src.SkipDtleApplied || src.SkipDtleAppliedBy != "" {
		t.Errorf("two_way_sync: skip_dtle_applied %v by %q, want true by any job", src.SkipDtleApplied, src.SkipDtleAppliedBy)
	}
}

func TestRenameV4(t *testing.T) {
	j := &JobConfig{JobID: "x", SrcTask: &SrcTaskConfig{MysqlConnectionConfig: &MysqlConnectionConfig{MysqlPort: 1}}, DestTask: &DestTaskConfig{}}
	err := renameV4(badRequest("%w", j.normalize(JobTypeSync)))
	for _, want := range []string{"src_task.connection_config.host: required", "dest_task.connection_config: required (host, port, user, password)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %q", err, want)
		}
	}
	var e *Error
	if !errors.As(err, &e) || e.Status != 400 || strings.Contains(err.Error(), "mysql_") {
		t.Errorf("renamed error: %#v", err)
	}
}

func TestJobSteps(t *testing.T) {
	cases := []struct {
		name     string
		fullCopy bool
		stage    string
		dump     DumpProgress
		want     string
	}{
		{"not started", true, "", DumpProgress{}, "job_stage_full start 0, job_stage_incr start 0"},
		{"copying, as far as the rows say", true, stageFull, DumpProgress{ExecRowCount: 25, TotalRowCount: 100}, "job_stage_full running 25, job_stage_incr start 0"},
		{"copied: the binlog runs", true, stageIncr, DumpProgress{}, "job_stage_full finish 100, job_stage_incr running 100"},
		{"from a gtid: no full copy", false, stageIncr, DumpProgress{}, "job_stage_incr running 100"},
	}
	for _, c := range cases {
		var got []string
		for _, s := range jobSteps(c.fullCopy, "t0", c.stage, c.dump) {
			got = append(got, fmt.Sprintf("%s %s %g", s.StepName, s.StepStatus, s.StepSchedule))
		}
		if g := strings.Join(got, ", "); g != c.want {
			t.Errorf("%s: %s, want %s", c.name, g, c.want)
		}
	}
}

func TestAddrMatches(t *testing.T) {
	addrs := []string{"10.0.0.1:3306", "[::1]:3307"}
	cases := []struct {
		host, port string
		want       bool
	}{
		{"", "", true}, {"10.0.0.1", "", true}, {"", "3307", true}, {"::1", "3307", true},
		{"10.0.0.1", "3307", false}, {"10.0.0.2", "", false},
	}
	for _, c := range cases {
		if got := addrMatches(addrs, c.host, c.port); got != c.want {
			t.Errorf("addrMatches(%q, %q) = %v", c.host, c.port, got)
		}
	}
}

// TestUIViewOf: the detail shows the stored 4.x body, masked, and a job
// without one in the 4.x shape of its config.
func TestUIViewOf(t *testing.T) {
	cfg := &JobConfig{Failover: ptr(true), SrcTask: &SrcTaskConfig{TaskName: "src", ChunkSize: 7,
		MysqlConnectionConfig: &MysqlConnectionConfig{MysqlHost: "s", MysqlPort: 1, MysqlPassword: "*"}},
		DestTask: &DestTaskConfig{TaskName: "dest", ParallelWorkers: 3, MysqlConnectionConfig: &MysqlConnectionConfig{MysqlHost: "d", MysqlPort: 2}}}
	job := &nomad.Job{Meta: map[string]string{}}
	v := uiViewOf(job, cfg)
	if v.src.ChunkSize != 7 || v.src.GroupTimeout != 100 || v.dest.MysqlDestTaskConfig.ParallelWorkers != 3 || v.dataSource("dest") != "d:2" {
		t.Errorf("from the config: %+v %+v", v.src, v.dest)
	}
	job.Meta[metaUIConfig] = `{"src_task":{"chunk_size":9,"sql_filter":["NoDDL"],"connection_config":{"host":"s","port":1,"password":"leak"}},` +
		`"dest_task":{"connection_config":{"host":"d","port":2,"password":"leak"}}}`
	v = uiViewOf(job, cfg)
	if v.src.ChunkSize != 9 || v.src.SQLFilter[0] != "NoDDL" || v.src.ConnectionConfig.Password != "*" || v.dest.ConnectionConfig.Password != "*" {
		t.Errorf("from the stored body: %+v %+v", v.src, v.dest)
	}
}

// FuzzJobParamV4: no 4.x body, however odd, panics the conversion or the
// reply.
func FuzzJobParamV4(f *testing.F) {
	f.Add([]byte(exampleV4()))
	f.Add([]byte(`{"job_id":"a","src_task":{"replicate_do_db":[null,{"tables":[null]}],"sql_filter":["nodml"]},"dest_task":{}}`))
	f.Add([]byte(`{"job_id":"a","src_task":{"connection_config":null,"mysql_src_task_config":null},"dest_task":{"connection_config":{}}}`))
	f.Add([]byte(`{"job_id":"a","src_task":{},"dest_task":{"kafka_broker_addrs":["k"],"kafka_topic":"t"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p CreateOrUpdateMysqlToMysqlJobParamV2
		if _, err := decodeJSON(data, &p); err == nil {
			if j, err := p.jobConfig(); err == nil && j.normalize(JobTypeSync) == nil {
				p.filled(j)
			}
		}
		var k CreateOrUpdateMysqlToKafkaJobParamV2
		if _, err := decodeJSON(data, &k); err == nil {
			if j, err := k.jobConfig(); err == nil && j.normalize(JobTypeSubscription) == nil {
				k.filled(j)
			}
		}
	})
}
