package api

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/secret"
)

func exampleConfig() *JobConfig {
	return &JobConfig{
		JobName:  "orders",
		SrcTask:  &SrcTaskConfig{MysqlConnectionConfig: &MysqlConnectionConfig{MysqlHost: "s", MysqlUser: "u", MysqlPassword: "pw"}},
		DestTask: &DestTaskConfig{MysqlConnectionConfig: &MysqlConnectionConfig{MysqlHost: "d", MysqlUser: "u", MysqlPassword: "pw"}},
	}
}

func TestNormalize(t *testing.T) {
	j := exampleConfig()
	if err := j.normalize(JobTypeSync); err != nil {
		t.Fatal(err)
	}
	if j.JobID != "orders-sync" || !*j.Failover || j.SrcTask.TaskName != "src" || j.DestTask.TaskName != "dest" {
		t.Errorf("defaults: %+v", j)
	}
	if j.SrcTask.ChunkSize != 2000 || j.SrcTask.GroupMaxSize != 1 || j.SrcTask.ReplChanBufferSize != 32 ||
		j.DestTask.ParallelWorkers != 1 || j.SrcTask.MysqlConnectionConfig.MysqlPort != 3306 {
		t.Errorf("task defaults: %+v %+v", j.SrcTask, j.DestTask)
	}
	cases := []struct {
		name   string
		change func(*JobConfig)
		want   string
	}{
		{"job_id from job_name with its type", func(j *JobConfig) {}, ""},
		{"negative chunk_size", func(j *JobConfig) { j.SrcTask.ChunkSize = -1 }, "src_task.chunk_size"},
		{"bad port", func(j *JobConfig) { j.DestTask.MysqlConnectionConfig.MysqlPort = 70000 }, "dest_task.mysql_connection_config.mysql_port"},
		{"rule without schema", func(j *JobConfig) { j.SrcTask.ReplicateDoDb = []*ReplicateDB{{}} }, "replicate_do_db[0]"},
		{"where that does not parse", func(j *JobConfig) {
			j.SrcTask.ReplicateDoDb = []*ReplicateDB{{TableSchema: "a", Tables: []*Table{{TableName: "t", Where: "id >"}}}}
		}, "src_task.replicate_do_db[0].tables[0].where"},
		{"bad table regex", func(j *JobConfig) {
			j.SrcTask.ReplicateIgnoreDb = []*ReplicateDB{{TableSchema: "a", Tables: []*Table{{TableRegex: "(x"}}}}
		}, "src_task.replicate_ignore_db[0].tables[0].table_regex"},
		{"unknown event", func(j *JobConfig) {
			j.SrcTask.ReplicateDoDb = []*ReplicateDB{{TableSchema: "a", IgnoreEvent: []string{"drop everything"}}}
		}, `src_task.replicate_do_db[0].ignore_event[0]: unknown event "drop everything"`},
		{"column maps of different lengths", func(j *JobConfig) {
			j.SrcTask.ReplicateDoDb = []*ReplicateDB{{TableSchema: "a", Tables: []*Table{{TableName: "t",
				ColumnMapFrom: []string{"a", "b"}, ColumnMapTo: []string{"c"}}}}}
		}, "src_task.replicate_do_db[0].tables[0].column_map_to"},
		{"pinned without nodes", func(j *JobConfig) { f := false; j.Failover = &f }, "node_id"},
		{"job id with a slash", func(j *JobConfig) { j.JobID = "a/b" }, "job_id"},
	}
	for _, c := range cases {
		j := exampleConfig()
		c.change(j)
		err := j.normalize(JobTypeMigration)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err %v, want one naming %s", c.name, err, c.want)
		}
	}
}

