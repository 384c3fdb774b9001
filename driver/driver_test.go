package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	goversion "github.com/hashicorp/go-version"
	"github.com/hashicorp/nomad/helper/pluginutils/hclutils"
	"github.com/hashicorp/nomad/helper/testlog"
	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	dtestutil "github.com/hashicorp/nomad/plugins/drivers/testutils"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/preflight"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

var pair *sandbox.Pair

func TestMain(m *testing.M) { sandboxtest.RunTests(m, &pair) }

// newHarness returns a configured driver behind Nomad's gRPC plugin harness.
func newHarness(t *testing.T) (*dtestutil.DriverHarness, *Driver) {
	t.Helper()
	d := New(testlog.HCLogger(t))
	h := dtestutil.NewDriverHarness(t, d)
	port, err := sandbox.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		APIAddr:   "",
		NomadAddr: "127.0.0.1:4646",
		NatsBind:  fmt.Sprintf("127.0.0.1:%d", port),
		NatsToken: "test-token",
		DataDir:   t.TempDir(),
		LogLevel:  "DEBUG",
	}
	var data []byte
	if err := base.MsgPackEncode(&data, &cfg); err != nil {
		t.Fatal(err)
	}
	if err := h.SetConfig(&base.Config{PluginConfig: data}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Kill()
		d.Shutdown()
	})
	return h, d
}

func newTask(t *testing.T, h *dtestutil.DriverHarness, name string, task *config.Task) *drivers.TaskConfig {
	t.Helper()
	cfg := &drivers.TaskConfig{
		ID:      uuid.Generate(),
		AllocID: uuid.Generate(),
		JobID:   "job1-migration",
		JobName: "job1",
		Name:    name,
		Resources: &drivers.Resources{
			NomadResources: &structs.AllocatedTaskResources{
				Cpu:    structs.AllocatedCpuResources{CpuShares: 100},
				Memory: structs.AllocatedMemoryResources{MemoryMB: 64},
			},
			LinuxResources: &drivers.LinuxResources{},
		},
	}
	if err := cfg.EncodeConcreteDriverConfig(task); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.MkAllocDir(cfg, false))
	return cfg
}

func TestTaskConfigFromHCL(t *testing.T) {
	const job = `
config {
  mysql_connection_config {
    mysql_host     = "127.0.0.1"
    mysql_port     = 3307
    mysql_user     = "repl"
    mysql_password = "pw"
  }
  chunk_size = 500
  replicate_do_db {
    table_schema = "db1"
    tables {
      table_name = "tb1"
      where      = "id > 10"
    }
    tables {
      table_regex = "^log_"
    }
  }
  replicate_ignore_db {
    table_schema = "db2"
  }
}`
	var got config.Task
	hclutils.NewConfigParser(taskConfigSpec).ParseHCL(t, job, &got)

	if got.ChunkSize != 500 {
		t.Errorf("chunk_size = %d, want 500", got.ChunkSize)
	}
	// Defaults from the contract come from the spec.
	if got.GroupMaxSize != 1 || got.ReplChanBufferSize != 32 || got.ParallelWorkers != 1 || got.DropTableIfExists {
		t.Errorf("defaults not applied by the spec: %+v", got)
	}
	c := got.ConnectionConfig
	if c == nil || c.Host != "127.0.0.1" || c.Port != 3307 || c.User != "repl" || c.Password != "pw" || c.CharacterSet != "utf8mb4" {
		t.Fatalf("connection = %+v", c)
	}
	if len(got.ReplicateDoDB) != 1 || len(got.ReplicateDoDB[0].Tables) != 2 ||
		got.ReplicateDoDB[0].Tables[0].Where != "id > 10" || got.ReplicateDoDB[0].Tables[1].TableRegex != "^log_" {
		t.Fatalf("replicate_do_db = %+v", got.ReplicateDoDB)
	}
	if len(got.ReplicateIgnoreDB) != 1 || got.ReplicateIgnoreDB[0].TableSchema != "db2" {
		t.Fatalf("replicate_ignore_db = %+v", got.ReplicateIgnoreDB)
	}
}

