package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/devagent"
)

// Position control through the API of a subscription job, whose position
// is in its Kafka offsets topic: refused while it runs; paused, moved back
// by GTID set (the transactions after it are emitted again), forward by
// binlog file and position (the one passed is never emitted), and one
// transaction skipped (its events never come, the next one's do), listed;
// a replacement with SQL, and a skip that would pass another, refused. Every check reads the records the topics
// hold.
func TestKafkaPositionControlThroughTheAPI(t *testing.T) {
	const schema = "e2e_kpos"
	src, _ := prepare(t, schema, "CREATE TABLE e2e_kpos.t (id INT PRIMARY KEY, v VARCHAR(40))", "INSERT INTO e2e_kpos.t VALUES (1, 'seed')")
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	a := startAgent(t)
	job := syncJob("kpos", schema)
	job["dest_task"] = map[string]any{"kafka_broker_addrs": brokers, "kafka_topic": "e2ek"}
	status, m := apiCall(t, a, http.MethodPost, "/v2/job/subscription", job)
	if status != http.StatusOK {
		t.Fatalf("create: %d %v", status, m)
	}
	jobID := "kpos-subscription"
	t.Cleanup(func() { apiCall(t, a, http.MethodPost, "/v2/job/delete", map[string]any{"job_id": jobID}) })
	call := func(route string, body map[string]any) (int, map[string]any) {
		body["job_id"] = jobID
		return apiCall(t, a, http.MethodPost, route, body)
	}

	waitTask(t, a, jobID, "dest", 2*time.Minute, func(st *nomad.TaskState) bool { return devagent.HasEvent(st, "job_stage_incr") })
	before := executedGTIDs(t, src)
	g1 := sourceTxn(t, src, "INSERT INTO e2e_kpos.t VALUES (10, 'one')")
	g2 := sourceTxn(t, src, "UPDATE e2e_kpos.t SET v = 'two' WHERE id = 10")
	waitGTIDEvents(t, brokers, schema, g2, 1)
	if status, m := call("/v2/job/checkpoint", map[string]any{"gtid_set": before}); status != http.StatusConflict ||
		!strings.Contains(fmt.Sprint(m["message"]), "POST /v2/job/pause") {
		t.Fatalf("a move while the job runs: %d %v, want 409 saying to pause it", status, m)
	}
	pauseJob(t, a, jobID)

	// Back, before g1: both are emitted again, with the source's rows.
	status, m = call("/v2/job/checkpoint", map[string]any{"gtid_set": before})
	if status != http.StatusOK || m["gtid_set"] != before {
		t.Fatalf("move back: %d %v", status, m)
	}
	t.Logf("moved back: %v", m)
	resumeJob(t, a, jobID)
	evs := waitGTIDEvents(t, brokers, schema, g2, 2)
	if got := evs[g1]; len(got) != 2 || got[0] != got[1] || got[0] != `c:10="one"` {
		t.Errorf("the events of %s after the move back: %v, want c:10=\"one\" twice", g1, got)
	}
	if got := evs[g2]; len(got) != 2 || got[0] != `u:10="two"` {
		t.Errorf("the events of %s after the move back: %v, want u:10=\"two\" twice", g2, got)
	}

	// Forward by file and position, past g3, made while the job is paused.
	pauseJob(t, a, jobID)
	g3 := sourceTxn(t, src, "INSERT INTO e2e_kpos.t VALUES (30, 'passed')")
	file, pos := masterStatus(t, src)
	g4 := sourceTxn(t, src, "INSERT INTO e2e_kpos.t VALUES (40, 'skipped')")
	status, m = call("/v2/job/checkpoint", map[string]any{"binlog_file": file, "binlog_pos": pos})
	if status != http.StatusOK || m["from_gtid_set"] != g2 || m["gtid_set"] != g3 {
		t.Fatalf("move forward: %d %v, want from %s to %s", status, m, g2, g3)
	}

	// Skip g4, made while the job is paused; g5 after it is emitted. sql
	// cannot replace a transaction in Kafka, and on MariaDB only the next
	// transaction of the position's domain can be skipped alone.
	g5 := sourceTxn(t, src, "INSERT INTO e2e_kpos.t VALUES (50, 'next')")
	if status, m := call("/v2/job/skip", map[string]any{"gtid": g4, "sql": []string{"DELETE FROM e2e_kpos.t WHERE id = 1"}}); status != http.StatusBadRequest ||
		!strings.Contains(fmt.Sprint(m["message"]), "runs no SQL") {
		t.Fatalf("a replacement on a Kafka job: %d %v, want 400", status, m)
	}
	if status, m := call("/v2/job/skip", map[string]any{"gtid": g5}); status != http.StatusBadRequest ||
		!strings.Contains(fmt.Sprint(m["message"]), "the job is at "+g3) {
		t.Fatalf("a skip of %s with the job at %s: %d %v, want 400 saying where it is", g5, g3, status, m)
	}
	status, m = call("/v2/job/skip", map[string]any{"gtid": g4})
	if req, _ := m["request"].(map[string]any); status != http.StatusOK || req["state"] != "done" || req["gtid"] != g4 {
		t.Fatalf("skip: %d %v", status, m)
	}
	status, m = apiCall(t, a, http.MethodGet, "/v2/job/skip?job_id="+jobID, nil)
	if reqs, _ := m["requests"].([]any); status != http.StatusOK || len(reqs) != 1 || reqs[0].(map[string]any)["gtid"] != g4 {
		t.Fatalf("list: %d %v", status, m)
	}
	resumeJob(t, a, jobID)
	evs = waitGTIDEvents(t, brokers, schema, g5, 1)
	if got := evs[g5]; len(got) != 1 || got[0] != `c:50="next"` {
		t.Errorf("transaction %s after the skipped one: events %v, want c:50=\"next\" once", g5, got)
	}
	for _, g := range []string{g3, g4} {
		if len(evs[g]) != 0 {
			t.Errorf("transaction %s, moved past or skipped, was emitted: %v", g, evs[g])
		}
	}
	if log := a.LogTail(400); !strings.Contains(log, "job checkpoint moved") || !strings.Contains(log, "transaction skipped") {
		t.Errorf("the plugin log does not record the moves and the skip")
	}
}