// TestNomadJobRoundTrip: the Nomad job holds the config the detail route
// reads back, whether Nomad got it from the API or from a job file.
func TestNomadJobRoundTrip(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	j := exampleConfig()
	rename := "orders_copy"
	j.SrcTask.ReplicateDoDb = []*ReplicateDB{{TableSchema: "shop", TableSchemaRename: &rename, Tables: []*Table{{TableName: "t1", Where: "id > 1"}}}}
	j.SrcTask.NodeID, j.DestTask.NodeID = "11111111-2222-3333-4444-555555555555", "66666666-2222-3333-4444-555555555555"
	f := false
	j.Failover = &f
	if err := j.normalize(JobTypeMigration); err != nil {
		t.Fatal(err)
	}
	src, dest := j.tasks()
	if err := sealPasswords(key, nil, src, dest); err != nil {
		t.Fatal(err)
	}
	job, err := j.nomadJob(JobTypeMigration, src, dest)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(job)
	if strings.Contains(string(raw), `"pw"`) {
		t.Fatal("the Nomad job holds the password in plaintext although the node has a key")
	}
	cfg := job.TaskGroups[0].Tasks[0].Config
	pw := cfg["mysql_connection_config"].(map[string]any)["mysql_password"].(string)
	if plain, err := secret.Decrypt(key, pw); err != nil || plain != "pw" {
		t.Fatalf("stored password decrypts to %q, %v", plain, err)
	}
	if c := job.TaskGroups[1].Constraints; len(c) != 1 || c[0].RTarget != j.DestTask.NodeID {
		t.Errorf("failover=false: constraints %v", c)
	}
	for _, g := range job.TaskGroups {
		// No deployments (a failed one would place nothing), and a failed
		// task is not placed anew (it would fail the same way).
		if g.Update == nil || *g.Update.MaxParallel != 0 ||
			g.ReschedulePolicy == nil || *g.ReschedulePolicy.Attempts != 0 || *g.ReschedulePolicy.Unlimited {
			t.Errorf("group %s: update %+v, reschedule %+v", *g.Name, g.Update, g.ReschedulePolicy)
		}
	}
	back, err := jobConfigFromNomad(job)
	if err != nil {
		t.Fatal(err)
	}
	if back.SrcTask.NodeID != j.SrcTask.NodeID || *back.Failover || back.SrcTask.MysqlConnectionConfig.MysqlPassword != "*" ||
		*back.SrcTask.ReplicateDoDb[0].TableSchemaRename != "orders_copy" || back.SrcTask.ReplicateDoDb[0].Tables[0].Where != "id > 1" ||
		back.DestTask.ParallelWorkers != 1 || !back.IsMysqlPasswordEncrypted {
		t.Errorf("read back: %s", mustMarshal(back))
	}

	// A job file's blocks come as lists of objects.
	fromFile := map[string]any{
		"mysql_connection_config": []any{map[string]any{"mysql_host": "h", "mysql_port": 3307, "mysql_user": "u", "mysql_password": "p"}},
		"replicate_do_db":         []any{map[string]any{"table_schema": "db1", "tables": []any{map[string]any{"table_name": "t"}}}},
		"chunk_size":              500,
	}
	hcl := &nomad.Job{ID: ptr("f"), Name: ptr("f"), TaskGroups: []*nomad.TaskGroup{{Name: ptr("src"),
		Tasks: []*nomad.Task{{Name: "src", Driver: "dtle", Config: fromFile}}}}}
	back, err = jobConfigFromNomad(hcl)
	if err != nil {
		t.Fatal(err)
	}
	if back.SrcTask.ChunkSize != 500 || back.SrcTask.MysqlConnectionConfig.MysqlPort != 3307 ||
		back.SrcTask.ReplicateDoDb[0].Tables[0].TableName != "t" || back.SrcTask.ReplicateIgnoreDb == nil {
		t.Errorf("job file config read back: %s", mustMarshal(back))
	}
}

func TestPauseResumeMeta(t *testing.T) {
	job := &nomad.Job{TaskGroups: []*nomad.TaskGroup{{Name: ptr("src"), Count: ptr(1)}, {Name: ptr("dest"), Count: ptr(2)}}}
	pause(job)
	pause(job) // twice keeps the first counts
	if *job.TaskGroups[0].Count != 0 || *job.TaskGroups[1].Count != 0 || job.Meta[metaPaused] != "true" {
		t.Fatalf("paused: %+v", job.Meta)
	}
	resume(job)
	if *job.TaskGroups[0].Count != 1 || *job.TaskGroups[1].Count != 2 || len(job.Meta) != 0 {
		t.Fatalf("resumed: counts %d %d meta %v", *job.TaskGroups[0].Count, *job.TaskGroups[1].Count, job.Meta)
	}
}

func TestSealPasswords(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := secret.Encrypt(&key.PublicKey, "pw")
	cases := []struct {
		name      string
		key       *rsa.PrivateKey
		encrypted bool
		password  string
		wantErr   bool
		wantEnc   bool
	}{
		{"no key, plain: stored plain", nil, false, "pw", false, false},
		{"key, plain: stored encrypted", key, false, "pw", false, true},
		{"key, encrypted: kept", key, true, enc, false, true},
		{"no key, encrypted: refused", nil, true, enc, true, false},
		{"key, garbage: refused", key, true, "garbage", true, false},
	}
	for _, c := range cases {
		task := &config.Task{ConnectionConfig: &config.MySQLConnection{Password: c.password}, PasswordEncrypted: c.encrypted}
		err := sealPasswords(c.key, nil, task)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err %v", c.name, err)
			continue
		}
		if err != nil {
			continue
		}
		pw := task.ConnectionConfig.Password
		switch {
		case task.PasswordEncrypted != c.wantEnc:
			t.Errorf("%s: encrypted %v", c.name, task.PasswordEncrypted)
		case c.wantEnc:
			if plain, err := secret.Decrypt(c.key, pw); err != nil || plain != "pw" {
				t.Errorf("%s: stored password decrypts to %q, %v", c.name, plain, err)
			}
			if c.encrypted && pw != enc {
				t.Errorf("%s: an encrypted password was not kept as given", c.name)
			}
		case pw != "pw":
			t.Errorf("%s: stored %q, want the plain password", c.name, pw)
		}
	}
}

