package kafka_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// sourceBlock is the source block of an event, every field Debezium's
// MySQL connector documents ("change event values", io.debezium.connector.mysql.Source).
type sourceBlock struct {
	Version  string  `json:"version"`
	Name     string  `json:"name"`
	TsMS     int64   `json:"ts_ms"`
	TsUS     int64   `json:"ts_us"`
	Snapshot string  `json:"snapshot"`
	DB       string  `json:"db"`
	Table    *string `json:"table"`
	ServerID int64   `json:"server_id"`
	GTID     *string `json:"gtid"`
	File     string  `json:"file"`
	Pos      int64   `json:"pos"`
	Row      int     `json:"row"`
	Thread   *int64  `json:"thread"`
	Query    *string `json:"query"`
}

// event is a change or schema-change record, what this test reads of it.
type event struct {
	topic string
	raw   []byte
	key   map[string]json.RawMessage
	Op    string                     `json:"op"`
	After map[string]json.RawMessage `json:"after"`
	Src   sourceBlock                `json:"source"`
	// schema-change records
	DDL          string `json:"ddl"`
	TableChanges []struct {
		Type  string `json:"type"`
		ID    string `json:"id"`
		Table *struct {
			PrimaryKeyColumnNames []string `json:"primaryKeyColumnNames"`
		} `json:"table"`
	} `json:"tableChanges"`
}

// binlogEvent is one row of SHOW BINLOG EVENTS.
type binlogEvent struct {
	pos      int64
	typ      string
	serverID int64
	info     string
}

