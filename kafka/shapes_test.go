package kafka_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// geoValue is a Debezium Geometry or Point value.
type geoValue struct {
	X, Y *float64
	WKB  []byte
	SRID *int32
}

func (g *geoValue) String() string {
	if g == nil {
		return "null"
	}
	s := fmt.Sprintf("wkb=%X srid=%v", g.WKB, deref(g.SRID))
	if g.X != nil && g.Y != nil {
		s += fmt.Sprintf(" x=%v y=%v", *g.X, *g.Y)
	}
	return s
}

func deref(p *int32) any {
	if p == nil {
		return nil
	}
	return *p
}

// shapeField is a field schema with what this test reads of it.
type shapeField struct {
	Type    string          `json:"type"`
	Name    string          `json:"name"`
	Field   string          `json:"field"`
	Default json.RawMessage `json:"default"`
	Fields  []shapeField    `json:"fields"`
}

// TestDebeziumShapesThroughCopyAndBinlog: spatial values, copied and from
// the binlog, arrive as Debezium's Geometry and Point structs (WKB without
// the server's SRID prefix, the SRID apart); FLOAT is JsonConverter's
// "float"; defaults are in the field schemas, those of DDL in the binlog
// with two-digit years placed as the server places them.
func TestDebeziumShapesThroughCopyAndBinlog(t *testing.T) {
	const schema = "dbz_shapes"
	src := sandboxtest.OpenDB(t, pair.Source)
	sandboxtest.Exec(t, src, []string{"DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema, "USE " + schema,
		"CREATE TABLE geo (id INT NOT NULL PRIMARY KEY, p POINT NOT NULL, g GEOMETRY, f FLOAT DEFAULT 1.5, " +
			"amount DECIMAL(6,2) NOT NULL DEFAULT 1.005, SPATIAL KEY (p))",
		"INSERT INTO geo (id, p, g, f) VALUES (1, POINT(1, 2), ST_GeomFromText('LINESTRING(0 0,1 1)', 4326), 2.5)",
	})
	j := newJob(t, schema)
	j.startDest()
	j.startSrc()
	j.waitEvent("job_stage_incr")
	sandboxtest.Exec(t, src, []string{"USE " + schema,
		"CREATE TABLE geo2 (id INT NOT NULL PRIMARY KEY, p POINT NOT NULL, g GEOMETRY, d DATE DEFAULT '69-01-01', " +
			"y YEAR DEFAULT 70, SPATIAL INDEX (p))",
		"INSERT INTO geo (id, p, g, f) VALUES (2, ST_GeomFromText('POINT(3 4)', 4326), ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))'), 0.5)",
		"INSERT INTO geo2 (id, p) VALUES (1, POINT(5, 6))",
		"UPDATE geo SET p = POINT(7, 8), g = NULL WHERE id = 1",
	})

	want := map[string]map[string]string{} // table -> id -> canonical row
	for _, table := range []string{"geo", "geo2"} {
		want[table] = sourceShapes(t, src, schema+"."+table)
	}

	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if last = checkShapes(t, consumeAll(t, j.brokers, "dtle"), schema, want); last == "" {
			break
		}
	}
	if last != "" {
		t.Fatal(last)
	}
	stop(t, j.srcTask)
	stop(t, j.dstTask)
}