// waitGTIDEvents reads the row events of schema from the topics (committed
// only) until the transaction gtid has n of them, and returns each
// transaction's events as "op:id=v".
func waitGTIDEvents(t *testing.T, brokers []string, schema, gtid string, n int) map[string][]string {
	t.Helper()
	var by map[string][]string
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		by = gtidEvents(t, brokers, "e2ek."+schema+".t")
		if len(by[gtid]) >= n {
			return by
		}
	}
	var states []string
	if allocs, _, err := agent.Client().Jobs().Allocations("kpos-subscription", false, nil); err == nil {
		for _, al := range allocs {
			states = append(states, al.ID+": "+describe(al.TaskStates["dest"]))
		}
	}
	t.Fatalf("transaction %s: %d events in 2 minutes, want %d; have %v\ndest tasks: %s", gtid, len(by[gtid]), n, by, strings.Join(states, "\n"))
	return nil
}

// gtidEvents reads topic from its start, committed records only.
func gtidEvents(t *testing.T, brokers []string, topic string) map[string][]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out := map[string][]string{}
	for idle := 0; idle < 2; {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		got := 0
		fs.EachRecord(func(r *kgo.Record) {
			got++
			var e struct {
				Payload struct {
					Op     string                     `json:"op"`
					After  map[string]json.RawMessage `json:"after"`
					Source struct {
						GTID string `json:"gtid"`
					} `json:"source"`
				} `json:"payload"`
			}
			if r.Value == nil || json.Unmarshal(r.Value, &e) != nil || e.Payload.Source.GTID == "" {
				return
			}
			p := e.Payload
			out[p.Source.GTID] = append(out[p.Source.GTID], p.Op+":"+string(p.After["id"])+"="+string(p.After["v"]))
		})
		if got == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	return out
}
