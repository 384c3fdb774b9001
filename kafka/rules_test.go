package kafka_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// TestSubscriptionAppliesRules: a schema and table rename, a column map
// and a where filter reach Kafka as they reach MySQL: topics and events
// under the new names, only the mapped columns, only the rows the filter
// passes (updates crossing it become deletes with tombstones, or creates).
// The source server's own evaluation of the rules is what a consumer must
// hold.
func TestSubscriptionAppliesRules(t *testing.T) {
	const schema = "sub_rules"
	const where = "status = 'active' AND amount >= 10"
	src := sandboxtest.OpenDB(t, pair.Source)
	sandboxtest.Exec(t, src, []string{"DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema, "USE " + schema,
		"CREATE TABLE people (id INT NOT NULL PRIMARY KEY, name VARCHAR(20), secret VARCHAR(20), age INT)",
		"CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, status VARCHAR(10), amount INT)",
		"CREATE TABLE skipped (id INT NOT NULL PRIMARY KEY)",
		"INSERT INTO people VALUES (1, 'ann', 's', 30), (2, 'bob', 's', NULL)",
		"INSERT INTO orders VALUES (1, 'active', 10), (2, 'active', 5), (3, 'closed', 50), (4, 'ACTIVE', 20)",
		"INSERT INTO skipped VALUES (1)"})
	j := newJob(t, schema)
	j.src.ReplicateDoDB = []*config.ReplicateDB{{TableSchema: schema, TableSchemaRename: "sub_renamed", Tables: []*config.Table{
		{TableName: "people", TableRename: "persons", ColumnMapFrom: []string{"age", "id", "name"},
			ColumnMapTo: []string{"years", "person_id", "full_name"}},
		{TableName: "orders", Where: where},
	}}}
	j.startDest()
	j.startSrc()
	j.waitEvent("job_stage_incr")
	sandboxtest.Exec(t, src, []string{"USE " + schema,
		"INSERT INTO people VALUES (3, 'cy', 'x', 5)", "UPDATE people SET name = 'ann2', secret = 'z' WHERE id = 1",
		"DELETE FROM people WHERE id = 2",
		"UPDATE orders SET amount = 15 WHERE id = 2",       // moves in
		"UPDATE orders SET status = 'closed' WHERE id = 1", // moves out
		"INSERT INTO orders VALUES (5, 'active', 99), (6, 'active', 1)",
		"UPDATE orders SET amount = amount + 1 WHERE id = 4",
		"INSERT INTO skipped VALUES (2)"})

	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		recs := consumeAll(t, j.brokers, "dtle")
		for _, r := range recs {
			if strings.HasPrefix(r.topic, "dtle."+schema+".") || strings.Contains(r.topic, "skipped") {
				t.Fatalf("topic %s: the rules do not send it", r.topic)
			}
		}
		cols := eventColumns(t, recs)
		if len(cols["sub_renamed.persons"]) == 0 || len(cols["sub_renamed.orders"]) == 0 {
			last = "no events of the renamed tables yet"
			continue
		}
		if got := fieldNames(cols["sub_renamed.persons"]); got != "years,person_id,full_name" {
			t.Fatalf("persons has the columns %s", got)
		}
		got, _ := materialize(t, "dtle", recs, nil)
		want := view{
			"sub_renamed.persons": sourceRows(t, src, "SELECT age, id, name FROM "+schema+".people", cols["sub_renamed.persons"]),
			"sub_renamed.orders":  sourceRows(t, src, "SELECT id, status, amount FROM "+schema+".orders WHERE "+where, cols["sub_renamed.orders"]),
		}
		if last = diff(want, got); last == "" && len(got["sub_renamed.orders"]) == 3 {
			stop(t, j.srcTask)
			stop(t, j.dstTask)
			return
		}
	}
	t.Fatalf("the topics differ from what the rules select: %s", last)
}

// eventColumns reads each table's column schemas from its events.
func eventColumns(t *testing.T, recs []record) map[string][]colSchema {
	t.Helper()
	out := map[string][]colSchema{}
	for _, r := range recs {
		if r.value == nil || strings.Contains(r.topic, "._dtle.") || r.topic == "dtle" {
			continue
		}
		var e envelope
		if err := json.Unmarshal(r.value, &e); err != nil {
			t.Fatal(err)
		}
		out[e.Payload.Source.DB+"."+e.Payload.Source.Table] = e.Schema.Fields[1].Fields
	}
	return out
}

func fieldNames(cols []colSchema) string {
	var names []string
	for _, c := range cols {
		names = append(names, c.Field)
	}
	return strings.Join(names, ",")
}
