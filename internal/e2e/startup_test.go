package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/devagent"
	"github.com/dtle-io/dtle/internal/rowdiff"
)

// These tests start an agent of their own and use it the moment it answers,
// as a new user would, without waiting for the dtle driver to be healthy.

// startFresh starts an agent with the API and returns as soon as its
// process runs. natsAddr, when set, is where the plugin's NATS server binds.
func startFresh(t *testing.T, natsAddr string) *devagent.Agent {
	t.Helper()
	dir, err := os.MkdirTemp("", "dtle-e2e-startup-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), devagent.ReadyTimeout)
	defer cancel()
	a, err := devagent.Start(ctx, devagent.Options{Dir: dir, API: true, NatsAddr: natsAddr, NoWait: true,
		NodeName: "dtle-startup"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Stop()
		_ = a.Remove()
	})
	return a
}

// apiCall is authCall without a credential.
func apiCall(t *testing.T, a *devagent.Agent, method, path string, body any) (int, map[string]any) {
	t.Helper()
	return authCall(t, a, "", method, path, body)
}

// waitAPI polls GET /v2/nodes until the API answers it with the agent's
// node: the node has registered, its driver maybe not healthy yet.
func waitAPI(t *testing.T, a *devagent.Agent) {
	t.Helper()
	deadline := time.Now().Add(devagent.ReadyTimeout)
	for time.Now().Before(deadline) {
		if status, m := apiCall(t, a, http.MethodGet, "/v2/nodes", nil); status == http.StatusOK {
			if nodes, _ := m["nodes"].([]any); len(nodes) > 0 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET /v2/nodes: no node listed within %s\n%s", devagent.ReadyTimeout, a.LogTail(30))
}

// syncJob is a sync job's config copying schema between the pair.
func syncJob(name, schema string) map[string]any {
	conn := func(host string, port int) map[string]any {
		return map[string]any{"mysql_host": host, "mysql_port": port, "mysql_user": jobUser, "mysql_password": jobPassword}
	}
	return map[string]any{
		"job_name": name,
		"src_task": map[string]any{"mysql_connection_config": conn(pair.Source.Host, pair.Source.Port),
			"replicate_do_db": []any{map[string]any{"table_schema": schema}}},
		"dest_task": map[string]any{"mysql_connection_config": conn(pair.Dest.Host, pair.Dest.Port)},
	}
}

// checkRefusal fails unless a create reply is the 503 for want of a
// healthy driver, in the API's error shape.
func checkRefusal(t *testing.T, status int, m map[string]any) {
	t.Helper()
	msg, _ := m["message"].(string)
	if status != http.StatusServiceUnavailable || m["error_code"] != "unavailable" || !strings.Contains(msg, "healthy dtle driver") {
		t.Fatalf("want 503 unavailable naming the dtle driver, got %d %v", status, m)
	}
}

// createWhenAccepted posts a job and, while the API refuses it for want of
// a healthy driver, posts it again; it returns how many times it was refused.
func createWhenAccepted(t *testing.T, a *devagent.Agent, path string, job map[string]any) int {
	t.Helper()
	refused := 0
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status, m := apiCall(t, a, http.MethodPost, path, job)
		if status == http.StatusOK {
			return refused
		}
		checkRefusal(t, status, m)
		if refused++; refused == 1 {
			t.Logf("POST %s refused at first, as wanted: %v", path, m["message"])
		}
		if time.Now().After(deadline) {
			t.Fatalf("POST %s: still refused after 2m: %v\n%s", path, m, a.LogTail(30))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitRunsAndCopies waits until the job's tasks run and reach the binlog
// stage, changes the source, and waits until both sides are identical.
func waitRunsAndCopies(t *testing.T, a *devagent.Agent, jobID, schema string, src, dst *sql.DB, change ...string) {
	t.Helper()
	for _, task := range []string{"src", "dest"} {
		waitTask(t, a, jobID, task, 2*time.Minute, func(st *nomad.TaskState) bool { return st.State == "running" })
	}
	waitTask(t, a, jobID, "dest", 2*time.Minute, func(st *nomad.TaskState) bool {
		return devagent.HasEvent(st, "job_stage_incr")
	})
	execAll(t, src, change...)
	deadline := time.Now().Add(time.Minute)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		last = rowdiff.Schema(ctx, src, dst, schema)
		cancel()
		if last == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("source and destination differ: %v\nagent log:\n%s", last, a.LogTail(40))
}

// TestJobCreatedAsTheAgentStartsRuns is the new user's start: the job is
// posted the moment GET /v2/nodes answers, with no wait for the driver's
// health; a 503 is retried. The job runs and the rows land.
func TestJobCreatedAsTheAgentStartsRuns(t *testing.T) {
	const schema = "e2e_startup"
	src, dst := prepare(t, schema,
		"CREATE TABLE e2e_startup.t (id INT PRIMARY KEY, v VARCHAR(40))",
		"INSERT INTO e2e_startup.t VALUES (1, 'before the job'), (2, 'also before')")
	a := startFresh(t, "")
	waitAPI(t, a)
	refused := createWhenAccepted(t, a, "/v2/job/sync", syncJob("startup", schema))
	t.Logf("job accepted after %d refusals", refused)
	waitRunsAndCopies(t, a, "startup-sync", schema, src, dst,
		"INSERT INTO e2e_startup.t VALUES (3, 'from the binlog')", "UPDATE e2e_startup.t SET v = 'changed' WHERE id = 1")
	checkSealedPasswords(t, a, "startup-sync")
}

// checkSealedPasswords: the job the API registered holds no password (what
// `nomad job inspect` shows), and its sealed source password, copied into
// another job, does not open there: that job's task fails and says why.
func checkSealedPasswords(t *testing.T, a *devagent.Agent, jobID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inspect, err := a.Nomad(ctx, "job", "inspect", jobID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(inspect, jobPassword) || !strings.Contains(inspect, `"mysql_password_sealed": true`) {
		t.Fatalf("nomad job inspect shows a password, or no sealed one:\n%s", inspect)
	}
	job, _, err := a.Client().Jobs().Info(jobID, nil)
	if err != nil {
		t.Fatal(err)
	}
	const stolen = "e2e-stolen-password"
	job.ID, job.Name = ptr(stolen), ptr(stolen)
	job.TaskGroups = job.TaskGroups[:1] // the src group, sealed for jobID
	if _, _, err := a.Client().Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = a.Nomad(context.Background(), "job", "stop", "-purge", "-detach", stolen) })
	st := waitTask(t, a, stolen, "src", 2*time.Minute, func(st *nomad.TaskState) bool { return st.State == "dead" && st.Failed })
	if !devagent.HasEvent(st, "mysql_password_sealed") {
		t.Fatalf("the copied sealed password did not fail the task with the reason: %s", describe(st))
	}
}

// TestJobBlockedWhileDriverUnhealthyIsPlaced holds the plugin's NATS port so
// the driver stays unhealthy: the API refuses a job with a 503, and a job
// registered with Nomad directly is blocked. Once the port is free and the
// driver turns healthy, the blocked job must be placed and copy its rows.
func TestJobBlockedWhileDriverUnhealthyIsPlaced(t *testing.T) {
	const schema, jobID = "e2e_blocked", "e2e-blocked-migration"
	src, dst := prepare(t, schema,
		"CREATE TABLE e2e_blocked.t (id INT PRIMARY KEY, v VARCHAR(40))",
		"INSERT INTO e2e_blocked.t VALUES (1, 'waited'), (2, 'for the driver')")
	lc := net.ListenConfig{}
	hold, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hold.Close() }()
	a := startFresh(t, hold.Addr().String())

	waitAPI(t, a)
	waitDriver(t, a, false)
	status, m := apiCall(t, a, http.MethodPost, "/v2/job/sync", syncJob("refused", schema))
	checkRefusal(t, status, m)

	runJob(t, a, jobID, pair.Source.Host, pair.Dest.Host, pair.Source.Port, pair.Dest.Port, "-var", "schema="+schema)
	waitBlocked(t, a, jobID)
	if err := hold.Close(); err != nil {
		t.Fatal(err)
	}
	waitDriver(t, a, true)
	waitRunsAndCopies(t, a, jobID, schema, src, dst, "INSERT INTO e2e_blocked.t VALUES (3, 'after')")
}

// waitDriver waits until the agent's node shows the dtle driver healthy or,
// with !healthy, fingerprinted and unhealthy.
func waitDriver(t *testing.T, a *devagent.Agent, healthy bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	last := "no node yet"
	for time.Now().Before(deadline) {
		nodes, _, err := a.Client().Nodes().List(nil)
		for _, n := range nodes {
			if d := n.Drivers["dtle"]; err == nil && n.Name == a.Name && d != nil {
				if d.Healthy == healthy {
					t.Logf("dtle driver healthy=%v: %s", d.Healthy, d.HealthDescription)
					return
				}
				last = fmt.Sprintf("healthy=%v: %s", d.Healthy, d.HealthDescription)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("dtle driver not healthy=%v within 2m (%s)\n%s", healthy, last, a.LogTail(30))
}

// waitBlocked waits until Nomad has blocked an evaluation of the job.
func waitBlocked(t *testing.T, a *devagent.Agent, jobID string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		evals, _, err := a.Client().Jobs().Evaluations(jobID, nil)
		for _, e := range evals {
			if err == nil && e.Status == nomad.EvalStatusBlocked {
				t.Logf("evaluation %s blocked, as wanted: %s", e.ID, e.StatusDescription)
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no blocked evaluation of %s within 1m\n%s", jobID, a.LogTail(30))
}

func ptr[T any](v T) *T { return &v }
