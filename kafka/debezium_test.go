package kafka

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/change"
)

// jsonConverterTypes are the schema types Kafka's JsonConverter reads; any
// other name fails the record with "Unknown schema type".
var jsonConverterTypes = map[string]bool{
	"int8": true, "int16": true, "int32": true, "int64": true, "float": true, "double": true,
	"boolean": true, "string": true, "bytes": true, "array": true, "map": true, "struct": true,
}

// schemaTypes collects every "type" of a Connect schema in JSON.
func schemaTypes(t *testing.T, v any, out map[string]bool) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		if typ, ok := x["type"].(string); ok {
			out[typ] = true
		}
		for k, m := range x {
			if k != "payload" && k != "default" {
				schemaTypes(t, m, out)
			}
		}
	case []any:
		for _, m := range x {
			schemaTypes(t, m, out)
		}
	}
}

// TestSchemaTypesAreJsonConverters: every schema the sink writes, for
// every column type, in change events, keys and schema-change events, names
// only types JsonConverter knows. FLOAT and DOUBLE were float32/float64,
// which JsonConverter rejects, failing every JsonConverter-based sink.
// (Spatial columns' struct schemas: TestSpatialColumns.)
func TestSchemaTypesAreJsonConverters(t *testing.T) {
	const create = "CREATE TABLE `all` (`ti` tinyint(4) NOT NULL, `si` smallint(5) unsigned, `mi` mediumint(9), `i` int(10) unsigned, " +
		"`bi` bigint(20), `f` float, `f2` float(10,2), `db` double, `d` decimal(10,2), `b1` bit(1), `b10` bit(10), " +
		"`dt` date, `tm` time(6), `dtm` datetime, `dtm6` datetime(6), `ts` timestamp NULL, `yr` year(4), " +
		"`e` enum('a','b'), `st` set('x','y'), `js` longtext CHECK (json_valid(`js`)), `c` char(3), `vc` varchar(10), `tx` text, " +
		"`bn` binary(4), `vb` varbinary(4), `bl` blob, PRIMARY KEY (`ti`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	d := fromCopy(&change.Table{Schema: "s", Name: "all", CreateSQL: create, Columns: make([]change.Column, 26)})
	tc := newTableCodec("dbz", d, &dbzDefaults)
	if len(tc.keyHead) == 0 {
		t.Fatalf("no key read from %s", create)
	}
	o := &origin{snapshot: "true", tsMS: 1}
	_, sc := schemaChange("dbz", "s", create, []tableChange{describe("CREATE", d.name(), d)}, o, time.Unix(1, 0))
	key := append(append([]byte{}, tc.keyHead...), "null}"...)
	value := append(append([]byte{}, tc.valueHead...), "null}"...)
	seen := map[string]bool{}
	for _, doc := range [][]byte{key, value, sc} {
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			t.Fatalf("%v: %s", err, doc)
		}
		schemaTypes(t, v, seen)
	}
	for typ := range seen {
		if !jsonConverterTypes[typ] {
			t.Errorf("schema type %q: JsonConverter knows only int8, int16, int32, int64, float, double, boolean, string, bytes, array, map and struct", typ)
		}
	}
	for _, want := range []string{"float", "double", "struct", "array"} {
		if !seen[want] {
			t.Errorf("no %q schema among %v", want, seen)
		}
	}
	for _, c := range []struct{ col, typ string }{{"f", "float"}, {"f2", "double"}, {"db", "double"}} {
		if f := tc.fields[d.column(c.col)]; f.typ != c.typ {
			t.Errorf("%s: type %s, want %s", c.col, f.typ, c.typ)
		}
	}
}

// fieldSchema is one field of a value schema, as JSON.
func fieldSchema(t *testing.T, tc *tableCodec, col string) map[string]json.RawMessage {
	t.Helper()
	i := tc.def.column(col)
	if i < 0 {
		t.Fatalf("no column %s", col)
	}
	var m map[string]json.RawMessage
	b := tc.fields[i].appendSchema(nil, tc.def.Columns[i].Nullable)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v: %s", col, err, b)
	}
	return m
}

