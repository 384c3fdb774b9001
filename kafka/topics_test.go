package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// TestJobTopicsLeaveTheDataPrefix: the job's position and definitions are
// not under the data topics' prefix, where a consumer of "<prefix>.*" (a
// sink connector's topics.regex, say) would read them as data. A job whose
// position is still in the topics of earlier versions (<prefix>._dtle.<job>)
// resumes from it, exactly once, and moves it to the new ones.
func TestJobTopicsLeaveTheDataPrefix(t *testing.T) {
	const schema = "sub_topics"
	src := sandboxtest.OpenDB(t, pair.Source)
	sandboxtest.Exec(t, src, []string{"DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema, "USE " + schema,
		"CREATE TABLE t (id INT NOT NULL PRIMARY KEY, n INT)", "INSERT INTO t VALUES (1, 1), (2, 2)"})
	j := newJob(t, schema)
	j.startDest()
	j.startSrc()
	j.waitEvent("job_stage_incr")
	sandboxtest.Exec(t, src, []string{"INSERT INTO " + schema + ".t VALUES (3, 3)"})
	checkSame(t, src, j.brokers, schema)
	stop(t, j.srcTask)
	stop(t, j.dstTask)

	cl, err := kgo.NewClient(kgo.SeedBrokers(j.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	listed, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range listed.Names() {
		if strings.HasPrefix(name, "dtle.") && strings.Contains(name, "_dtle") {
			t.Errorf("topic %s: the job's own topic under the data prefix", name)
		}
	}
	newTopics := []string{"_dtle." + j.id + ".offsets", "_dtle." + j.id + ".schemas"}
	for _, name := range newTopics {
		if !listed.Has(name) {
			t.Fatalf("no topic %s among %v", name, listed.Names())
		}
	}

	// Make the job look like one of an earlier version: its topics under
	// the prefix, the new ones gone.
	for _, name := range newTopics {
		legacy := "dtle._dtle." + strings.TrimPrefix(name, "_dtle.")
		if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, legacy); err != nil {
			t.Fatal(err)
		}
		for _, r := range readTopic(t, j.brokers, name) {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: legacy, Key: r.key, Value: r.value}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := adm.DeleteTopics(ctx, newTopics...); err != nil {
		t.Fatal(err)
	}

	j.startDest()
	j.startSrc()
	sandboxtest.Exec(t, src, []string{"INSERT INTO " + schema + ".t VALUES (4, 4)", "UPDATE " + schema + ".t SET n = 10 WHERE id = 1"})
	checkSame(t, src, j.brokers, schema) // fails on a row copied twice
	stop(t, j.srcTask)
	stop(t, j.dstTask)
	if recs := readTopic(t, j.brokers, newTopics[0]); len(recs) == 0 {
		t.Fatalf("%s is empty: the position did not move", newTopics[0])
	}
}

// readTopic reads a whole topic, committed records only.
func readTopic(t *testing.T, brokers []string, topic string) []record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []record
	for idle := 0; idle < 2; {
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			out = append(out, record{r.Topic, r.Partition, r.Offset, r.Key, r.Value, r.Headers})
		})
		if n == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	return out
}
