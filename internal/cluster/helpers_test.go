package cluster

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/devagent"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/rowdiff"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// The cluster and its two MariaDB servers are shared by the package's
// tests, which run one at a time. The servers are always throwaway ones,
// not those of DTLE_TEST_SOURCE/DEST: the tests restart them.
var (
	cl            *Cluster
	source, dest  *sandbox.Server
	srcDB, destDB *sql.DB
	errStartup    error
)

const (
	jobUser = "cluster_user"
	// jobPassword is the source's, destPassword the destination's: neither
	// may show in the job as Nomad holds it.
	jobPassword  = "cluster-Secret-Pw-0815"
	destPassword = "cluster-Dest-Pw-4711"
)

func TestMain(m *testing.M) {
	code := 1
	func() {
		dir, err := os.MkdirTemp("", "dtle-e2e-agent-cluster-")
		if err != nil {
			errStartup = err
			return
		}
		defer func() { _ = os.RemoveAll(dir) }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		opt := sandbox.Options{User: jobUser, Password: jobPassword}
		opt.Name = "source"
		if source, err = sandbox.Start(ctx, dir, opt); err != nil {
			errStartup = err
			return
		}
		defer source.Stop()
		opt.Name, opt.Password = "dest", destPassword
		if dest, err = sandbox.Start(ctx, dir, opt); err != nil {
			errStartup = err
			return
		}
		defer dest.Stop()
		// TLS and authentication on everywhere: every test runs as a
		// deployment across machines should.
		if cl, err = Start(ctx, dir+"/nomad", 2, Options{Secure: true}); err != nil {
			errStartup = err
			return
		}
		defer cl.Stop()
		code = m.Run()
	}()
	if errStartup != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the test cluster did not start: %v\n", errStartup)
	}
	os.Exit(code)
}

func dbs(t *testing.T) (src, dst *sql.DB) {
	t.Helper()
	if srcDB == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var err error
		// Not sandboxtest.OpenDB: these pools live with the package, not a test.
		if srcDB, err = mysqlconn.Open(ctx, source.RootConnection()); err != nil {
			t.Fatal(err)
		}
		if destDB, err = mysqlconn.Open(ctx, dest.RootConnection()); err != nil {
			t.Fatal(err)
		}
	}
	return srcDB, destDB
}

// seed creates schema on the source with a keyed table of rows rows and a
// table without a key, and drops it on the destination.
func seed(t *testing.T, schema string, rows int) {
	t.Helper()
	src, dst := dbs(t)
	sandboxtest.Exec(t, dst, []string{"DROP DATABASE IF EXISTS " + schema})
	sandboxtest.Exec(t, src, []string{"DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema,
		"CREATE TABLE " + schema + ".t (id INT PRIMARY KEY, v VARCHAR(40), n INT)",
		"CREATE TABLE " + schema + ".nokey (a INT, b VARCHAR(10))"})
	for start := 0; start < rows; start += 1000 {
		var b strings.Builder
		b.WriteString("INSERT INTO " + schema + ".t VALUES ")
		for id := start; id < min(start+1000, rows); id++ {
			if id > start {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "(%d, 'seed %d', %d)", id, id, id%97)
		}
		sandboxtest.Exec(t, src, []string{b.String(),
			fmt.Sprintf("INSERT INTO %s.nokey VALUES (%d, 'x'), (%d, 'x')", schema, start, start)})
	}
}

// writer changes schema on the source until stopped: inserts, updates,
// deletes and duplicate rows in the keyless table. Statements that fail
// (the source restarting) are skipped; the comparison reads what the
// source holds.
type writer struct {
	stop chan struct{}
	done chan int
}

