package kafka

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/change"
)

// TestEventMatchesDebeziumExample encodes the insert of Debezium's MySQL
// documentation style example (a DECIMAL, a TIMESTAMP(3) and a BIT(10)
// column) and compares key and value with what Debezium 2.7+ emits for it,
// field for field; only the connector version and the wall-clock times differ.
func TestEventMatchesDebeziumExample(t *testing.T) {
	d := fromCopy(&change.Table{Schema: "shop", Name: "orders", CreateSQL: "CREATE TABLE `orders` (\n" +
		"  `id` int(11) NOT NULL,\n  `amount` decimal(10,2) NOT NULL,\n  `paid_at` timestamp(3) NULL DEFAULT NULL,\n" +
		"  `flags` bit(10) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
		Columns: make([]change.Column, 4)})
	tc := newTableCodec("dbz", d, &dbzDefaults)
	row := change.Row{int64(7), []byte("12.34"), []byte("2024-05-01 10:20:30.500"), int64(513)}
	key, err := tc.appendKey(nil, row, false)
	if err != nil {
		t.Fatal(err)
	}
	wantKey := `{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"dbz.shop.orders.Key"},"payload":{"id":7}}`
	if string(key) != wantKey {
		t.Errorf("key\n got %s\nwant %s", key, wantKey)
	}
	o := &origin{snapshot: "false", tsMS: 1714558831000, gtid: "", file: "mysql-bin.000003", pos: 1161, serverID: 1}
	value, err := tc.appendValueRecord(nil, "dbz", 'c', nil, row, o, time.UnixMicro(1714558831512345).Add(678))
	if err != nil {
		t.Fatal(err)
	}
	cols := `[{"type":"int32","optional":false,"field":"id"},` +
		`{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"amount"},` +
		`{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"paid_at"},` +
		`{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"10"},"field":"flags"}]`
	want := `{"schema":{"type":"struct","fields":[` +
		`{"type":"struct","fields":` + cols + `,"optional":true,"name":"dbz.shop.orders.Value","field":"before"},` +
		`{"type":"struct","fields":` + cols + `,"optional":true,"name":"dbz.shop.orders.Value","field":"after"},` +
		// Debezium's source and transaction blocks, written out here, not
		// taken from the encoder's constants.
		`{"type":"struct","fields":[` +
		`{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},` +
		`{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},` +
		`{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},` +
		`{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},` +
		`{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},` +
		`{"type":"string","optional":true,"field":"table"},{"type":"int64","optional":false,"field":"server_id"},` +
		`{"type":"string","optional":true,"field":"gtid"},{"type":"string","optional":false,"field":"file"},` +
		`{"type":"int64","optional":false,"field":"pos"},{"type":"int32","optional":false,"field":"row"},` +
		`{"type":"int64","optional":true,"field":"thread"},{"type":"string","optional":true,"field":"query"}],` +
		`"optional":false,"name":"io.debezium.connector.mysql.Source","version":1,"field":"source"},` +
		`{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},` +
		`{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],` +
		`"optional":true,"name":"event.block","version":1,"field":"transaction"},` +
		`{"type":"string","optional":false,"field":"op"},` +
		`{"type":"int64","optional":true,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],` +
		`"optional":false,"name":"dbz.shop.orders.Envelope","version":2},` +
		`"payload":{"before":null,"after":{"id":7,"amount":"BNI=","paid_at":"2024-05-01T10:20:30.500Z","flags":"AQI="},` +
		`"source":{"version":"dtle","connector":"mysql","name":"dbz","ts_ms":1714558831000,"snapshot":"false","db":"shop","sequence":null,` +
		`"ts_us":1714558831000000,"ts_ns":1714558831000000000,"table":"orders","server_id":1,"gtid":null,"file":"mysql-bin.000003",` +
		`"pos":1161,"row":0,"thread":null,"query":null},"transaction":null,"op":"c","ts_ms":1714558831512,"ts_us":1714558831512345,"ts_ns":1714558831512345678}}`
	if string(value) != want {
		t.Errorf("value\n got %s\nwant %s", value, want)
	}
	if !json.Valid(value) {
		t.Error("not valid JSON")
	}
}

