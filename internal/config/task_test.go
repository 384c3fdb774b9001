package config

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDefaults(t *testing.T) {
	task := &Task{ConnectionConfig: &MySQLConnection{Host: "h", User: "u"}}
	task.Defaults()
	if task.ChunkSize != 2000 || task.GroupMaxSize != 1 || task.ReplChanBufferSize != 32 || task.ParallelWorkers != 1 {
		t.Fatalf("contract defaults not applied: %+v", task)
	}
	if task.ConnectionConfig.Port != 3306 || task.ConnectionConfig.CharacterSet != "utf8mb4" {
		t.Fatalf("connection defaults not applied: %+v", task.ConnectionConfig)
	}
	if task.MessageGroupMaxSize != 0 {
		t.Fatalf("kafka defaults applied to a MySQL task: %+v", task)
	}
	kafka := &Task{KafkaBrokerAddrs: []string{"k:9092"}, KafkaTopic: "t"}
	kafka.Defaults()
	if kafka.MessageGroupMaxSize != 1 || kafka.MessageGroupTimeout != 100 {
		t.Fatalf("kafka defaults not applied: %+v", kafka)
	}
}

func TestValidate(t *testing.T) {
	conn := &MySQLConnection{Host: "db", Port: 3306, User: "u"}
	cases := []struct {
		name    string
		role    string
		task    Task
		wantErr []string // substrings; none means valid
	}{
		{"valid source", RoleSource, Task{ConnectionConfig: conn}, nil},
		{"valid kafka dest needs no mysql", RoleDest, Task{KafkaBrokerAddrs: []string{"k:1"}, KafkaTopic: "t"}, nil},
		{"unknown role names the fix", "worker", Task{ConnectionConfig: conn}, []string{`must be named "src"`}},
		{"missing connection", RoleSource, Task{}, []string{"mysql_connection_config: required"}},
		{"every connection field is named", RoleDest, Task{ConnectionConfig: &MySQLConnection{Port: 70000}},
			[]string{"mysql_host: required", "mysql_port: must be 1-65535", "mysql_user: required"}},
		{"negative chunk size", RoleSource, Task{ConnectionConfig: conn, ChunkSize: -1}, []string{"chunk_size"}},
		{"kafka without topic", RoleDest, Task{KafkaBrokerAddrs: []string{"k:1"}}, []string{"kafka_topic: required"}},
		{"latin1 connection", RoleSource, Task{ConnectionConfig: &MySQLConnection{Host: "db", Port: 3306, User: "u", CharacterSet: "latin1"}}, nil},
		{"gbk connection breaks escaping", RoleDest, Task{ConnectionConfig: &MySQLConnection{Host: "db", Port: 3306, User: "u", CharacterSet: "GBK"}},
			[]string{"mysql_character_set", "use utf8mb4", "backslash"}},
		{"sjis connection", RoleSource, Task{ConnectionConfig: &MySQLConnection{Host: "db", Port: 3306, User: "u", CharacterSet: "sjis"}},
			[]string{"mysql_character_set"}},
		{"unknown connection charset", RoleSource, Task{ConnectionConfig: &MySQLConnection{Host: "db", Port: 3306, User: "u", CharacterSet: "utf8mb4'&x=1"}},
			[]string{"mysql_character_set"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.task.Validate(tc.role)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got nil", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// FuzzTask: any task config, as a job file or API request would give it,
// is validated without panicking, with defaults that are themselves valid
// options.
func FuzzTask(f *testing.F) {
	f.Add([]byte(`{"mysql_connection_config":{"mysql_host":"h","mysql_user":"u"},"chunk_size":-1}`))
	f.Add([]byte(`{"kafka_broker_addrs":["k:9092"],"replicate_do_db":[null,{"tables":[null,{}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var task Task
		if json.Unmarshal(data, &task) != nil {
			return
		}
		task.Defaults()
		_ = task.Validate(RoleSource)
		_ = task.Validate(RoleDest)
		if task.ChunkSize == 0 || task.GroupMaxSize == 0 {
			t.Fatal("defaults left a zero")
		}
	})
}
