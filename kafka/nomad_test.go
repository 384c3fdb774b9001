package kafka_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/devagent"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// TestSubscriptionThroughNomadSurvivesKill9 runs a subscription job the way
// users do: created through the HTTP API of a Nomad agent with the plugin,
// writing to a Kafka cluster over the network. The plugin process, and both
// tasks with it, is killed with SIGKILL during the full copy and again in
// the binlog stage while rows keep changing; a read_committed consumer then
// finds every change of the source once, none missing.
func TestSubscriptionThroughNomadSurvivesKill9(t *testing.T) {
	const (
		schema   = "sub_nomad"
		user     = "sub_user"
		password = "sub-Secret-Pw-2718"
	)
	// A third, larger table keeps the copy going for a while: the first
	// kill must land in it (it is copied, and never changed, like the rest).
	seed := append(twoTables(schema), "CREATE TABLE c (id INT NOT NULL PRIMARY KEY, n INT)",
		"INSERT INTO c SELECT x.id * 300 + y.id, 0 FROM a x JOIN a y")
	src, _ := sandboxtest.Prepare(t, pair, user, password, schema, seed...)

	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	agent, apiURL := startAgent(t)

	done := make(chan struct{})
	stopWrites := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stopWrites:
				return
			default:
			}
			if err := changeTwoTables(src, schema, i); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	defer func() {
		select {
		case <-stopWrites:
		default:
			close(stopWrites)
		}
		<-done
	}()

	conn := &api.MysqlConnectionConfig{MysqlHost: pair.Source.Host, MysqlPort: pair.Source.Port,
		MysqlUser: user, MysqlPassword: password}
	job := api.JobConfig{JobName: "subnomad",
		SrcTask: &api.SrcTaskConfig{MysqlConnectionConfig: conn, ChunkSize: 10,
			ReplicateDoDb: []*api.ReplicateDB{{TableSchema: schema}}},
		DestTask: &api.DestTaskConfig{KafkaBrokerAddrs: brokers, KafkaTopic: "dtle"}}
	body, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	var created api.CreateJobResponse
	post(t, apiURL+"/v2/job/subscription", body, &created)
	jobID := created.Job.JobID
	t.Cleanup(func() { _, _, _ = agent.Client().Jobs().Deregister(jobID, true, nil) })

	waitDest(t, agent, jobID, "job_stage_full", time.Time{})
	killed := time.Now()
	if agent.KillPlugins() == 0 {
		t.Fatal("no plugin process to kill during the copy")
	}
	if st := destState(t, agent, jobID); devagent.HasEvent(st, "job_stage_incr") {
		t.Fatal("the copy was over before the first kill")
	}
	waitDest(t, agent, jobID, "job_stage_incr", killed)
	time.Sleep(500 * time.Millisecond)
	killed = time.Now()
	if agent.KillPlugins() == 0 {
		t.Fatal("no plugin process to kill in the binlog stage")
	}
	waitDest(t, agent, jobID, "job_stage_incr", killed) // reached anew, after the kill
	time.Sleep(time.Second)
	close(stopWrites)
	<-done
	checkSame(t, src, brokers, schema) // fails on any event seen twice or missing

	log, err := os.ReadFile(agent.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), password) {
		t.Error("the MySQL password appears in the agent/plugin log")
	}
}

// startAgent starts a Nomad dev agent whose plugin serves the HTTP API.
func startAgent(t *testing.T) (*devagent.Agent, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "dtle-e2e-agent-kafka-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), devagent.ReadyTimeout)
	defer cancel()
	a, err := devagent.Start(ctx, devagent.Options{Dir: dir, NodeName: "dtle-kafka-test", API: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Stop()
		_ = a.Remove()
	})
	return a, a.APIURL
}

func post(t *testing.T, url string, body []byte, out any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body)) //nolint:noctx // a test's one call
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s: %s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("POST %s: %v: %s", url, err, b)
	}
}

// destState is the state of the job's newest dest task.
func destState(t *testing.T, a *devagent.Agent, jobID string) *nomad.TaskState {
	t.Helper()
	allocs, _, err := a.Client().Jobs().Allocations(jobID, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var st *nomad.TaskState
	var newest uint64
	for _, al := range allocs {
		if s, ok := al.TaskStates["dest"]; ok && al.CreateIndex >= newest {
			st, newest = s, al.CreateIndex
		}
	}
	if st == nil {
		t.Fatalf("%s has no dest task", jobID)
	}
	return st
}

// waitDest waits until the job's dest task runs and has reported event at
// or after since.
func waitDest(t *testing.T, a *devagent.Agent, jobID, event string, since time.Time) {
	t.Helper()
	var last *nomad.TaskState
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		allocs, _, err := a.Client().Jobs().Allocations(jobID, false, nil)
		if err != nil {
			continue
		}
		for _, al := range allocs {
			st, ok := al.TaskStates["dest"]
			if !ok {
				continue
			}
			last = st
			if st.State == "running" && devagent.HasEventSince(st, event, since) {
				return
			}
		}
	}
	var events []string
	if last != nil {
		for _, e := range last.Events {
			events = append(events, e.Type+": "+e.DisplayMessage)
		}
	}
	t.Fatalf("the dest of %s did not report %s while running; its events:\n%s\n%s", jobID, event,
		strings.Join(events, "\n"), a.LogTail(30))
}