// TestSourceBlockAsDebezium checks the source block of snapshot records,
// binlog row events and schema changes, and how schema changes and keys
// come out, against what Debezium's MySQL connector documents; every
// expected value is read from the source server itself (SHOW BINLOG EVENTS,
// @@server_id, CONNECTION_ID()), not from the sink's constants.
func TestSourceBlockAsDebezium(t *testing.T) {
	const schema = "dbz_source"
	src := sandboxtest.OpenDB(t, pair.Source)
	setup := []string{"DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema, "USE " + schema,
		"CREATE TABLE a (id INT NOT NULL PRIMARY KEY, v INT)",
		"CREATE TABLE b (id INT NOT NULL PRIMARY KEY)",
		"CREATE TABLE c (id INT NOT NULL PRIMARY KEY)",
		"CREATE TABLE empty_last (id INT NOT NULL PRIMARY KEY)",
		// Keys: without a primary key, the first unique index over NOT NULL columns.
		"CREATE TABLE u (n INT, a INT NOT NULL, UNIQUE KEY un (n), UNIQUE KEY ua (a))",
		"CREATE TABLE e (id INT NOT NULL PRIMARY KEY, v ENUM('x,y', 'z'))", // a SET member cannot hold a comma
		"INSERT INTO b VALUES (1)", "INSERT INTO c VALUES (1), (2)", "INSERT INTO u VALUES (NULL, 5)",
		"INSERT INTO e VALUES (1, 'x,y')"}
	for i := 1; i <= 10; i++ { // a spans two chunks of 7 rows
		setup = append(setup, fmt.Sprintf("INSERT INTO a VALUES (%d, %d)", i, i))
	}
	sandboxtest.Exec(t, src, setup)
	var serverID int64
	if err := src.QueryRowContext(t.Context(), "SELECT @@server_id").Scan(&serverID); err != nil {
		t.Fatal(err)
	}
	snapFile, snapPos := binlogEnd(t, src)

	j := newJob(t, schema)
	j.startDest()
	j.startSrc()
	j.waitEvent("job_stage_incr")

	ctx := context.Background()
	conn, err := src.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	var thread int64
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&thread); err != nil {
		t.Fatal(err)
	}
	var before, after int64
	_ = conn.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP()").Scan(&before)
	for _, q := range []string{"USE " + schema,
		"INSERT INTO a VALUES (100, 1), (101, 1), (102, 1)", // one rows event, rows 0, 1, 2
		"UPDATE a SET v = v + 1 WHERE id IN (1, 2)",         // one update event of two rows
		"ALTER TABLE b ADD COLUMN x INT",
		"RENAME TABLE c TO c2",
		"TRUNCATE TABLE b",
		"CREATE TABLE u2 (x INT NOT NULL UNIQUE, y INT)",
		"CREATE TABLE u3 (x INT NOT NULL, y INT)",
		"CREATE UNIQUE INDEX ux ON u3 (x)",
		"CREATE TABLE u4 (x INT, UNIQUE KEY (x))",
		"INSERT INTO u2 VALUES (1, 1)", "INSERT INTO u3 VALUES (2, 2)", "INSERT INTO u4 VALUES (3)",
		"INSERT INTO c2 VALUES (3)",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_ = conn.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP()").Scan(&after)

	var evs []event
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		evs = readEvents(t, consumeAll(t, j.brokers, "dtle"), schema)
		if n := count(evs, func(e event) bool { return e.topic == "dtle."+schema+".c2" }); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the binlog events did not arrive; have %d events", len(evs))
		}
	}
	stop(t, j.srcTask)
	stop(t, j.dstTask)

	t.Run("snapshot", func(t *testing.T) {
		// Debezium 2.x/3.x mark snapshot records (SnapshotRecord): the
		// whole snapshot's first record "first", its last "last", each
		// table's first and last "first_in_data_collection" and
		// "last_in_data_collection", "last" winning over "first" and a
		// table's last over its first; "true" otherwise. Tables are copied
		// in name order: a (10 rows), b (1), c (2), e (1), empty_last (0),
		// u (1). As in Debezium, where a table is the last only when no
		// other follows, the empty table before u does not take "last"
		// from it.
		want := map[string][]string{
			"a": {"first", "true", "true", "true", "true", "true", "true", "true", "true", "last_in_data_collection"},
			"b": {"last_in_data_collection"},
			"c": {"first_in_data_collection", "last_in_data_collection"},
			"e": {"last_in_data_collection"},
			"u": {"last"},
		}
		// A table's rows are copied in key order; its topic's partitions
		// keep no order between keys.
		byKey := map[string]map[string]string{}
		for _, e := range evs {
			if e.Op != "r" {
				continue
			}
			table := *e.Src.Table
			if byKey[table] == nil {
				byKey[table] = map[string]string{}
			}
			k, _ := json.Marshal(e.key)
			if table == "a" {
				id, _ := strconv.Atoi(string(e.key["id"]))
				k = []byte(fmt.Sprintf("%03d", id))
			}
			byKey[table][string(k)] = e.Src.Snapshot
			// Snapshot records carry the binlog coordinates read with the
			// snapshot, row 0, and neither server id, GTID nor thread (the
			// tutorial's snapshot records: "server_id":0, "gtid":null,
			// "row":0, "thread":null).
			if e.Src.File != snapFile || e.Src.Pos != snapPos || e.Src.Row != 0 || e.Src.ServerID != 0 || e.Src.GTID != nil || e.Src.Thread != nil {
				t.Errorf("%s: snapshot source %+v, want file %s pos %d, row 0, server_id 0, gtid and thread null", table, e.Src, snapFile, snapPos)
			}
		}
		got := map[string][]string{}
		for table, m := range byKey {
			var ks []string
			for k := range m {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			for _, k := range ks {
				got[table] = append(got[table], m[k])
			}
		}
		for table, markers := range want {
			if strings.Join(got[table], ",") != strings.Join(markers, ",") {
				t.Errorf("%s: snapshot markers %v, want %v", table, got[table], markers)
			}
		}
	})

	binlog := binlogEvents(t, src)
	t.Run("binlog rows", func(t *testing.T) {
		var inserts, updates []event
		for _, e := range evs {
			if e.topic != "dtle."+schema+".a" || e.Op == "r" {
				continue
			}
			switch e.Op {
			case "c":
				inserts = append(inserts, e)
			case "u":
				updates = append(updates, e)
			}
		}
		for _, group := range []struct {
			name string
			evs  []event
			typ  string
		}{{"insert", inserts, "Write_rows"}, {"update", updates, "Update_rows"}} {
			if len(group.evs) != map[string]int{"insert": 3, "update": 2}[group.name] {
				t.Fatalf("%s: %d events", group.name, len(group.evs))
			}
			// source.pos is where the rows event starts, the same for each of
			// its rows, and source.row the row's index in it ("pos":
			// position in the binlog; "row": row within the event).
			start := rowsEventStart(t, binlog, *group.evs[0].Src.GTID, group.typ)
			for i, e := range group.evs {
				s := e.Src
				if s.Pos != start || s.Row != i {
					t.Errorf("%s %d: pos %d row %d, want pos %d (the %s event's start) row %d", group.name, i, s.Pos, s.Row, start, group.typ, i)
				}
				// server_id: the server that wrote the event, from its header.
				if s.ServerID != serverID || s.Snapshot != "false" {
					t.Errorf("%s %d: server_id %d snapshot %q, want %d, \"false\"", group.name, i, s.ServerID, s.Snapshot, serverID)
				}
				// MariaDB writes no BEGIN query event, whose thread id
				// Debezium reports: thread is null.
				if s.Thread != nil {
					t.Errorf("%s %d: thread %d, want null (no QUERY_EVENT in a MariaDB row transaction)", group.name, i, *s.Thread)
				}
				// ts_ms: the binlog header's seconds, in milliseconds.
				if s.TsMS%1000 != 0 || s.TsMS/1000 < before || s.TsMS/1000 > after || s.TsUS != s.TsMS*1000 {
					t.Errorf("%s %d: ts_ms %d ts_us %d, want whole seconds in [%d, %d]", group.name, i, s.TsMS, s.TsUS, before, after)
				}
			}
		}
	})

	t.Run("schema changes", func(t *testing.T) {
		changes := map[string]event{}
		for _, e := range evs {
			if e.topic == "dtle" && e.Src.Snapshot == "false" {
				changes[strings.Fields(e.DDL)[0]+" "+strings.Fields(e.DDL)[1]+" "+strings.Fields(e.DDL)[2]] = e
			}
		}
		alter, ok := changes["ALTER TABLE b"]
		if !ok {
			t.Fatalf("no schema change for ALTER TABLE b among %v", keys(changes))
		}
		// The schema-change example: "table" names the table, "pos" the
		// statement's event, "server_id" its server; the statement's
		// QUERY_EVENT carries the connection id.
		s := alter.Src
		if s.Table == nil || *s.Table != "b" || s.Pos != queryEventStart(t, binlog, *s.GTID) || s.ServerID != serverID ||
			s.Thread == nil || *s.Thread != thread {
			t.Errorf("ALTER TABLE b: source %+v, want table b, pos %d, server_id %d, thread %d", s, queryEventStart(t, binlog, *s.GTID), serverID, thread)
		}
		// RENAME TABLE: one record whose one tableChanges entry is an ALTER
		// of the table under its new name (Debezium's TableChanges.rename,
		// serialized with the new id).
		rename, ok := changes["RENAME TABLE c"]
		if !ok || len(rename.TableChanges) != 1 || rename.TableChanges[0].Type != "ALTER" ||
			rename.TableChanges[0].ID != `"dbz_source"."c2"` || rename.Src.Table == nil || *rename.Src.Table != "c2" {
			t.Errorf("RENAME TABLE: %+v, want one ALTER of \"dbz_source\".\"c2\"", rename)
		}
		if n := count(evs, func(e event) bool { return strings.HasPrefix(e.DDL, "RENAME") }); n != 1 {
			t.Errorf("RENAME TABLE: %d records, want 1", n)
		}
		// TRUNCATE TABLE is no schema change; Debezium's truncate event
		// ("op":"t") is skipped by default (skipped.operations=t).
		if n := count(evs, func(e event) bool { return strings.HasPrefix(e.DDL, "TRUNCATE") || e.Op == "t" }); n != 0 {
			t.Errorf("TRUNCATE TABLE: %d records, want none", n)
		}
		// CREATE UNIQUE INDEX over NOT NULL columns makes them the key.
		if idx, ok := changes["CREATE UNIQUE INDEX"]; !ok || len(idx.TableChanges) != 1 || idx.TableChanges[0].Table == nil ||
			strings.Join(idx.TableChanges[0].Table.PrimaryKeyColumnNames, ",") != "x" {
			t.Errorf("CREATE UNIQUE INDEX: %+v, want an ALTER of u3 keyed by x", idx)
		}
	})

	t.Run("keys", func(t *testing.T) {
		// A change event's key holds the primary key, "or the unique key if
		// the table does not have a primary key"; a unique index over a
		// nullable column does not key it.
		want := map[string]string{"u": `{"a":5}`, "u2": `{"x":1}`, "u3": `{"x":2}`, "u4": `null`, "c2": `{"id":3}`}
		for table, key := range want {
			var got []string
			for _, e := range evs {
				if e.topic == "dtle."+schema+"."+table {
					b, _ := json.Marshal(e.key)
					got = append(got, string(b))
				}
			}
			if len(got) == 0 || got[len(got)-1] != key {
				t.Errorf("%s: keys %v, want %s", table, got, key)
			}
		}
	})

	t.Run("enum members with commas", func(t *testing.T) {
		// Debezium escapes a comma inside a member as "\," in "allowed"
		// (the parser's escapeOption).
		for _, e := range evs {
			if e.topic != "dtle."+schema+".e" || e.Op != "r" {
				continue
			}
			var env envelope
			if err := json.Unmarshal(e.raw, &env); err != nil {
				t.Fatal(err)
			}
			allowed := map[string]string{}
			for _, c := range env.Schema.Fields[1].Fields {
				allowed[c.Field] = c.Parameters["allowed"]
			}
			if allowed["v"] != `x\,y,z` {
				t.Errorf("allowed: %q, want %q", allowed["v"], `x\,y,z`)
			}
			if got := string(e.After["v"]); got != `"x,y"` {
				t.Errorf("e.v: %s, want \"x,y\"", got)
			}
			return
		}
		t.Error("no snapshot record of e")
	})
}