func TestTaskConfigFromJSONMatchesHCL(t *testing.T) {
	// Jobs submitted through the API reach the driver as JSON.
	const js = `{"Config": {
	  "mysql_connection_config": {"mysql_host": "h", "mysql_port": 3308, "mysql_user": "u", "mysql_password": "p"},
	  "parallel_workers": 4,
	  "replicate_do_db": [{"table_schema": "db1", "tables": [{"table_name": "tb1"}]}]
	}}`
	var got config.Task
	hclutils.NewConfigParser(taskConfigSpec).ParseJson(t, js, &got)
	if got.ParallelWorkers != 4 || got.ChunkSize != 2000 || got.ConnectionConfig.Port != 3308 ||
		got.ReplicateDoDB[0].Tables[0].TableName != "tb1" {
		t.Fatalf("got %+v", got)
	}
}

func TestNodeConfigFromHCL(t *testing.T) {
	var got Config
	hclutils.NewConfigParser(configSpec).ParseHCL(t, `config { nats_bind = "127.0.0.1:9999" }`, &got)
	want := Config{APIAddr: defaultAPIAddr, NomadAddr: defaultNomadAddr, NatsBind: "127.0.0.1:9999",
		DataDir: defaultDataDir, LogLevel: defaultLogLevel}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestSetConfigNamesBadOptions(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"bad addresses and level", Config{APIAddr: "nope", NatsBind: "127.0.0.1:x", LogLevel: "LOUD"},
			[]string{"api_addr", "nats_bind", "log_level"}},
		{"wildcard bind needs advertise", Config{NatsBind: "0.0.0.0:8193"}, []string{"nats_advertise: required"}},
		{"wildcard API needs advertise", Config{APIAddr: "0.0.0.0:8190"}, []string{"api_advertise: required"}},
		{"missing rsa key", Config{RSAPrivateKeyPath: "/nonexistent/key.pem"}, []string{"rsa_private_key_path"}},
		{"weak api_admin_password", Config{APIAdminPassword: "weakpassword"}, []string{"api_admin_password", "three of"}},
		{"NATS open to other machines without authentication", Config{NatsBind: "10.1.2.3:8193"},
			[]string{"nats_bind", "reachable from other machines", "nats_token"}},
		{"NATS on all addresses without authentication", Config{NatsBind: "0.0.0.0:8193", NatsAdvertise: "10.1.2.3:8193"},
			[]string{"nats_bind", "nats_token"}},
		{"half a TLS setup", Config{NatsTLSCert: "/etc/dtle/node.pem"}, []string{"nats_tls_cert and nats_tls_key", "nats_tls_ca"}},
		{"nomad_addr in another scheme", Config{NomadAddr: "ftp://127.0.0.1:4646"}, []string{"nomad_addr", "https://"}},
		{"nomad_addr with a path", Config{NomadAddr: "https://127.0.0.1:4646/v1"}, []string{"nomad_addr", "host:port"}},
		{"unreadable Nomad TLS files and half a client pair", Config{NomadAddr: "https://127.0.0.1:4646", NomadCACert: "/nonexistent/ca.pem",
			NomadClientCert: "/nonexistent/c.pem"}, []string{"nomad_ca_cert", "nomad_client_cert and nomad_client_key"}},
		{"half an API TLS setup", Config{APIAddr: defaultAPIAddr, APITLSKey: "/etc/dtle/api.key"}, []string{"api_tls_cert and api_tls_key"}},
		{"unreadable API TLS files", Config{APIAddr: defaultAPIAddr, APITLSCert: "/nonexistent/c.pem", APITLSKey: "/nonexistent/k.pem"},
			[]string{"api_tls_cert and api_tls_key"}},
		{"unreadable TLS files", Config{NatsTLSCert: "/nonexistent/c.pem", NatsTLSKey: "/nonexistent/k.pem", NatsTLSCA: "/nonexistent/ca.pem"},
			[]string{"nats_tls_cert, nats_tls_key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New(testlog.HCLogger(t))
			defer d.Shutdown()
			tc.cfg.DataDir = t.TempDir()
			var data []byte
			if err := base.MsgPackEncode(&data, &tc.cfg); err != nil {
				t.Fatal(err)
			}
			err := d.SetConfig(&base.Config{PluginConfig: data})
			if err == nil {
				t.Fatal("want error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not name %s", err, w)
				}
			}
			if pw := tc.cfg.APIAdminPassword; pw != "" && strings.Contains(err.Error(), pw) {
				t.Errorf("the error shows api_admin_password: %q", err)
			}
		})
	}
}