// TestFieldDefaultsFromTheCopy: a column's default reaches its field
// schema, in the field's own representation, as Debezium writes it. The
// table is MariaDB's SHOW CREATE TABLE text of every kind of default.
func TestFieldDefaultsFromTheCopy(t *testing.T) {
	const create = "CREATE TABLE `t` (\n" +
		"  `id` int(11) NOT NULL DEFAULT 5,\n  `n` int(11) DEFAULT -3,\n  `f` float DEFAULT 1.1,\n  `d` double DEFAULT 25000000000,\n" +
		"  `dc` decimal(6,2) DEFAULT 1.01,\n  `dc2` decimal(6,2) NOT NULL DEFAULT -7.00,\n  `b1` bit(1) DEFAULT b'1',\n" +
		"  `b10` bit(10) DEFAULT b'1000000001',\n  `dt` date DEFAULT '2069-01-01',\n  `dtm` datetime(3) DEFAULT '2024-05-01 10:20:30.500',\n" +
		"  `dtm2` datetime NOT NULL DEFAULT current_timestamp(),\n" +
		"  `ts` timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),\n" +
		"  `ts2` timestamp NULL DEFAULT '2024-01-01 00:00:00',\n  `ts3` timestamp(3) NULL DEFAULT current_timestamp(3),\n" +
		"  `tm` time DEFAULT '10:00:00',\n  `yr` year(4) DEFAULT 2069,\n  `e` enum('a','b') DEFAULT 'b',\n  `st` set('x','y') DEFAULT 'x,y',\n" +
		"  `c` varchar(10) DEFAULT 'it''s',\n  `bn` binary(4) DEFAULT 'ab\\0\\0',\n  `tx` text DEFAULT 'tt',\n" +
		"  `u` varchar(36) DEFAULT uuid(),\n  `zd` date NOT NULL DEFAULT '0000-00-00',\n  `zd2` date DEFAULT '0000-00-00',\n" +
		"  `nd` int(11) DEFAULT NULL,\n  `nn` int(11) NOT NULL,\n  `bo` tinyint(1) DEFAULT 1,\n  `em` varchar(3) NOT NULL DEFAULT '',\n" +
		"  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	d := fromCopy(&change.Table{Schema: "s", Name: "t", CreateSQL: create, Columns: make([]change.Column, 28)})
	tc := newTableCodec("dbz", d, &dbzDefaults)
	cases := []struct {
		col, want, why string
	}{
		{"id", `5`, "an int"},
		{"n", `-3`, "a negative int"},
		{"f", `1.1`, "a FLOAT, as a float"},
		{"d", `2.5e+10`, "a DOUBLE"},
		{"dc", `"ZQ=="`, "a DECIMAL: base64 of the unscaled 101 (decimal.handling.mode=precise)"},
		{"dc2", `"/UQ="`, "a negative DECIMAL: two's complement of -700"},
		{"b1", `true`, "BIT(1) is a boolean"},
		{"b10", `"AQI="`, "BIT(10) b'1000000001' is 513, little-endian bytes"},
		{"dt", `36160`, "a DATE in days since the epoch"},
		{"dtm", `1714558830500`, "a DATETIME(3) in milliseconds"},
		{"dtm2", `0`, "CURRENT_TIMESTAMP is taken as 1970-01-01 00:00:00"},
		{"ts", `"1970-01-01T00:00:00Z"`, "CURRENT_TIMESTAMP of a TIMESTAMP: the epoch (Debezium's documented value)"},
		{"ts2", `"2024-01-01T00:00:00Z"`, "a TIMESTAMP as ISO-8601 in UTC"},
		{"ts3", ``, "Debezium drops the epoch default of a nullable TIMESTAMP"},
		{"tm", `36000000000`, "a TIME in microseconds"},
		{"yr", `2069`, "a YEAR"},
		{"e", `"b"`, "an ENUM member"},
		{"st", `"x,y"`, "SET members"},
		{"c", `"it's"`, "a string, unquoted"},
		{"bn", `"YWIAAA=="`, "a BINARY(4), padded as the server shows it"},
		{"tx", `"tt"`, "a TEXT"},
		{"u", ``, "an expression has no default"},
		{"zd", `0`, "a zero date of a NOT NULL column is the epoch"},
		{"zd2", ``, "a zero date of a nullable column is null: no default"},
		{"nd", ``, "DEFAULT NULL writes none"},
		{"nn", ``, "no DEFAULT writes none"},
		{"bo", `1`, "TINYINT(1) stays a number"},
		{"em", `""`, "an empty string is a default"},
	}
	for _, c := range cases {
		t.Run(c.col, func(t *testing.T) {
			got := string(fieldSchema(t, tc, c.col)["default"])
			if got != c.want {
				t.Errorf("default %s, want %s (%s)", got, c.want, c.why)
			}
		})
	}
	if !strings.Contains(string(tc.keyHead), `"default":5,"field":"id"`) {
		t.Errorf("the key schema lacks the key's default: %s", tc.keyHead)
	}
}