func startWriter(schema string, seeded int) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan int, 1)}
	src := srcDB
	go func() {
		ok := 0
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				w.done <- ok
				return
			default:
			}
			for _, q := range []string{
				fmt.Sprintf("INSERT INTO %s.t VALUES (%d, 'live %d', %d)", schema, 10_000_000+i, i, i),
				fmt.Sprintf("UPDATE %s.t SET n = n + 1, v = 'upd' WHERE id = %d", schema, i*7%max(seeded, 1)),
				fmt.Sprintf("DELETE FROM %s.t WHERE id = %d", schema, i*13%max(seeded, 1)),
				fmt.Sprintf("INSERT INTO %s.nokey VALUES (%d, 'live')", schema, i%10),
			} {
				if _, err := src.ExecContext(context.Background(), q); err == nil {
					ok++
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return w
}

// halt stops the writer and returns how many statements it ran.
func (w *writer) halt() int {
	close(w.stop)
	return <-w.done
}

// compare waits until the destination's schema equals the source's, row by
// row, and counts lost and duplicated rows as of the last comparison.
func compare(t *testing.T, schema string, timeout time.Duration) rowdiff.Counts {
	t.Helper()
	src, dst := dbs(t)
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		last = rowdiff.Schema(ctx, src, dst, schema)
		if last == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	var n rowdiff.Counts
	for _, table := range []string{"t", "nokey"} {
		c, err := rowdiff.Count(ctx, src, dst, schema, table)
		if err != nil {
			t.Fatal(err)
		}
		n.Compared += c.Compared
		n.Lost += c.Lost
		n.Duplicated += c.Duplicated
	}
	if last != nil {
		t.Errorf("%s differs after %s (%d rows compared, %d lost, %d duplicated): %v",
			schema, timeout, n.Compared, n.Lost, n.Duplicated, last)
	}
	return n
}

// createJob creates a migration job through node 1's HTTP API.
func createJob(t *testing.T, name, schema string, failover bool, srcNode, destNode *Node) string {
	t.Helper()
	return createJobFrom(t, source, name, schema, failover, srcNode, destNode)
}

// createJobFrom creates a migration job from the given source server.
func createJobFrom(t *testing.T, source *sandbox.Server, name, schema string, failover bool, srcNode, destNode *Node) string {
	t.Helper()
	// Both plugins up (after an earlier test's kill), so that the tasks
	// can land on their nodes.
	waitHealthy(t)
	conn := func(s *sandbox.Server) *api.MysqlConnectionConfig {
		pw := jobPassword
		if s == dest {
			pw = destPassword
		}
		return &api.MysqlConnectionConfig{MysqlHost: s.Host, MysqlPort: s.Port, MysqlUser: jobUser, MysqlPassword: pw}
	}
	job := api.JobConfig{JobName: name, Failover: &failover,
		SrcTask: &api.SrcTaskConfig{MysqlConnectionConfig: conn(source), ChunkSize: 200,
			ReplicateDoDb: []*api.ReplicateDB{{TableSchema: schema}}},
		DestTask: &api.DestTaskConfig{MysqlConnectionConfig: conn(dest)}}
	if srcNode != nil {
		job.SrcTask.NodeID = srcNode.ID
	}
	if destNode != nil {
		job.DestTask.NodeID = destNode.ID
	}
	var out api.CreateJobResponse
	callAPI(t, http.MethodPost, "/v2/job/migration", job, &out)
	t.Cleanup(func() { deleteJob(t, out.Job.JobID) })
	checkNoPasswords(t, out.Job.JobID)
	return out.Job.JobID
}

// checkNoPasswords fails the test when the job as Nomad holds it (what
// `nomad job inspect` shows) holds the source's or the destination's
// password in clear.
func checkNoPasswords(t *testing.T, jobID string) {
	t.Helper()
	job, _, err := cl.Server.Client().Jobs().Info(jobID, nil)
	if err != nil {
		t.Fatalf("read job %s from Nomad: %v", jobID, err)
	}
	b, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{jobPassword, destPassword} {
		if bytes.Contains(b, []byte(pw)) {
			t.Errorf("the job %s as Nomad holds it shows a MySQL password in clear", jobID)
		}
	}
	if !bytes.Contains(b, []byte("mysql_password_sealed")) {
		t.Errorf("the job %s holds no sealed password: %s", jobID, b)
	}
}

func deleteJob(t *testing.T, jobID string) {
	t.Helper()
	// The API lives on node 1, which a test may have left down.
	_, _, err := cl.Server.Client().Jobs().Deregister(jobID, true, nil)
	if err != nil {
		t.Logf("delete job %s: %v", jobID, err)
	}
}

func callAPI(t *testing.T, method, path string, in, out any) {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, cl.Nodes[0].APIURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	// Over HTTPS, trusting the cluster's CA, with the API token.
	resp, err := cl.Nodes[0].HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
}

// placed is where a task runs.
type placed struct {
	alloc *nomad.AllocationListStub
	state *nomad.TaskState
	node  *Node
}

// waitTask polls the job's allocations until one's task satisfies cond.
func waitTask(t *testing.T, jobID, task string, timeout time.Duration, cond func(placed) bool) placed {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var seen []string
	for {
		allocs, _, err := cl.Server.Client().Jobs().Allocations(jobID, true, nil)
		seen = seen[:0]
		if err == nil {
			for _, a := range allocs {
				st, ok := a.TaskStates[task]
				if !ok {
					continue
				}
				p := placed{alloc: a, state: st, node: cl.NodeByID(a.NodeID)}
				seen = append(seen, describe(p))
				if cond(p) {
					return p
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s of %s: condition not met within %s; allocations:\n%s\nevaluations:\n%s", task, jobID, timeout,
				strings.Join(seen, "\n"), evaluations(jobID))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// evaluations describes the job's evaluations, newest first.
func evaluations(jobID string) string {
	evals, _, err := cl.Server.Client().Jobs().Evaluations(jobID, nil)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, e := range evals {
		fmt.Fprintf(&b, "  eval %.8s: %s %s %s blocked=%.8s failed=%v\n", e.ID, e.TriggeredBy, e.Status,
			e.StatusDescription, e.BlockedEval, e.FailedTGAllocs != nil)
	}
	return b.String()
}

func describe(p placed) string {
	var b strings.Builder
	name := "?"
	if p.node != nil {
		name = p.node.Name
	}
	fmt.Fprintf(&b, "alloc %.8s on %s: client=%s desired=%s task=%s failed=%v restarts=%d", p.alloc.ID, name,
		p.alloc.ClientStatus, p.alloc.DesiredStatus, p.state.State, p.state.Failed, p.state.Restarts)
	for _, e := range p.state.Events {
		fmt.Fprintf(&b, "\n    %s: %s %s", e.Type, e.DisplayMessage, e.DriverError)
	}
	return b.String()
}

// startJob seeds schema with rows rows and runs a migration job of it with
// src pinned (failover=false) or preferred (true) on node 1 and dest on
// node 2, then waits until it replicates.
func startJob(t *testing.T, name, schema string, failover bool, rows int) string {
	t.Helper()
	seed(t, schema, rows)
	job := createJob(t, name, schema, failover, cl.Nodes[0], cl.Nodes[1])
	waitReplicating(t, job)
	return job
}

// settle stops the writer, waits for the destination to catch up and
// compares it with the source row by row.
func settle(t *testing.T, w *writer, schema, what string) {
	t.Helper()
	ran := w.halt()
	n := compare(t, schema, time.Minute)
	t.Logf("%s: writer ran %d statements; compared %d rows: %d lost, %d duplicated", what, ran, n.Compared, n.Lost, n.Duplicated)
}

// waitReplicating waits until the job's src runs on node 1 and its dest
// runs on node 2 in the binlog stage.
func waitReplicating(t *testing.T, job string) (src, dest placed) {
	t.Helper()
	src = waitTask(t, job, "src", 2*time.Minute, runningOn(cl.Nodes[0]))
	dest = waitTask(t, job, "dest", 2*time.Minute, inStage(cl.Nodes[1], "job_stage_incr"))
	return src, dest
}

// waitRecovered waits until the tasks on the nodes whose plugins were
// killed at since run again: a src that checked its server anew (the
// driver's event when it starts or recovers a task), a dest in the binlog
// stage anew; the state from before the kill does not count. Then both
// replicate.
func waitRecovered(t *testing.T, job string, since time.Time, victims ...*Node) {
	t.Helper()
	for _, v := range victims {
		switch v {
		case cl.Nodes[0]:
			waitTask(t, job, "src", 2*time.Minute, func(p placed) bool {
				return runningOn(v)(p) && devagent.HasEventSince(p.state, "checks passed", since)
			})
		case cl.Nodes[1]:
			waitTask(t, job, "dest", 2*time.Minute, func(p placed) bool {
				return inStage(v, "job_stage_incr")(p) && devagent.HasEventSince(p.state, "job_stage_incr", since)
			})
		default:
			t.Fatalf("waitRecovered: node %s runs neither task of the job", v.Name)
		}
	}
	waitReplicating(t, job)
}

// runningOn is a condition: the task runs on node (any node when nil).
func runningOn(node *Node) func(placed) bool {
	return func(p placed) bool {
		return p.alloc.ClientStatus == "running" && p.state.State == "running" &&
			(node == nil || p.node == node)
	}
}

// inStage is a condition: the task runs on node and has reached stage.
func inStage(node *Node, stage string) func(placed) bool {
	return func(p placed) bool { return runningOn(node)(p) && devagent.HasEvent(p.state, stage) }
}
