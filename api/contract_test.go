package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// The contract's example requests, as sent.
const (
	seedMySQLJob = `{
  "is_mysql_password_encrypted": false,
  "failover": true,
  "dest_task": {
    "mysql_connection_config": {"mysql_host": "10.186.63.28", "mysql_password": "test", "mysql_port": 3308, "mysql_user": "test"},
    "task_name": "dest"
  },
  "job_name": "job1",
  "src_task": {
    "mysql_connection_config": {"mysql_host": "10.186.63.28", "mysql_password": "test", "mysql_port": 3307, "mysql_user": "test"},
    "replicate_do_db": [],
    "task_name": "src"
  }
}`
	seedKafkaJob = `{
  "is_mysql_password_encrypted": false,
  "failover": true,
  "dest_task": {"kafka_broker_addrs": ["10.186.63.162:9092"], "kafka_topic": "bss", "task_name": "dest"},
  "job_name": "job1",
  "src_task": {
    "mysql_connection_config": {"mysql_host": "10.186.63.28", "mysql_password": "test", "mysql_port": 3307, "mysql_user": "test"},
    "replicate_do_db": [{"table_schema": "db1", "tables": [{"table_name": "tb1"}]}],
    "task_name": "src"
  }
}`
)

// The contract's replies to them, less the Nomad indexes.
const (
	seedMySQLReply = `{
  "job": {
    "job_name": "job1", "job_id": "job1-%TYPE%", "failover": true, "is_mysql_password_encrypted": false,
    "src_task": {
      "task_name": "src", "gtid": "", "group_max_size": 1, "chunk_size": 2000, "drop_table_if_exists": false,
      "skip_create_db_table": false, "repl_chan_buffer_size": 32, "replicate_do_db": [], "replicate_ignore_db": null,
      "mysql_connection_config": {"mysql_host": "10.186.63.28", "mysql_port": 3307, "mysql_user": "test", "mysql_password": "*"}
    },
    "dest_task": {
      "task_name": "dest", "parallel_workers": 1,
      "mysql_connection_config": {"mysql_host": "10.186.63.28", "mysql_port": 3308, "mysql_user": "test", "mysql_password": "*"}
    }
  },
  "message": "ok"
}`
	seedKafkaReply = `{
  "job": {
    "job_name": "job1", "job_id": "job1-subscription", "failover": true, "is_mysql_password_encrypted": false,
    "src_task": {
      "task_name": "src", "gtid": "", "group_max_size": 1, "chunk_size": 2000, "drop_table_if_exists": false,
      "skip_create_db_table": false, "repl_chan_buffer_size": 32,
      "replicate_do_db": [{"table_schema": "db1", "table_schema_rename": null,
        "tables": [{"table_name": "tb1", "table_rename": "", "column_map_from": null, "where": ""}]}],
      "replicate_ignore_db": null,
      "mysql_connection_config": {"mysql_host": "10.186.63.28", "mysql_port": 3307, "mysql_user": "test", "mysql_password": "*"}
    },
    "dest_task": {
      "task_name": "dest", "kafka_broker_addrs": ["10.186.63.162:9092"], "kafka_topic": "bss",
      "message_group_max_size": 1, "message_group_timeout": 100
    }
  },
  "message": "ok"
}`
)

// TestContractCreateReplies posts the contract's example jobs and expects
// its replies, field for field.
func TestContractCreateReplies(t *testing.T) {
	startAgent(t)
	cases := []struct {
		name, jobType, body, want string
	}{
		{"migration example", "migration", seedMySQLJob, strings.ReplaceAll(seedMySQLReply, "%TYPE%", "migration")},
		{"sync example: same config, its own job type", "sync", seedMySQLJob, strings.ReplaceAll(seedMySQLReply, "%TYPE%", "sync")},
		{"subscription example: Kafka destination", "subscription", seedKafkaJob, seedKafkaReply},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := mustOK(t, call(t, http.MethodPost, "/v2/job/"+c.jobType, c.body))
			t.Cleanup(func() { call(t, http.MethodPost, "/v2/job/delete", url.Values{"job_id": {"job1-" + c.jobType}}) })
			for _, k := range []string{"eval_create_index", "job_modify_index"} {
				if n, ok := got[k].(float64); !ok || n <= 0 {
					t.Errorf("%s = %v, want a Nomad index", k, got[k])
				}
				delete(got, k)
			}
			var want map[string]any
			if err := json.Unmarshal([]byte(c.want), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				t.Errorf("reply differs from the contract:\n got %s\nwant %s", g, c.want)
			}
			list := mustOK(t, call(t, http.MethodGet, "/v2/jobs?filter_job_type="+c.jobType, nil))
			jobs, _ := list["jobs"].([]any)
			if len(jobs) != 1 || jobs[0].(map[string]any)["job_id"] != "job1-"+c.jobType {
				t.Errorf("GET /v2/jobs?filter_job_type=%s = %v, want only job1-%s", c.jobType, jobs, c.jobType)
			}
			for _, k := range []string{"job_id", "job_name", "job_status", "job_status_description"} {
				if _, ok := jobs[0].(map[string]any)[k]; !ok {
					t.Errorf("job list item lacks %s", k)
				}
			}
		})
	}
}

// TestContractJobID: job_id gets "-<type>" unless it has it.
func TestContractJobID(t *testing.T) {
	startAgent(t)
	cases := []struct {
		name, jobID, want string
	}{
		{"given id gets the type", "orders", "orders-sync"},
		{"given id with the type stays", "orders2-sync", "orders2-sync"},
	}
	for _, c := range cases {
		body := strings.Replace(seedMySQLJob, `"job_name": "job1",`, `"job_name": "job1", "job_id": "`+c.jobID+`",`, 1)
		got := mustOK(t, call(t, http.MethodPost, "/v2/job/sync", body))
		id := got["job"].(map[string]any)["job_id"]
		if id != c.want {
			t.Errorf("%s: job_id %v, want %s", c.name, id, c.want)
		}
		mustOK(t, call(t, http.MethodPost, "/v2/job/delete", url.Values{"job_id": {c.want}}))
	}
}