// TestFieldDefaultsFromDDL: defaults as DDL in the binlog writes them,
// where the server has not rewritten the text yet: two-digit years are
// placed in 1970-2069 (Debezium's default time adjuster and the server
// agree), ALTER COLUMN SET DEFAULT and DROP DEFAULT change them.
func TestFieldDefaultsFromDDL(t *testing.T) {
	c := newCatalog()
	for _, ddl := range []string{
		"CREATE TABLE t (id INT PRIMARY KEY, a DATE DEFAULT '69-01-01', b DATE NOT NULL DEFAULT '70-1-1', " +
			"c DATETIME DEFAULT '99-12-31 23:59:59', e DATE DEFAULT '0069-01-01', f DATE DEFAULT 691231, " +
			"y YEAR DEFAULT 69, y2 YEAR DEFAULT '0', y3 YEAR DEFAULT 0, y4 YEAR DEFAULT '70', " +
			"m DECIMAL(5,2) DEFAULT 1.005, tm TIME DEFAULT '10:30', h VARBINARY(4) DEFAULT x'0102', bt BIT(4) DEFAULT 5, " +
			"ts TIMESTAMP NULL DEFAULT NOW(), k INT DEFAULT +7, dd DATE DEFAULT '2024-06-01')",
		"ALTER TABLE t ALTER COLUMN k SET DEFAULT -8, ALTER COLUMN dd DROP DEFAULT",
	} {
		if _, err := c.apply("db", ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
	}
	tc := newTableCodec("dbz", c.get("db", "t"), &dbzDefaults)
	cases := []struct {
		col, want, why string
	}{
		{"a", `36160`, "'69-01-01' is 2069-01-01"},
		{"b", `0`, "'70-1-1' is 1970-01-01"},
		{"c", `946684799000`, "'99-12-31 23:59:59' is in 1999"},
		{"e", `-694325`, "a four-digit year is the year as written, 0069"},
		{"f", `36524`, "YYMMDD digits: 691231 is 2069-12-31"},
		{"y", `2069`, "YEAR 69 is 2069"},
		{"y2", `2000`, "YEAR '0' is 2000"},
		{"y3", `0`, "YEAR 0 (a number) is 0000"},
		{"y4", `1970`, "YEAR '70' is 1970"},
		{"m", `"ZQ=="`, "1.005 at scale 2 rounds half up to 1.01"},
		{"tm", `37800000000`, "'10:30' is 10:30:00"},
		{"h", `"AQI="`, "a hex literal's bytes"},
		{"bt", `"BQ=="`, "BIT(4) DEFAULT 5"},
		{"ts", ``, "NOW() of a nullable TIMESTAMP: none"},
		{"k", `-8`, "ALTER COLUMN SET DEFAULT replaced +7"},
		{"dd", ``, "ALTER COLUMN DROP DEFAULT removed it"},
	}
	for _, c := range cases {
		t.Run(c.col, func(t *testing.T) {
			got := string(fieldSchema(t, tc, c.col)["default"])
			if got != c.want {
				t.Errorf("default %s, want %s (%s)", got, c.want, c.why)
			}
		})
	}
}

func TestTemporalDefaultText(t *testing.T) {
	cases := []struct {
		in, want string
		zero, ok bool
		why      string
	}{
		{"69-01-01", "2069-01-01 00:00:00", false, true, "two-digit year below 70: 20xx"},
		{"70-01-01", "1970-01-01 00:00:00", false, true, "two-digit year from 70: 19xx"},
		{"0069-01-01", "0069-01-01 00:00:00", false, true, "four digits are the year"},
		{"2024/5/1 1:2:3.5", "2024-05-01 01:02:03.5", false, true, "any punctuation, fractions kept"},
		{"2024-05-01T10:20:30", "2024-05-01 10:20:30", false, true, "T between date and time"},
		{"20240501", "2024-05-01 00:00:00", false, true, "YYYYMMDD"},
		{"991231235959", "1999-12-31 23:59:59", false, true, "YYMMDDhhmmss"},
		{"0000-00-00 00:00:00", "0000-00-00 00:00:00", true, true, "the zero date"},
		{"2024-00-05", "2024-00-05 00:00:00", true, true, "a zero month"},
		{"2024-13-01", "", false, false, "no month 13"},
		{"now", "", false, false, "not a date"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, zero, ok := temporalText(c.in)
			if got != c.want || zero != c.zero || ok != c.ok {
				t.Errorf("got %q zero %v ok %v, want %q %v %v (%s)", got, zero, ok, c.want, c.zero, c.ok, c.why)
			}
		})
	}
}