// TestDecodeJSON: unknown fields are ignored and named by path; wrong
// types and trailing data are still refused.
func TestDecodeJSON(t *testing.T) {
	cases := []struct {
		name, body string
		ignored    []string
		err        string
	}{
		{"known fields only", `{"job_name":"a","src_task":{"chunk_size":5}}`, nil, ""},
		{"3.x UI fields, nested", `{"binlog_relay":true,"src_task":{"task_step_name":"x","mysql_connection_config":{"retry":1}},` +
			`"dest_task":{"reverse":false}}`,
			[]string{"binlog_relay", "dest_task.reverse", "src_task.mysql_connection_config.retry", "src_task.task_step_name"}, ""},
		{"path through arrays", `{"src_task":{"replicate_do_db":[{"table_schema":"d"},{"tables":[{"table_name":"t","ui":1}]}]}}`,
			[]string{"src_task.replicate_do_db[1].tables[0].ui"}, ""},
		{"a key in another case is the field, as encoding/json has it", `{"Job_Name":"a","SRC_TASK":{"Chunk_Size":5}}`, nil, ""},
		{"unknown field with a value of any shape", `{"x":[{"y":null}],"job_name":"a"}`, []string{"x"}, ""},
		{"wrong type beside an unknown field", `{"retry":1,"src_task":{"chunk_size":"5"}}`, nil, "src_task.chunk_size: must be a number"},
		{"a second value", `{"job_name":"a"} {}`, nil, "only one value"},
		{"a stray brace", `{"job_name":"a"}}`, nil, "only one value"},
	}
	for _, c := range cases {
		var j JobConfig
		ignored, err := decodeJSON([]byte(c.body), &j)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: err %v, want one with %q", c.name, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !reflect.DeepEqual(ignored, c.ignored):
			t.Errorf("%s: ignored %q, want %q", c.name, ignored, c.ignored)
		}
	}
}

