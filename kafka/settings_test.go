package kafka_test

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// settingsJob runs a job on schema (setup before it starts, changes
// after), and returns its records once done says they are all there.
func settingsJob(t *testing.T, schema string, set func(*config.Task), setup, changes []string, done func([]record) bool) []record {
	t.Helper()
	src := sandboxtest.OpenDB(t, pair.Source)
	sandboxtest.Exec(t, src, append([]string{"DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema, "USE " + schema}, setup...))
	j := newJob(t, schema)
	set(j.dest)
	j.startDest()
	j.startSrc()
	j.waitEvent("job_stage_incr")
	sandboxtest.Exec(t, src, append([]string{"USE " + schema}, changes...))
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		recs := consumeAll(t, j.brokers, "dtle")
		if done(recs) {
			stop(t, j.srcTask)
			stop(t, j.dstTask)
			if err := checkRecords(recs); err != nil {
				t.Error(err)
			}
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the changes did not all arrive in 60s; %d records", len(recs))
		}
	}
}

// envelopeOf decodes a change event's payload and value schema name.
type envelopeOf struct {
	Schema struct {
		Name   string `json:"name"`
		Fields []struct {
			Field  string            `json:"field"`
			Name   string            `json:"name"`
			Fields []json.RawMessage `json:"fields"`
		} `json:"fields"`
	} `json:"schema"`
	Payload struct {
		Before json.RawMessage            `json:"before"`
		After  map[string]json.RawMessage `json:"after"`
		Op     string                     `json:"op"`
		Source sourceBlock                `json:"source"`
	} `json:"payload"`
}

func decodeEnvelope(t *testing.T, r record) envelopeOf {
	t.Helper()
	var e envelopeOf
	if err := json.Unmarshal(r.value, &e); err != nil {
		t.Fatalf("%s: %v", r.topic, err)
	}
	return e
}

func headerMap(r record) map[string]string {
	out := map[string]string{}
	for _, h := range r.headers {
		out[h.Key] = string(h.Value)
	}
	return out
}

// TestDebeziumSettings: what the connector documents beyond the data
// types, with skipped_operations=none (Debezium's "Connector
// properties", "Data change events" and "Data type mappings"):
//   - an update that changes a row's key is a delete with header
//     __debezium.newkey, its tombstone and a create with __debezium.oldkey
//     ("Primary key updates"), the keys as Kafka Connect's default header
//     converter writes the key struct;
//   - a delete of a table without key is followed by a tombstone, the key
//     null ("Tombstone events": the connector emits it after every delete);
//   - TRUNCATE is a truncate event ("truncate events": op t, a null key,
//     no rows) and no schema change;
//   - a table created in the binlog with BOOLEAN, REAL, JSON, NUMERIC,
//     DECIMAL and FLOAT(M,D) has the types the DDL names ("Boolean
//     values": a table created during streaming gets the BOOLEAN mapping;
//     basic types: REAL FLOAT32, JSON Json), and its tableChanges entry the
//     types Debezium's DDL parser reports for them (its MySQL data type
//     table: the keyword as written, its java.sql.Types code, DECIMAL and
//     NUMERIC (10,0) when bare);
//   - schema names are made of the cleaned topic name ("Topic names": a
//     character Kafka does not allow becomes _).
func TestDebeziumSettings(t *testing.T) {
	const schema = "dbz_settings"
	topic := func(table string) string { return "dtle." + schema + "." + table }
	recs := settingsJob(t, schema, func(c *config.Task) { c.SkippedOperations = "none" },
		[]string{"CREATE TABLE k (id INT NOT NULL, s VARCHAR(10) NOT NULL, dc DECIMAL(5,2) NOT NULL, PRIMARY KEY (id, s, dc))",
			"CREATE TABLE nk (a INT, b VARCHAR(10))", "CREATE TABLE `odd$name` (id INT NOT NULL PRIMARY KEY)"},
		[]string{
			"CREATE TABLE declared (id INT NOT NULL PRIMARY KEY, b BOOLEAN DEFAULT TRUE, r REAL, js JSON, n NUMERIC, d DECIMAL, f FLOAT(10,2))",
			`INSERT INTO declared VALUES (1, TRUE, 1.1, '{"a": 1}', 5, 7, 1.5), (2, FALSE, NULL, NULL, NULL, NULL, NULL)`,
			"INSERT INTO k VALUES (1, 'a', 1.5)",
			`UPDATE k SET id = 2, s = 'b"\\' WHERE id = 1`,
			"INSERT INTO nk VALUES (1, 'x')", "DELETE FROM nk",
			"INSERT INTO `odd$name` VALUES (1)",
			"TRUNCATE TABLE k",
		},
		func(recs []record) bool {
			// A topic made after the consumer's first look shows up later.
			truncated, rows := false, 0
			for _, r := range recs {
				truncated = truncated || r.topic == topic("k") && strings.Contains(string(r.value), `"op":"t"`)
				if r.topic == topic("declared") {
					rows++
				}
			}
			return truncated && rows == 2
		})

	t.Run("key change headers", func(t *testing.T) {
		var got []string
		for _, r := range recs {
			if r.topic != topic("k") {
				continue
			}
			what := "tombstone"
			if r.value != nil {
				what = decodeEnvelope(t, r).Payload.Op
			}
			h := headerMap(r)
			got = append(got, what+" "+h["__debezium.newkey"]+" "+h["__debezium.oldkey"])
		}
		sort.Strings(got)
		want := []string{
			`c  {"id":1,"s":"a","dc":1.50}`,
			`c  `, // the insert
			`d {"id":2,"s":"b\"\\","dc":1.50} `,
			`t  `,
			`tombstone {"id":2,"s":"b\"\\","dc":1.50} `,
		}
		sort.Strings(want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("events of k (op, __debezium.newkey, __debezium.oldkey):\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("keyless delete and truncate", func(t *testing.T) {
		var nk []string
		for _, r := range recs {
			switch {
			case r.topic == topic("nk"):
				what := "tombstone"
				if r.value != nil {
					what = decodeEnvelope(t, r).Payload.Op
				}
				nk = append(nk, what+" key="+string(r.key))
			case r.topic == topic("k") && strings.Contains(string(r.value), `"op":"t"`):
				e := decodeEnvelope(t, r)
				if r.key != nil || string(e.Payload.Before) != "null" || e.Payload.After != nil || e.Payload.Source.Table == nil ||
					*e.Payload.Source.Table != "k" || e.Payload.Source.Snapshot != "false" {
					t.Errorf("truncate event: key %s, %s", r.key, r.value)
				}
			case r.topic == "dtle" && strings.Contains(string(r.value), "TRUNCATE"):
				t.Errorf("TRUNCATE sent a schema change: %s", r.value)
			}
		}
		sort.Strings(nk)
		if want := "c key=\nd key=\ntombstone key="; strings.Join(nk, "\n") != want {
			t.Errorf("events of nk:\n%s\nwant\n%s", strings.Join(nk, "\n"), want)
		}
	})

	t.Run("types of DDL in the binlog", func(t *testing.T) {
		var tableChange struct {
			Payload struct {
				TableChanges []struct {
					Table struct {
						Columns []struct {
							Name     string `json:"name"`
							TypeName string `json:"typeName"`
							JdbcType int    `json:"jdbcType"`
							Length   *int   `json:"length"`
							Scale    *int   `json:"scale"`
						} `json:"columns"`
					} `json:"table"`
				} `json:"tableChanges"`
			} `json:"payload"`
		}
		for _, r := range recs {
			if r.topic == "dtle" && strings.Contains(string(r.value), `"ddl":"CREATE TABLE declared`) {
				if err := json.Unmarshal(r.value, &tableChange); err != nil {
					t.Fatal(err)
				}
			}
		}
		if len(tableChange.Payload.TableChanges) != 1 {
			t.Fatal("no schema change of CREATE TABLE declared")
		}
		got := map[string]string{}
		for _, c := range tableChange.Payload.TableChanges[0].Table.Columns {
			got[c.Name] = c.TypeName + " " + strconv.Itoa(c.JdbcType) + " " + intOrNull(c.Length) + " " + intOrNull(c.Scale)
		}
		for col, want := range map[string]string{"b": "BOOLEAN 16 null null", "r": "REAL 7 null null", "js": "JSON 1111 null null",
			"n": "NUMERIC 2 10 0", "d": "DECIMAL 3 10 0", "f": "FLOAT 6 10 2"} {
			if got[col] != want {
				t.Errorf("tableChanges %s: %s, want %s (typeName jdbcType length scale)", col, got[col], want)
			}
		}
		wantSchemas := map[string]string{
			"b":  `{"default":true,"optional":true,"type":"boolean"}`,
			"r":  `{"optional":true,"type":"float"}`,
			"js": `{"name":"io.debezium.data.Json","optional":true,"type":"string","version":1}`,
			"n":  `{"name":"org.apache.kafka.connect.data.Decimal","optional":true,"parameters":{"connect.decimal.precision":"10","scale":"0"},"type":"bytes","version":1}`,
			"d":  `{"name":"org.apache.kafka.connect.data.Decimal","optional":true,"parameters":{"connect.decimal.precision":"10","scale":"0"},"type":"bytes","version":1}`,
			"f":  `{"optional":true,"type":"double"}`,
		}
		wantRows := map[string]map[string]string{
			"1": {"b": `true`, "r": `1.1`, "js": `"{\"a\": 1}"`, "n": `"BQ=="`, "d": `"Bw=="`, "f": `1.5`},
			"2": {"b": `false`, "r": `null`, "js": `null`, "n": `null`, "d": `null`, "f": `null`},
		}
		rows := 0
		for _, r := range recs {
			if r.topic != topic("declared") || r.value == nil {
				continue
			}
			e := decodeEnvelope(t, r)
			rows++
			for _, f := range e.Schema.Fields[1].Fields {
				var name struct {
					Field string `json:"field"`
				}
				_ = json.Unmarshal(f, &name)
				if want, ok := wantSchemas[name.Field]; ok && !sameJSON(t, withoutField(t, f), want) {
					t.Errorf("%s schema %s, want %s", name.Field, withoutField(t, f), want)
				}
			}
			for col, want := range wantRows[string(e.Payload.After["id"])] {
				if got := string(e.Payload.After[col]); got != want {
					t.Errorf("row %s %s: %s, want %s", e.Payload.After["id"], col, got, want)
				}
			}
		}
		if rows != 2 {
			t.Errorf("%d rows of declared, want 2", rows)
		}
	})

	t.Run("schema names from the cleaned topic", func(t *testing.T) {
		for _, r := range recs {
			if r.topic != topic("odd_name") || r.value == nil {
				continue
			}
			e := decodeEnvelope(t, r)
			var key struct {
				Schema struct {
					Name string `json:"name"`
				} `json:"schema"`
			}
			_ = json.Unmarshal(r.key, &key)
			base := topic("odd_name")
			if key.Schema.Name != base+".Key" || e.Schema.Name != base+".Envelope" || e.Schema.Fields[1].Name != base+".Value" {
				t.Errorf("schema names %s, %s, %s, want %s.Key, .Envelope, .Value", key.Schema.Name, e.Schema.Name, e.Schema.Fields[1].Name, base)
			}
			return
		}
		t.Errorf("no event on %s", topic("odd_name"))
	})
}

// TestSettingsTurnedOff: tombstones_on_delete=false sends a delete alone;
// include_schema_changes=false sends nothing to the schema-change topic,
// while DDL still changes the events; skipped_operations=u drops updates,
// those that change the key too (Debezium skips the update before it
// would split it).
func TestSettingsTurnedOff(t *testing.T) {
	const schema = "dbz_settings_off"
	topic := "dtle." + schema + ".k"
	recs := settingsJob(t, schema, func(c *config.Task) {
		off := false
		c.TombstonesOnDelete, c.IncludeSchemaChanges, c.SkippedOperations = &off, &off, "u"
	},
		[]string{"CREATE TABLE k (id INT NOT NULL PRIMARY KEY, v INT)", "INSERT INTO k VALUES (1, 1), (2, 2)"},
		[]string{"UPDATE k SET v = 5 WHERE id = 1", "UPDATE k SET id = 3 WHERE id = 2", "DELETE FROM k WHERE id = 1",
			"ALTER TABLE k ADD COLUMN w INT", "INSERT INTO k VALUES (9, 9, 9)"},
		func(recs []record) bool {
			for _, r := range recs {
				if r.topic == topic && strings.Contains(string(r.value), `"w":9`) {
					return true
				}
			}
			return false
		})
	var ops []string
	for _, r := range recs {
		if r.topic == "dtle" {
			t.Errorf("a record on the schema-change topic: %s", r.value)
		}
		if r.topic != topic {
			continue
		}
		if r.value == nil {
			ops = append(ops, "tombstone")
			continue
		}
		ops = append(ops, decodeEnvelope(t, r).Payload.Op)
	}
	sort.Strings(ops)
	if got, want := strings.Join(ops, " "), "c d r r"; got != want {
		t.Errorf("ops %s, want %s: two snapshot rows, no update, a delete without tombstone, the insert after the ALTER", got, want)
	}
}

func intOrNull(p *int) string {
	if p == nil {
		return "null"
	}
	return strconv.Itoa(*p)
}