// TestSpatialColumns: spatial columns, which TiDB's parser does not know,
// are read from SHOW CREATE TABLE and from DDL in the binlog with their
// kinds, the other columns intact, and get Debezium's Geometry and Point
// schemas.
func TestSpatialColumns(t *testing.T) {
	d := fromCopy(&change.Table{Schema: "s", Name: "geo", Columns: make([]change.Column, 5),
		CreateSQL: "CREATE TABLE `geo` (\n  `id` int(11) NOT NULL,\n  `amount` decimal(10,2) NOT NULL DEFAULT 1.50,\n" +
			"  `g` geometry DEFAULT NULL,\n  `p` point NOT NULL,\n  `gc` geometrycollection DEFAULT NULL,\n" +
			"  PRIMARY KEY (`id`),\n  SPATIAL KEY `sp` (`p`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"})
	if got := kinds(d); got != "int,decimal,geometry,point,geometrycollection" || d.Columns[1].Scale != 2 || len(d.Key) != 1 || d.Columns[3].Nullable {
		t.Fatalf("from SHOW CREATE TABLE: %s, %+v", got, d)
	}
	c := newCatalog()
	for _, ddl := range []string{
		"CREATE TABLE geo (id INT PRIMARY KEY, p POINT NOT NULL SRID 4326, `point` INT, SPATIAL INDEX (p))",
		"ALTER TABLE geo ADD COLUMN ls LINESTRING REF_SYSTEM_ID=4326 AFTER id, ADD COLUMN mp MULTIPOLYGON",
	} {
		if _, err := c.apply("db", ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
	}
	if got := kinds(c.get("db", "geo")); got != "int,linestring,point,int,multipolygon" {
		t.Fatalf("from the binlog's DDL: %s", got)
	}
	tc := newTableCodec("dbz", d, &dbzDefaults)
	for _, s := range []struct{ col, want string }{
		{"g", `{"type":"struct","fields":[{"type":"bytes","optional":false,"field":"wkb"},{"type":"int32","optional":true,"field":"srid"}],` +
			`"optional":true,"name":"io.debezium.data.geometry.Geometry","version":1,"doc":"Geometry","field":"g"}`},
		{"p", `{"type":"struct","fields":[{"type":"double","optional":false,"field":"x"},{"type":"double","optional":false,"field":"y"},` +
			`{"type":"bytes","optional":true,"field":"wkb"},{"type":"int32","optional":true,"field":"srid"}],` +
			`"optional":false,"name":"io.debezium.data.geometry.Point","version":1,"doc":"Geometry (POINT)","field":"p"}`},
	} {
		i := d.column(s.col)
		if got := string(tc.fields[i].appendSchema(nil, d.Columns[i].Nullable)); got != s.want {
			t.Errorf("%s schema\n got %s\nwant %s", s.col, got, s.want)
		}
	}
}

func kinds(d *tableDef) string {
	var out []string
	for _, c := range d.Columns {
		out = append(out, c.Kind)
	}
	return strings.Join(out, ",")
}

// TestGeometryValues: the server's geometry value (SRID, then WKB), as the
// binlog and the full copy carry it, becomes Debezium's struct: WKB without
// the SRID, the SRID null when 0, and a point's coordinates.
func TestGeometryValues(t *testing.T) {
	point12 := hexBytes(t, "000000000101000000000000000000F03F0000000000000040")                                      // POINT(1 2), SRID 0
	point34 := hexBytes(t, "E6100000010100000000000000000008400000000000001040")                                      // POINT(3 4), SRID 4326
	line := hexBytes(t, "E610000001020000000200000000000000000000000000000000000000000000000000F03F000000000000F03F") // LINESTRING(0 0,1 1), SRID 4326
	cases := []struct {
		name string
		kind string
		in   any
		want string
	}{
		{"point, SRID 0 is null", "point", point12, `{"x":1,"y":2,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA","srid":null}`},
		{"point with an SRID", "point", point34, `{"x":3,"y":4,"wkb":"AQEAAAAAAAAAAAAIQAAAAAAAABBA","srid":4326}`},
		{"linestring", "linestring", line, `{"wkb":"AQIAAAACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAPA/AAAAAAAA8D8=","srid":4326}`},
		{"a point in a geometry column", "geometry", point12, `{"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA","srid":null}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := fieldFor(&colDef{Name: "g", Kind: c.kind, Nullable: true}, &dbzDefaults)
			got, err := f.conv(nil, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
	if _, err := fieldFor(&colDef{Kind: "point"}, &dbzDefaults).conv(nil, line); err == nil {
		t.Error("a linestring read as a point")
	}
}

func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dbzDefaults are Debezium's default settings.
var dbzDefaults = defaultOptions()