func TestFingerprintHealthyWithAttributes(t *testing.T) {
	h, d := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, err := h.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The NATS server starts in the background; poll the fingerprint until healthy.
	for {
		select {
		case fp := <-ch:
			if fp.Health == drivers.HealthStateHealthy {
				if v, _ := fp.Attributes[attrVersion].GetString(); v != Version {
					t.Fatalf("version attribute = %q", v)
				}
				if v, _ := fp.Attributes[attrNatsAdvertise].GetString(); v != d.nodeConfig().NatsBind {
					t.Fatalf("nats attribute = %q", v)
				}
				return
			}
		case <-ctx.Done():
			t.Fatalf("never healthy: %v", d.nats.health())
		}
	}
}

func TestStartStopDestroy(t *testing.T) {
	for _, role := range []string{config.RoleSource, config.RoleDest} {
		t.Run(role, func(t *testing.T) {
			// The harness's alloc-dir cleanup closes its client: one harness per task.
			h, _ := newHarness(t)
			events, err := h.TaskEvents(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			conn := pair.Source
			if role == config.RoleDest {
				conn = pair.Dest
			}
			task := newTask(t, h, role, &config.Task{ConnectionConfig: conn})
			if _, _, err := h.StartTask(task); err != nil {
				t.Fatal(err)
			}
			if err := h.WaitUntilStarted(task.ID, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			waitEvent(t, events, task.ID, "checks passed")
			st, err := h.InspectTask(task.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != drivers.TaskStateRunning || !strings.Contains(st.DriverAttributes["server"], "MariaDB") &&
				!strings.Contains(st.DriverAttributes["server"], "MySQL") {
				t.Fatalf("status = %+v", st)
			}
			if err := h.DestroyTask(task.ID, false); err == nil {
				t.Fatal("destroying a running task without force must fail")
			}
			exit, err := h.WaitTask(context.Background(), task.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.StopTask(task.ID, 10*time.Second, "SIGINT"); err != nil {
				t.Fatal(err)
			}
			select {
			case res := <-exit:
				if !res.Successful() {
					t.Fatalf("exit = %+v", res)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("task did not exit after stop")
			}
			if err := h.DestroyTask(task.ID, false); err != nil {
				t.Fatal(err)
			}
			if _, err := h.InspectTask(task.ID); err == nil {
				t.Fatal("destroyed task still known")
			}
		})
	}
}

func waitEvent(t *testing.T, events <-chan *drivers.TaskEvent, taskID, substr string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.TaskID == taskID && strings.Contains(ev.Message, substr) {
				return
			}
		case <-timeout:
			t.Fatalf("no event %q for task %s", substr, taskID)
		}
	}
}

func TestFailedCheckEndsTaskWithReason(t *testing.T) {
	h, _ := newHarness(t)
	s, err := sandbox.Start(context.Background(), t.TempDir(), sandbox.Options{Name: "nobinlog", NoBinlog: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	task := newTask(t, h, config.RoleSource, &config.Task{ConnectionConfig: s.Connection()})
	_, _, err = h.StartTask(task)
	if err == nil {
		t.Fatal("a source without binlog started")
	}
	if !strings.Contains(err.Error(), "log_bin is OFF") {
		t.Fatalf("reason missing: %v", err)
	}
	var rec interface{ IsRecoverable() bool }
	if errors.As(err, &rec) && rec.IsRecoverable() {
		t.Fatal("a setting only a person can fix must not be retried")
	}
}

func TestUnreachableServerIsRecoverable(t *testing.T) {
	_, d := newHarness(t)
	port, _ := sandbox.FreePort()
	task := &drivers.TaskConfig{ID: uuid.Generate(), AllocID: uuid.Generate(), Name: config.RoleDest}
	if err := task.EncodeConcreteDriverConfig(&config.Task{ConnectionConfig: &config.MySQLConnection{
		Host: "127.0.0.1", Port: port, User: "root", Password: "hidden-pw"}}); err != nil {
		t.Fatal(err)
	}
	_, _, err := d.StartTask(task)
	var se *StartError
	if !errors.As(err, &se) || !se.IsRecoverable() {
		t.Fatalf("want a recoverable StartError, got %v", err)
	}
	if strings.Contains(err.Error(), "hidden-pw") {
		t.Fatal("password in error")
	}
	var ce *preflight.CheckError
	if !errors.As(err, &ce) || ce.Check != "connection" {
		t.Fatalf("want a connection CheckError, got %v", err)
	}
}

func TestBadTaskConfigFailsAtOnce(t *testing.T) {
	h, _ := newHarness(t)
	task := newTask(t, h, "extractor", &config.Task{ConnectionConfig: pair.Source})
	_, _, err := h.StartTask(task)
	if err == nil || !strings.Contains(err.Error(), `must be named "src"`) {
		t.Fatalf("want a task-name error, got %v", err)
	}
}

func TestRecoverAfterPluginRestart(t *testing.T) {
	h, d := newHarness(t)
	task := newTask(t, h, config.RoleSource, &config.Task{ConnectionConfig: pair.Source})
	handle, _, err := h.StartTask(task)
	if err != nil {
		t.Fatal(err)
	}
	// A new plugin process knows nothing of the task until Nomad hands back its handle.
	h2, _ := newHarness(t)
	if _, err := h2.InspectTask(task.ID); err == nil {
		t.Fatal("fresh plugin already knows the task")
	}
	d.Shutdown() // the old plugin process dies, and its tasks with it
	if st, err := h.InspectTask(task.ID); err != nil || st.State != drivers.TaskStateExited {
		t.Fatalf("the old plugin's task still runs: %+v %v", st, err)
	}
	if err := h2.RecoverTask(handle); err != nil {
		t.Fatal(err)
	}
	if err := h2.WaitUntilStarted(task.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	st, err := h2.InspectTask(task.ID)
	if err != nil || st.State != drivers.TaskStateRunning {
		t.Fatalf("recovered task: %+v, %v", st, err)
	}
	// Recovering twice is harmless.
	if err := h2.RecoverTask(handle); err != nil {
		t.Fatal(err)
	}
	if err := h2.StopTask(task.ID, 10*time.Second, ""); err != nil {
		t.Fatal(err)
	}
}

func TestSetLogLevelAtRunTime(t *testing.T) {
	_, d := newHarness(t)
	if err := d.SetLogLevel("TRACE"); err != nil {
		t.Fatal(err)
	}
	if !d.logger.IsTrace() {
		t.Fatal("level not applied")
	}
	if err := d.SetLogLevel("CHATTY"); err == nil {
		t.Fatal("bad level accepted")
	}
}

func TestNomadHCLExampleMatchesSpecDefaults(t *testing.T) {
	b, err := os.ReadFile("../nomad.hcl.example")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, `plugin "dtle" {`)
	if start < 0 {
		t.Fatal(`nomad.hcl.example has no plugin "dtle" block`)
	}
	body := s[start+len(`plugin "dtle" {`):]
	depth, end := 1, -1
	for i, r := range body {
		switch r {
		case '{':
			depth++
		case '}':
			depth--
		}
		if depth == 0 {
			end = i
			break
		}
	}
	if end < 0 {
		t.Fatal("unbalanced plugin block")
	}
	var fromExample, fromDefaults Config
	hclutils.NewConfigParser(configSpec).ParseHCL(t, body[:end], &fromExample)
	hclutils.NewConfigParser(configSpec).ParseHCL(t, "config {}", &fromDefaults)
	if fromExample != fromDefaults {
		t.Fatalf("the example documents values other than the defaults:\nexample  %+v\ndefaults %+v", fromExample, fromDefaults)
	}
	for name := range configSpec.GetObject().GetAttributes() {
		if !strings.Contains(s, name+" =") {
			t.Errorf("nomad.hcl.example does not document %s", name)
		}
	}
}

func TestVersionIsSemver(t *testing.T) {
	// Nomad refuses a plugin whose version does not parse; make build sets it.
	if _, err := goversion.NewVersion(Version); err != nil {
		t.Fatalf("Version %q: %v", Version, err)
	}
}