func TestValueEncodings(t *testing.T) {
	cases := []struct {
		name string
		col  colDef
		in   any
		want string
	}{
		{"decimal from text", colDef{Kind: "decimal", Length: 10, Scale: 2}, "12.34", `"BNI="`},
		{"decimal below one", colDef{Kind: "decimal", Length: 10, Scale: 2}, []byte("4.99"), `"AfM="`},
		{"negative decimal", colDef{Kind: "decimal", Length: 10, Scale: 2}, "-12.34", `"+y4="`},
		{"zero decimal", colDef{Kind: "decimal", Length: 10, Scale: 2}, "0.00", `"AA=="`},
		{"decimal needing a sign byte", colDef{Kind: "decimal", Length: 10}, "128", `"AIA="`},
		{"bit(10) from the binlog, little-endian", colDef{Kind: "bit", Length: 10}, int64(513), `"AQI="`},
		{"bit(10) from the copy, big-endian bytes in", colDef{Kind: "bit", Length: 10}, []byte{0x02, 0x01}, `"AQI="`},
		{"bit(1) is a boolean", colDef{Kind: "bit", Length: 1}, []byte{1}, `true`},
		{"unsigned int from a signed binlog value", colDef{Kind: "int", Unsigned: true}, int64(-1), `4294967295`},
		{"bigint unsigned stays a long", colDef{Kind: "bigint", Unsigned: true}, int64(-2), `-2`},
		{"bigint unsigned text above int64", colDef{Kind: "bigint", Unsigned: true}, "18446744073709551615", `-1`},
		{"date before 1677", colDef{Kind: "date", Nullable: true}, "1000-01-01", `-354285`},
		{"zero date nullable", colDef{Kind: "date", Nullable: true}, "0000-00-00", `null`},
		{"zero datetime not null", colDef{Kind: "datetime"}, "0000-00-00 00:00:00", `0`},
		{"datetime(6) in micros", colDef{Kind: "datetime", Scale: 6}, "2024-05-01 10:20:30.123456", `1714558830123456`},
		{"datetime in millis", colDef{Kind: "datetime"}, "2024-05-01 10:20:30", `1714558830000`},
		{"timestamp keeps its digits", colDef{Kind: "timestamp", Scale: 6}, "2024-05-01 10:20:30", `"2024-05-01T10:20:30.000000Z"`},
		{"negative time", colDef{Kind: "time"}, "-01:00:00", `-3600000000`},
		{"widest time", colDef{Kind: "time", Scale: 6}, "838:59:59.999999", `3020399999999`},
		{"enum index", colDef{Kind: "enum", Elems: []string{"a", "b"}}, int64(2), `"b"`},
		{"enum empty", colDef{Kind: "enum", Elems: []string{"a", "b"}}, int64(0), `""`},
		{"set mask", colDef{Kind: "set", Elems: []string{"x", "y", "z"}}, int64(5), `"x,z"`},
		{"latin1 bytes", colDef{Kind: "varchar", Charset: "latin1"}, []byte{'c', 'a', 'f', 0xe9}, `"café"`},
		{"control characters", colDef{Kind: "text"}, "a\"\\\n\x01", `"a\"\\\n\u0001"`},
		{"binary padded", colDef{Kind: "binary", Length: 4, Charset: "binary"}, []byte{1}, `"AQAAAA=="`},
		{"float", colDef{Kind: "float"}, float32(1.5), `1.5`},
		{"year", colDef{Kind: "year"}, int64(1901), `1901`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := fieldFor(&c.col, &dbzDefaults)
			got, err := f.conv(nil, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestCatalogFollowsDDL(t *testing.T) {
	c := newCatalog()
	steps := []struct {
		ddl  string
		want string // columns of db.t after it, "" when gone
	}{
		{"CREATE TABLE t (id INT NOT NULL, a VARCHAR(10), PRIMARY KEY (id))", "id,a"},
		{"ALTER TABLE t ADD COLUMN b INT FIRST", "b,id,a"},
		{"ALTER TABLE t ADD COLUMN c INT AFTER id, DROP COLUMN a", "b,id,c"},
		{"ALTER TABLE t CHANGE COLUMN c c2 BIGINT UNSIGNED NOT NULL AFTER b", "b,c2,id"},
		{"ALTER TABLE t MODIFY b DECIMAL(5,1) AFTER id", "c2,id,b"},
		{"ALTER TABLE t RENAME COLUMN id TO pk", "c2,pk,b"},
		{"RENAME TABLE t TO u", ""},
		{"CREATE TABLE t LIKE u", "c2,pk,b"},
		{"DROP TABLE t", ""},
	}
	for _, s := range steps {
		if _, err := c.apply("db", s.ddl); err != nil {
			t.Fatalf("%s: %v", s.ddl, err)
		}
		d := c.get("db", "t")
		got := ""
		if d != nil {
			var names []string
			for _, col := range d.Columns {
				names = append(names, col.Name)
			}
			got = strings.Join(names, ",")
		}
		if got != s.want {
			t.Fatalf("after %s: columns %q, want %q", s.ddl, got, s.want)
		}
	}
	u := c.get("db", "u")
	if u == nil || strings.Join(u.Key, ",") != "pk" || u.Columns[0].Kind != "bigint" || !u.Columns[0].Unsigned || u.Columns[2].Scale != 1 {
		t.Fatalf("db.u: %+v", u)
	}
	if _, err := c.apply("db", "DROP DATABASE db"); err != nil || len(c.tables) != 0 {
		t.Fatalf("drop database left %v (%v)", c.tables, err)
	}
}

func TestKeyFromUniqueNotNull(t *testing.T) {
	d := fromCopy(&change.Table{Schema: "s", Name: "t", Columns: make([]change.Column, 3),
		CreateSQL: "CREATE TABLE `t` (`a` int, `b` int NOT NULL, `c` int, UNIQUE KEY `ua` (`a`), UNIQUE KEY `ub` (`b`))"})
	if strings.Join(d.Key, ",") != "b" {
		t.Fatalf("key %v, want the NOT NULL unique key b", d.Key)
	}
}

func BenchmarkSnapshotEvent(b *testing.B) {
	d := fromCopy(&change.Table{Schema: "sbtest", Name: "sbtest1", Columns: make([]change.Column, 4), CreateSQL: "CREATE TABLE `sbtest1` (" +
		"`id` int(11) NOT NULL AUTO_INCREMENT, `k` int(11) NOT NULL DEFAULT 0, `c` char(120) NOT NULL DEFAULT '', " +
		"`pad` char(60) NOT NULL DEFAULT '', PRIMARY KEY (`id`), KEY `k_1` (`k`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"})
	tc := newTableCodec("bench", d, &dbzDefaults)
	row := change.Row{"123456", "499871", strings.Repeat("83868641912-", 10), strings.Repeat("67847967377-", 5)}
	o := &origin{snapshot: "true", tsMS: 1714558831000}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tc.appendKey(make([]byte, 0, len(tc.keyHead)+64), row, true); err != nil {
			b.Fatal(err)
		}
		if _, err := tc.appendValueRecord(make([]byte, 0, len(tc.valueHead)+tc.payloadHint(nil, row)), "bench", 'r', nil, row, o, now); err != nil {
			b.Fatal(err)
		}
	}
}

// Tables whose names hold dots stay apart: `a.b`.`c` and `a`.`b.c` were one
// entry while definitions were keyed by "schema.table", and their records
// in the schemas topic had one key.
func TestCatalogKeepsDottedNamesApart(t *testing.T) {
	c := newCatalog()
	for _, ddl := range []string{"CREATE TABLE `a.b`.`c` (x INT)", "CREATE TABLE `a`.`b.c` (y INT, z INT)"} {
		if _, err := c.apply("db", ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
	}
	one, two := c.get("a.b", "c"), c.get("a", "b.c")
	if one == nil || two == nil || len(one.Columns) != 1 || len(two.Columns) != 2 {
		t.Fatalf("definitions: %+v and %+v", one, two)
	}
	if k1, k2 := quotedID(one.name()), quotedID(two.name()); k1 == k2 {
		t.Fatalf("both tables have the record key %s", k1)
	}
	dropped, err := c.apply("db", "DROP DATABASE `a.b`")
	if err != nil || len(dropped.IDs) != 1 || dropped.IDs[0] != one.name() || c.get("a", "b.c") == nil {
		t.Fatalf("DROP DATABASE `a.b` dropped %v (%v); `a`.`b.c` left: %v", dropped.IDs, err, c.get("a", "b.c") != nil)
	}
}