// checkShapes reads the events of the test's tables: the last image per
// key must be the source's, and the field schemas Debezium's. It returns
// what differs, or "".
func checkShapes(t *testing.T, recs []record, schema string, want map[string]map[string]string) string {
	t.Helper()
	got := map[string]map[string]string{}
	ops := map[string]bool{}
	schemas := map[string]map[string]shapeField{}
	for _, r := range recs {
		table, ok := strings.CutPrefix(r.topic, "dtle."+schema+".")
		if !ok || r.value == nil {
			continue
		}
		var e struct {
			Schema struct {
				Fields []shapeField `json:"fields"`
			} `json:"schema"`
			Payload struct {
				After map[string]json.RawMessage `json:"after"`
				Op    string                     `json:"op"`
			} `json:"payload"`
		}
		d := json.NewDecoder(bytes.NewReader(r.value))
		if err := d.Decode(&e); err != nil {
			t.Fatalf("%s: %v", r.topic, err)
		}
		ops[table+"/"+e.Payload.Op] = true
		fields := map[string]shapeField{}
		for _, f := range e.Schema.Fields[1].Fields {
			fields[f.Field] = f
		}
		schemas[table] = fields
		if e.Payload.After == nil {
			continue
		}
		var p, g *geoValue
		if err := json.Unmarshal(e.Payload.After["p"], &p); err != nil {
			t.Fatalf("%s p: %v: %s", table, err, e.Payload.After["p"])
		}
		if err := json.Unmarshal(e.Payload.After["g"], &g); err != nil {
			t.Fatalf("%s g: %v: %s", table, err, e.Payload.After["g"])
		}
		if got[table] == nil {
			got[table] = map[string]string{}
		}
		got[table][string(e.Payload.After["id"])] = "p=" + p.String() + " g=" + g.String()
	}
	for _, op := range []string{"geo/r", "geo/c", "geo/u", "geo2/c"} {
		if !ops[op] {
			return "no event " + op
		}
	}
	for table, rows := range want {
		for id, row := range rows {
			if got[table][id] != row {
				return fmt.Sprintf("%s id %s:\n got %s\nwant %s", table, id, got[table][id], row)
			}
		}
	}
	for _, c := range []struct{ table, field, typ, name, def string }{
		{"geo", "p", "struct", "io.debezium.data.geometry.Point", ""},
		{"geo", "g", "struct", "io.debezium.data.geometry.Geometry", ""},
		{"geo", "f", "float", "", "1.5"},
		{"geo", "amount", "bytes", "org.apache.kafka.connect.data.Decimal", `"ZQ=="`}, // 1.01 as the server keeps 1.005
		{"geo2", "p", "struct", "io.debezium.data.geometry.Point", ""},
		{"geo2", "d", "int32", "io.debezium.time.Date", "36160"}, // '69-01-01' is 2069-01-01
		{"geo2", "y", "int32", "io.debezium.time.Year", "1970"},
	} {
		f := schemas[c.table][c.field]
		if f.Type != c.typ || f.Name != c.name || string(f.Default) != c.def {
			return fmt.Sprintf("%s.%s: type %q name %q default %s, want %q %q %s", c.table, c.field, f.Type, f.Name, f.Default, c.typ, c.name, c.def)
		}
	}
	return ""
}

func sridOf(n int32) *int32 {
	if n == 0 {
		return nil
	}
	return &n
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sourceShapes reads a table's spatial values from the source, canonical by id.
func sourceShapes(t *testing.T, src *sql.DB, table string) map[string]string {
	t.Helper()
	rows, err := src.QueryContext(context.Background(), "SELECT id, ST_SRID(p), HEX(ST_AsBinary(p)), ST_X(p), ST_Y(p), "+
		"IFNULL(ST_SRID(g), -1), IFNULL(HEX(ST_AsBinary(g)), '') FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]string{}
	for rows.Next() {
		var id, psrid, gsrid int32
		var pwkb, gwkb string
		var x, y float64
		if err := rows.Scan(&id, &psrid, &pwkb, &x, &y, &gsrid, &gwkb); err != nil {
			t.Fatal(err)
		}
		p := &geoValue{X: &x, Y: &y, WKB: mustHex(t, pwkb), SRID: sridOf(psrid)}
		var g *geoValue
		if gsrid >= 0 {
			g = &geoValue{WKB: mustHex(t, gwkb), SRID: sridOf(gsrid)}
		}
		out[fmt.Sprint(id)] = "p=" + p.String() + " g=" + g.String()
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