// readEvents decodes the records of the schema's table topics and of the
// schema-change topic.
func readEvents(t *testing.T, recs []record, schema string) []event {
	t.Helper()
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].offset < recs[j].offset })
	var out []event
	for _, r := range recs {
		if r.value == nil || (r.topic != "dtle" && !strings.HasPrefix(r.topic, "dtle."+schema+".")) {
			continue
		}
		var env struct {
			Payload event `json:"payload"`
		}
		if err := json.Unmarshal(r.value, &env); err != nil {
			t.Fatalf("%s: %v", r.topic, err)
		}
		e := env.Payload
		if r.topic == "dtle" && e.Src.DB != schema {
			continue
		}
		e.topic, e.raw = r.topic, r.value
		if r.key != nil {
			var k struct {
				Payload map[string]json.RawMessage `json:"payload"`
			}
			if err := json.Unmarshal(r.key, &k); err != nil {
				t.Fatalf("%s key: %v", r.topic, err)
			}
			e.key = k.Payload
		}
		out = append(out, e)
	}
	return out
}

func count(evs []event, f func(event) bool) int {
	n := 0
	for _, e := range evs {
		if f(e) {
			n++
		}
	}
	return n
}

func keys(m map[string]event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// binlogEnd is SHOW MASTER STATUS: the binlog file and where it ends.
func binlogEnd(t *testing.T, db *sql.DB) (string, int64) {
	t.Helper()
	var file string
	var pos int64
	var doDB, ignoreDB sql.NullString
	if err := db.QueryRowContext(t.Context(), "SHOW MASTER STATUS").Scan(&file, &pos, &doDB, &ignoreDB); err != nil {
		t.Fatal(err)
	}
	return file, pos
}

// binlogEvents is SHOW BINLOG EVENTS of the current binlog file.
func binlogEvents(t *testing.T, db *sql.DB) []binlogEvent {
	t.Helper()
	file, _ := binlogEnd(t, db)
	rows, err := db.QueryContext(t.Context(), "SHOW BINLOG EVENTS IN '"+file+"'")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []binlogEvent
	for rows.Next() {
		var e binlogEvent
		var name string
		var end int64
		if err := rows.Scan(&name, &e.pos, &e.typ, &e.serverID, &end, &e.info); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// transaction is the events of the transaction with the GTID.
func transaction(t *testing.T, evs []binlogEvent, gtid string) []binlogEvent {
	t.Helper()
	for i, e := range evs {
		if e.typ == "Gtid" && (strings.HasSuffix(e.info, "GTID "+gtid) || strings.Contains(e.info, "GTID "+gtid+" ")) {
			end := i + 1
			for end < len(evs) && evs[end].typ != "Gtid" {
				end++
			}
			return evs[i+1 : end]
		}
	}
	t.Fatalf("no transaction %s in the binlog", gtid)
	return nil
}

// rowsEventStart is where the first rows event of typ in a transaction starts.
func rowsEventStart(t *testing.T, evs []binlogEvent, gtid, typ string) int64 {
	t.Helper()
	for _, e := range transaction(t, evs, gtid) {
		if strings.HasPrefix(e.typ, typ) {
			return e.pos
		}
	}
	t.Fatalf("no %s event in transaction %s", typ, gtid)
	return 0
}

// queryEventStart is where the query event of a DDL transaction starts.
func queryEventStart(t *testing.T, evs []binlogEvent, gtid string) int64 {
	t.Helper()
	for _, e := range transaction(t, evs, gtid) {
		if e.typ == "Query" {
			return e.pos
		}
	}
	t.Fatalf("no query event in transaction %s", gtid)
	return 0
}