// FuzzJobConfig: any body decodes or is refused with an error, never a
// panic. Decoding ignores exactly the fields encoding/json's strict mode
// refuses (names it has no field for) and nothing else: what it accepts
// decodes as a plain json.Unmarshal does, and a value of the wrong type is
// still refused.
func FuzzJobConfig(f *testing.F) {
	f.Add([]byte(`{"job_name":"a","src_task":{"mysql_connection_config":{"mysql_host":"h","mysql_user":"u"}},"dest_task":{}}`))
	f.Add([]byte(`{"job_name":"a","src_task":{"replicate_do_db":[null,{"tables":[null]}]},"dest_task":{"kafka_broker_addrs":["k"]}}`))
	f.Add([]byte(`[]`))
	// What dtle 3.x's UI sends beside the documented fields.
	f.Add([]byte(`{"job_name":"a","binlog_relay":true,"reverse":false,"src_task":{"task_step_name":"x","retry":2,` +
		`"mysql_connection_config":{"mysql_host":"h","mysql_user":"u","Mysql_Port":3306,"extra":1},` +
		`"replicate_do_db":[{"table_schema":"d","tables":[{"table_name":"t","x":[1]}]}]},"dest_task":{"task_name":"dst","y":{}}}`))
	f.Add([]byte(`{"job_name":"a","src_task":{"chunk_size":"big"},"dest_task":{}}`))
	f.Add([]byte(`{"job_name":"a"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var j JobConfig
		ignored, err := decodeJSON(data, &j)
		strict := json.NewDecoder(bytes.NewReader(data))
		strict.DisallowUnknownFields()
		var s JobConfig
		strictErr := strict.Decode(&s)
		if err != nil {
			if strictErr == nil && strict.InputOffset() == int64(len(bytes.TrimRight(data, " \t\r\n"))) {
				t.Fatalf("refused %q, which strict decoding accepts: %v", data, err)
			}
			return
		}
		if (len(ignored) == 0) != (strictErr == nil) {
			t.Fatalf("%q: ignored %q, but strict decoding says %v", data, ignored, strictErr)
		}
		var plain JobConfig
		if err := json.Unmarshal(data, &plain); err != nil || !reflect.DeepEqual(j, plain) {
			t.Fatalf("%q decodes unlike json.Unmarshal (%v)", data, err)
		}
		for _, jt := range []string{JobTypeMigration, JobTypeSubscription} {
			c := j
			if c.normalize(jt) == nil {
				src, dest := c.tasks()
				if _, err := c.nomadJob(jt, src, dest); err != nil {
					t.Fatal(err)
				}
				_ = c.masked()
			}
		}
	})
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Without an RSA key the API seals passwords with the cluster's secret,
// bound to the job, task, server and user: the Nomad job holds no password
// in clear. A sealed password kept by an update ("*") stays as it was.
func TestSealPasswordsWithClusterSecret(t *testing.T) {
	clusterSecret := make([]byte, 32)
	seal := func(b secret.Binding, plain string) (string, error) {
		b.Namespace, b.Job = nomad.DefaultNamespace, "j1"
		return secret.Seal(clusterSecret, b, plain)
	}
	src := &config.Task{ConnectionConfig: &config.MySQLConnection{Host: "db1", User: "u", Password: "pw-src"}}
	dest := &config.Task{ConnectionConfig: &config.MySQLConnection{Host: "db2", Port: 3307, User: "u", Password: "pw-dest"}}
	if err := sealPasswords(nil, seal, src, dest); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		task       *config.Task
		port       int
		role, want string
	}{{src, config.DefaultMySQLPort, config.RoleSource, "pw-src"}, {dest, 3307, config.RoleDest, "pw-dest"}} {
		conn := c.task.ConnectionConfig
		if !c.task.PasswordSealed || c.task.PasswordEncrypted || strings.Contains(conn.Password, c.want) {
			t.Fatalf("task %d: sealed %v, stored %q", i, c.task.PasswordSealed, conn.Password)
		}
		// What the driver opens: the job's namespace and id, the task's
		// name, the server and user with the port's default filled.
		b := secret.Binding{Namespace: nomad.DefaultNamespace, Job: "j1", Task: c.role, Host: conn.Host, Port: c.port, User: conn.User}
		if got, err := secret.Open(clusterSecret, b, conn.Password); err != nil || got != c.want {
			t.Errorf("task %d opens to %q, %v", i, got, err)
		}
	}
	sealed := src.ConnectionConfig.Password
	if err := sealPasswords(nil, seal, src); err != nil || src.ConnectionConfig.Password != sealed {
		t.Errorf("a sealed password was sealed again: %v", err)
	}
}

// The Debezium settings of a subscription job go from the API's body into
// the Kafka task's config and back (the detail route); a bad value is
// refused naming the field.
func TestDebeziumSettingsThroughTheAPI(t *testing.T) {
	body := `{"job_name":"subs","src_task":{"mysql_connection_config":{"mysql_host":"s","mysql_user":"u","mysql_password":"pw"}},
	  "dest_task":{"kafka_broker_addrs":["127.0.0.1:9092"],"kafka_topic":"app","decimal_handling_mode":"string",
	   "time_precision_mode":"connect","binary_handling_mode":"hex","tombstones_on_delete":false,"skipped_operations":"none"}}`
	var j JobConfig
	if _, err := decodeJSON([]byte(body), &j); err != nil {
		t.Fatal(err)
	}
	if err := j.normalize(JobTypeSubscription); err != nil {
		t.Fatal(err)
	}
	src, dest := j.tasks()
	if dest.DecimalHandlingMode != "string" || dest.TimePrecisionMode != "connect" || dest.BinaryHandlingMode != "hex" ||
		dest.TombstonesOnDelete == nil || *dest.TombstonesOnDelete || dest.SkippedOperations != "none" || dest.IncludeSchemaChanges != nil {
		t.Fatalf("dest task: %+v", dest)
	}
	job, err := j.nomadJob(JobTypeSubscription, src, dest)
	if err != nil {
		t.Fatal(err)
	}
	back, err := jobConfigFromNomad(job)
	if err != nil {
		t.Fatal(err)
	}
	if o := back.DestTask.DebeziumOptions; o.DecimalHandlingMode != "string" || o.BinaryHandlingMode != "hex" ||
		o.TombstonesOnDelete == nil || *o.TombstonesOnDelete || o.SkippedOperations != "none" {
		t.Errorf("read back: %+v", o)
	}
	bad := strings.Replace(body, `"decimal_handling_mode":"string"`, `"decimal_handling_mode":"float"`, 1)
	var jb JobConfig
	if _, err := decodeJSON([]byte(bad), &jb); err != nil {
		t.Fatal(err)
	}
	if err := jb.normalize(JobTypeSubscription); err == nil || !strings.Contains(err.Error(), "decimal_handling_mode") {
		t.Errorf("a bad decimal_handling_mode: %v", err)
	}
}
