package cluster

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// A subscription job with src on node 1 and dest (the Kafka sink) on node
// 2: the src's plugin is killed with SIGKILL, then the dest's, while rows
// keep changing. A read_committed consumer then replays the table's topic:
// every update and delete must start from the value the previous event of
// its key left (no event missing, none twice), and the replay must end
// where the source is.
func TestSubscriptionAcrossNodesSurvivesKill9(t *testing.T) {
	const schema, rows = "cl_sub", 2000
	src, _ := dbs(t)
	sandboxtest.Exec(t, src, []string{"DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema,
		"CREATE TABLE " + schema + ".t (id INT PRIMARY KEY, n INT NOT NULL)",
		"INSERT INTO " + schema + ".t SELECT seq, 0 FROM " + schema + ".seq_1_to_" + fmt.Sprint(rows)})
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	brokers := kc.ListenAddrs()

	n1, n2 := cl.Nodes[0], cl.Nodes[1]
	conn := &api.MysqlConnectionConfig{MysqlHost: source.Host, MysqlPort: source.Port, MysqlUser: jobUser, MysqlPassword: jobPassword}
	failover := false
	var created api.CreateJobResponse
	callAPI(t, http.MethodPost, "/v2/job/subscription", api.JobConfig{JobName: "sub", Failover: &failover,
		SrcTask: &api.SrcTaskConfig{NodeID: n1.ID, MysqlConnectionConfig: conn, ChunkSize: 100,
			ReplicateDoDb: []*api.ReplicateDB{{TableSchema: schema}}},
		DestTask: &api.DestTaskConfig{NodeID: n2.ID, KafkaBrokerAddrs: brokers, KafkaTopic: "dtle"}}, &created)
	job := created.Job.JobID
	t.Cleanup(func() { deleteJob(t, job) })
	checkNoPasswords(t, job)
	waitReplicating(t, job)

	stop, done := make(chan struct{}), make(chan int)
	go func() {
		ok := 0
		defer func() { done <- ok }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for _, q := range []string{
				fmt.Sprintf("UPDATE %s.t SET n = n + 1 WHERE id = %d", schema, 1+i%rows),
				fmt.Sprintf("INSERT INTO %s.t VALUES (%d, %d)", schema, 100000+i, i),
				fmt.Sprintf("DELETE FROM %s.t WHERE id = %d", schema, 100000+i-20),
			} {
				if _, err := src.ExecContext(context.Background(), q); err == nil {
					ok++
				}
			}
			time.Sleep(3 * time.Millisecond)
		}
	}()
	for _, victim := range []*Node{n1, n2} {
		time.Sleep(time.Second)
		killed := time.Now()
		if victim.KillPlugins() == 0 {
			t.Fatalf("no plugin on %s", victim.Name)
		}
		waitRecovered(t, job, killed, victim)
	}
	time.Sleep(time.Second)
	close(stop)
	t.Logf("writer ran %d statements", <-done)

	want, err := sourceState(src, schema+".t")
	if err != nil {
		t.Fatal(err)
	}
	var last string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		got, events, err := replay(brokers, "dtle."+schema+".t")
		if err != nil {
			t.Fatal(err)
		}
		if last = sameState(want, got); last == "" {
			t.Logf("replayed %d events: the topic ends where the source is, %d rows", events, len(want))
			return
		}
	}
	t.Fatalf("the topic does not end where the source is: %s", last)
}

// sourceState reads table's id and n.
func sourceState(db *sql.DB, table string) (map[int]int, error) {
	r, err := db.QueryContext(context.Background(), "SELECT id, n FROM "+table)
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Close() }()
	want := map[int]int{}
	for r.Next() {
		var id, n int
		if err := r.Scan(&id, &n); err != nil {
			return nil, err
		}
		want[id] = n
	}
	return want, r.Err()
}

// replay consumes a table's topic with read_committed and applies its
// Debezium events in order, checking each against the state so far.
func replay(brokers []string, topic string) (map[int]int, int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, 0, err
	}
	defer cl.Close()
	type image struct {
		ID int `json:"id"`
		N  int `json:"n"`
	}
	var ev struct {
		Payload struct {
			Op     string `json:"op"`
			Before *image `json:"before"`
			After  *image `json:"after"`
		} `json:"payload"`
	}
	state := map[int]int{}
	events, idle := 0, 0
	var bad error
	for idle < 3 && bad == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		if fs.NumRecords() == 0 {
			idle++
			continue
		}
		idle = 0
		fs.EachRecord(func(rec *kgo.Record) {
			if rec.Value == nil || bad != nil {
				return // a tombstone
			}
			events++
			ev.Payload.Before, ev.Payload.After = nil, nil
			if err := json.Unmarshal(rec.Value, &ev); err != nil {
				bad = fmt.Errorf("offset %d: %w", rec.Offset, err)
				return
			}
			p := ev.Payload
			switch {
			case (p.Op == "r" || p.Op == "c") && p.After != nil:
				if n, ok := state[p.After.ID]; ok {
					bad = fmt.Errorf("%s of id %d, which exists (n=%d): an event twice", p.Op, p.After.ID, n)
				}
				state[p.After.ID] = p.After.N
			case (p.Op == "u" || p.Op == "d") && p.Before != nil:
				n, ok := state[p.Before.ID]
				if !ok || n != p.Before.N {
					bad = fmt.Errorf("%s of id %d from n=%d, but the events before left n=%d (present %v): an event missing or twice",
						p.Op, p.Before.ID, p.Before.N, n, ok)
				}
				if p.Op == "d" {
					delete(state, p.Before.ID)
				} else if p.After != nil {
					state[p.After.ID] = p.After.N
				}
			default:
				bad = fmt.Errorf("offset %d: unexpected event %s", rec.Offset, rec.Value)
			}
		})
	}
	return state, events, bad
}

func sameState(want, got map[int]int) string {
	for id, n := range want {
		if g, ok := got[id]; !ok || g != n {
			return fmt.Sprintf("id %d: source n=%d, topic n=%d (present %v)", id, n, g, ok)
		}
	}
	for id, n := range got {
		if _, ok := want[id]; !ok {
			return fmt.Sprintf("id %d (n=%d) is in the topic but not on the source", id, n)
		}
	}
	return ""
}
