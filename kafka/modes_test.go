package kafka

import (
	"strings"
	"testing"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
)

// TestFormatSettings: each Debezium setting changes a field's schema, its
// values and its default as the MySQL connector documents ("Data type
// mappings": decimal types, temporal types, basic types; connector
// properties decimal.handling.mode, time.precision.mode,
// bigint.unsigned.handling.mode, binary.handling.mode). Values are the
// binlog's (int64, float32, text) and the full copy's (text).
func TestFormatSettings(t *testing.T) {
	set := func(f func(*config.Task)) options {
		task := &config.Task{KafkaBrokerAddrs: []string{"k:1"}, KafkaTopic: "t"}
		f(task)
		task.Defaults()
		o, err := optionsOf(task)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	defaults := set(func(*config.Task) {})
	decDouble := set(func(t *config.Task) { t.DecimalHandlingMode = "double" })
	decString := set(func(t *config.Task) { t.DecimalHandlingMode = "string" })
	connect := set(func(t *config.Task) { t.TimePrecisionMode = "connect" })
	precise := set(func(t *config.Task) { t.BigintUnsignedHandlingMode = "precise" })
	hexMode := set(func(t *config.Task) { t.BinaryHandlingMode = "hex" })
	b64 := set(func(t *config.Task) { t.BinaryHandlingMode = "base64" })
	b64url := set(func(t *config.Task) { t.BinaryHandlingMode = "base64-url-safe" })

	dec := colDef{Name: "c", Kind: "decimal", Length: 65, Scale: 30, Nullable: true, HasDefault: true, Default: []byte("0.5")}
	cases := []struct {
		name   string
		col    colDef
		opts   options
		schema string // the field's schema without "field"
		in     []any
		want   []string
		why    string
	}{
		{"decimal precise", dec, defaults,
			`{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"30","connect.decimal.precision":"65"},"default":"Bk+WTmgjOnb1IAAAAA=="}`,
			[]any{"0.000000000000000000000000000001", "-1.5"}, []string{`"AQ=="`, `"7RE9FMeWUJsgoAAAAA=="`},
			"bytes, Decimal with scale and connect.decimal.precision; the unscaled value big-endian two's complement: " +
				"1, -1.5×10^30 and the default 0.5, 5×10^29"},
		{"decimal double", dec, decDouble, `{"type":"double","optional":true,"default":0.5}`,
			[]any{"0.000000000000000000000000000001", "-12345678901234567890123456789012345.123456789012345678901234567890"},
			[]string{`1e-30`, `-1.234567890123457e+34`}, "FLOAT64: the nearest double"},
		{"decimal string", dec, decString, `{"type":"string","optional":true,"default":"0.500000000000000000000000000000"}`,
			[]any{"0.000000000000000000000000000001", "0.000000000000000000000000000000", "-1.5", []byte("12.000000000000000000000000000000")},
			[]string{`"1E-30"`, `"0E-30"`, `"-1.500000000000000000000000000000"`, `"12.000000000000000000000000000000"`},
			"STRING: BigDecimal.toString at the column's scale, scientific below an exponent of -6"},
		{"decimal string, small scale", colDef{Name: "c", Kind: "decimal", Length: 10, Scale: 2}, decString, `{"type":"string","optional":false}`,
			[]any{"0.00", "-99999999.99", "0.05"}, []string{`"0.00"`, `"-99999999.99"`, `"0.05"`}, "plain while the exponent is -6 or more"},
		{"bigint unsigned long", colDef{Name: "c", Kind: "bigint", Unsigned: true}, defaults, `{"type":"int64","optional":false}`,
			[]any{int64(-1), "18446744073709551615"}, []string{`-1`, `-1`}, "long: 2^64-1 is Java's long -1"},
		{"bigint unsigned precise", colDef{Name: "c", Kind: "bigint", Unsigned: true, HasDefault: true, Default: []byte("255")}, precise,
			`{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0","connect.decimal.precision":"20"},"default":"AP8="}`,
			[]any{int64(-1), "18446744073709551615", int64(0), int64(127)}, []string{`"AP//////////"`, `"AP//////////"`, `"AA=="`, `"fw=="`},
			"precise: a Decimal of scale 0, precision 20"},
		{"signed bigint stays a long under precise", colDef{Name: "c", Kind: "bigint"}, precise, `{"type":"int64","optional":false}`,
			[]any{int64(-1)}, []string{`-1`}, "only BIGINT UNSIGNED changes"},
		{"binary hex", colDef{Name: "c", Kind: "binary", Length: 4, Charset: "binary", HasDefault: true, Default: []byte("ab")}, hexMode,
			`{"type":"string","optional":false,"default":"61620000"}`,
			[]any{[]byte{0xfb, 0xff, 0xbf}, []byte{0xAB, 0xCD, 0xEF, 0x01}}, []string{`"fbffbf00"`, `"abcdef01"`},
			"hex: lower case (HexConverter), BINARY padded"},
		{"varbinary base64", colDef{Name: "c", Kind: "varbinary", Charset: "binary", Nullable: true}, b64, `{"type":"string","optional":true}`,
			[]any{[]byte{0xfb, 0xff, 0xbf}, []byte{}}, []string{`"+/+/"`, `""`}, "base64: a string"},
		{"blob base64-url-safe", colDef{Name: "c", Kind: "blob", Charset: "binary", Nullable: true}, b64url, `{"type":"string","optional":true}`,
			[]any{[]byte{0xfb, 0xff, 0xbf}, []byte{1}}, []string{`"-_-_"`, `"AQ=="`}, "base64-url-safe: - and _, padded"},
		{"bytes", colDef{Name: "c", Kind: "tinyblob", Charset: "binary", Nullable: true}, defaults, `{"type":"bytes","optional":true}`,
			[]any{[]byte{0xfb, 0xff, 0xbf}}, []string{`"+/+/"`}, "bytes: base64 in JSON"},
		{"bits stay bytes in hex mode", colDef{Name: "c", Kind: "bit", Length: 10}, hexMode,
			`{"type":"bytes","optional":false,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"10"}}`,
			[]any{int64(513)}, []string{`"AQI="`}, "binary.handling.mode is about BINARY, VARBINARY and BLOB"},
		{"connect date", colDef{Name: "c", Kind: "date", Nullable: true, HasDefault: true, Default: []byte("2024-01-31")}, connect,
			`{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1,"default":19753}`,
			[]any{"1000-01-01", "0000-00-00"}, []string{`-354285`, `null`}, "Date: days since the epoch"},
		{"connect time", colDef{Name: "c", Kind: "time", Scale: 6, HasDefault: true, Default: []byte("01:00:00")}, connect,
			`{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1,"default":3600000}`,
			[]any{"23:59:59.999999", "00:00:00.000001", "-00:00:01", "24:00:00"}, []string{`86399999`, `0`, `0`, `0`},
			"Time: milliseconds past midnight; outside a day it has no value"},
		{"connect time nullable", colDef{Name: "c", Kind: "time", Nullable: true}, connect,
			`{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Time","version":1}`,
			[]any{"838:59:59"}, []string{`null`}, "outside 00:00:00-23:59:59.999"},
		{"connect datetime(6)", colDef{Name: "c", Kind: "datetime", Scale: 6, Nullable: true}, connect,
			`{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1}`,
			[]any{"9999-12-31 23:59:59.999999", "1000-01-01 00:00:00.000000"}, []string{`253402300799999`, `-30610224000000`},
			"Timestamp: milliseconds whatever the precision"},
		{"connect leaves TIMESTAMP", colDef{Name: "c", Kind: "timestamp", Scale: 3, Nullable: true}, connect,
			`{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1}`,
			[]any{"2024-05-01 10:20:30.500"}, []string{`"2024-05-01T10:20:30.500Z"`}, "TIMESTAMP does not depend on the mode"},
		{"adaptive datetime(6)", colDef{Name: "c", Kind: "datetime", Scale: 6}, defaults,
			`{"type":"int64","optional":false,"name":"io.debezium.time.MicroTimestamp","version":1}`,
			[]any{"9999-12-31 23:59:59.999999"}, []string{`253402300799999999`}, "MicroTimestamp for DATETIME(4-6)"},
		{"binlog year 0000", colDef{Name: "c", Kind: "year", Nullable: true}, defaults,
			`{"type":"int32","optional":true,"name":"io.debezium.time.Year","version":1}`,
			[]any{int64(0), "0000", int64(2155)}, []string{`1900`, `0`, `2155`}, "Debezium reads the binlog's YEAR as 1900 plus its byte"},
		{"boolean declared in DDL", colDef{Name: "c", Kind: "tinyint", Length: 1, Declared: "BOOLEAN", Nullable: true, HasDefault: true, Default: []byte("1")},
			defaults, `{"type":"boolean","optional":true,"default":true}`,
			[]any{int64(0), int64(1), int64(-5), "0"}, []string{`false`, `true`, `true`, `false`}, "BOOLEAN, BOOL: BOOLEAN (basic types)"},
		{"real declared in DDL", colDef{Name: "c", Kind: "double", Declared: "REAL", Nullable: true}, defaults, `{"type":"float","optional":true}`,
			[]any{float64(1.1), "0.1"}, []string{`1.1`, `0.1`}, "REAL: FLOAT32"},
		{"float(10,2) widens the stored float", colDef{Name: "c", Kind: "float", Length: 10, Scale: 2, ScaleSet: true, HasDefault: true, Default: []byte("1.1")},
			defaults, `{"type":"double","optional":false,"default":1.1}`,
			[]any{float32(1.1), "1.1"}, []string{`1.100000023841858`, `1.100000023841858`}, "FLOAT(M,D): FLOAT64, of the 4-byte value"},
		{"float(10,0) has a scale", colDef{Name: "c", Kind: "float", Length: 10, ScaleSet: true}, defaults, `{"type":"double","optional":false}`,
			[]any{float32(3)}, []string{`3`}, "a scale, even 0, makes it FLOAT64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := fieldFor(&c.col, &c.opts)
			schema := string(f.appendSchema(nil, c.col.Nullable))
			if want := strings.TrimSuffix(c.schema, "}") + `,"field":"c"}`; schema != want {
				t.Errorf("schema\n got %s\nwant %s (%s)", schema, want, c.why)
			}
			for i, in := range c.in {
				got, err := f.conv(nil, in)
				if err != nil {
					t.Fatalf("%v: %v", in, err)
				}
				if string(got) != c.want[i] {
					t.Errorf("%#v: got %s, want %s (%s)", in, got, c.want[i], c.why)
				}
			}
		})
	}
}

// TestSnapshotTimestampTrimmed: a TIMESTAMP(n) of the full copy has the
// fraction without trailing zeros, as Debezium's snapshot formats the
// driver's Timestamp (ISO_OFFSET_DATE_TIME); the binlog's have n digits
// (its ZonedTimestamp with the column's fractional width).
func TestSnapshotTimestampTrimmed(t *testing.T) {
	tc := newTableCodec("dbz", &tableDef{Schema: "s", Name: "t", Columns: []colDef{
		{Name: "ts", Kind: "timestamp", Scale: 6, Nullable: true}}}, &dbzDefaults)
	for _, c := range []struct {
		in         string
		snap, binl string
	}{
		{"2024-05-01 10:20:30.500000", `"2024-05-01T10:20:30.5Z"`, `"2024-05-01T10:20:30.500000Z"`},
		{"1970-01-01 00:00:01.000000", `"1970-01-01T00:00:01Z"`, `"1970-01-01T00:00:01.000000Z"`},
		{"2038-01-19 03:14:07.999999", `"2038-01-19T03:14:07.999999Z"`, `"2038-01-19T03:14:07.999999Z"`},
	} {
		snap, err := tc.appendValue(nil, 0, c.in, true)
		if err != nil {
			t.Fatal(err)
		}
		binl, err := tc.appendValue(nil, 0, c.in, false)
		if err != nil {
			t.Fatal(err)
		}
		if string(snap) != c.snap || string(binl) != c.binl {
			t.Errorf("%s: snapshot %s binlog %s, want %s and %s", c.in, snap, binl, c.snap, c.binl)
		}
	}
}

// TestKeyHeaders: the old and new keys in __debezium.oldkey and
// __debezium.newkey as Kafka Connect's default header converter
// (SimpleHeaderConverter, Values.convertToString) writes Debezium's key
// struct: {"name":value}, strings with only \ and " escaped, BigDecimal's
// and Java's number text, java.util.Date in ISO-8601.
func TestKeyHeaders(t *testing.T) {
	connect := defaultOptions()
	connect.connectTime = true
	d := &tableDef{Schema: "s", Name: "t", Key: []string{"s", "d", "f", "db", "dt", "tm", "dtm", "b", "i"}, Columns: []colDef{
		{Name: "s", Kind: "varchar"}, {Name: "d", Kind: "decimal", Length: 65, Scale: 30},
		{Name: "f", Kind: "float"}, {Name: "db", Kind: "double"}, {Name: "dt", Kind: "date"},
		{Name: "tm", Kind: "time", Scale: 3}, {Name: "dtm", Kind: "datetime", Scale: 3},
		{Name: "b", Kind: "varbinary", Charset: "binary"}, {Name: "i", Kind: "bigint", Unsigned: true},
	}}
	tc := newTableCodec("dbz", d, &connect)
	row := []any{[]byte("a\"b\\c\n"), "0.000000000000000000000000000001", float32(1e10), float64(0.001),
		"2024-01-31", "10:20:30.500", "1970-01-01 00:00:00.500", []byte{1, 2}, int64(-1)}
	h, err := tc.keyHeader(headerNewKey, row)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"s\":\"a\\\"b\\\\c\n\",\"d\":1E-30,\"f\":1.0E10,\"db\":0.001,\"dt\":2024-01-31,\"tm\":10:20:30.500Z," +
		"\"dtm\":00:00:00.500Z,\"b\":\"AQI=\",\"i\":-1}"
	if len(h) != 1 || h[0].Key != "__debezium.newkey" || string(h[0].Value) != want {
		t.Errorf("header %q\n got %s\nwant %s", h[0].Key, h[0].Value, want)
	}
	geo := newTableCodec("dbz", &tableDef{Schema: "s", Name: "g", Key: []string{"p"}, Columns: []colDef{{Name: "p", Kind: "point"}}}, &connect)
	h, err = geo.keyHeader(headerOldKey, []any{hexBytes(t, "000000000101000000000000000000F03F0000000000000040")})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"p":{"x":1.0,"y":2.0,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA","srid":null}}`; string(h[0].Value) != want {
		t.Errorf("a POINT key: %s, want %s (Values writes a nested struct as {name:value}, doubles as Java's)", h[0].Value, want)
	}
	for _, c := range []struct {
		x    float64
		bits int
		want string
	}{
		{100, 64, "100.0"}, {1.5, 32, "1.5"}, {1e7, 64, "1.0E7"}, {1.234e-5, 64, "1.234E-5"}, {0.001, 64, "0.001"},
		{-2.25e100, 64, "-2.25E100"}, {1.1, 32, "1.1"}, {9999999, 64, "9999999.0"},
	} {
		if got := string(appendJavaFloat(nil, c.x, c.bits)); got != c.want {
			t.Errorf("%v (%d bits): %s, want %s (Java's toString)", c.x, c.bits, got, c.want)
		}
	}
}

// TestTableChangesColumnTypes: the tableChanges column entries of DDL in
// the binlog as Debezium's DDL parser reports them (its MySQL data type
// table: the type keyword as written, the java.sql.Types code of its
// entry, DECIMAL and NUMERIC defaulting to (10,0), no dimension for
// BOOLEAN; a TIME, DATETIME or TIMESTAMP's digits are its length), and
// the same table read from SHOW CREATE TABLE as the snapshot reads it.
func TestTableChangesColumnTypes(t *testing.T) {
	c := newCatalog()
	if _, err := c.apply("db", "CREATE TABLE t (b BOOLEAN, b2 BOOL DEFAULT TRUE, r REAL, r2 REAL(10,2), d DECIMAL, n NUMERIC(5,1), "+
		"f FLOAT(10,2), f0 FLOAT(10,0), f1 FLOAT, dt DATETIME(6), ts TIMESTAMP, tb TINYBLOB, tm TIME(3))"); err != nil {
		t.Fatal(err)
	}
	entry := func(d *tableDef) map[string]string {
		out := map[string]string{}
		for _, cc := range describe("CREATE", d.name(), d).Table.Columns {
			s := cc.TypeName + " " + itoa(int64(cc.JdbcType))
			for _, p := range []*int{cc.Length, cc.Scale} {
				if p == nil {
					s += " null"
				} else {
					s += " " + itoa(int64(*p))
				}
			}
			out[cc.Name] = s
		}
		return out
	}
	want := map[string]string{
		"b": "BOOLEAN 16 null null", "b2": "BOOL 16 null null", "r": "REAL 7 null null", "r2": "REAL 7 10 2",
		"d": "DECIMAL 3 10 0", "n": "NUMERIC 2 5 1", "f": "FLOAT 6 10 2", "f0": "FLOAT 6 10 0", "f1": "FLOAT 6 null null",
		"dt": "DATETIME 93 6 null", "ts": "TIMESTAMP 2014 null null", "tb": "TINYBLOB 2004 null null", "tm": "TIME 92 3 null",
	}
	got := entry(c.get("db", "t"))
	for name, w := range want {
		if got[name] != w {
			t.Errorf("binlog DDL %s: %s, want %s (typeName jdbcType length scale)", name, got[name], w)
		}
	}
	tc := newTableCodec("dbz", c.get("db", "t"), &dbzDefaults)
	for name, typ := range map[string]string{"b": "boolean", "b2": "boolean", "r": "float", "r2": "float", "f": "double", "f0": "double", "f1": "float"} {
		if f := tc.fields[tc.def.column(name)]; f.typ != typ {
			t.Errorf("%s: schema type %s, want %s", name, f.typ, typ)
		}
	}
	if def := string(tc.fields[tc.def.column("b2")].def); def != "true" {
		t.Errorf("BOOL DEFAULT TRUE: default %s, want true", def)
	}
	// SHOW CREATE TABLE of the same table, as MariaDB writes it.
	snap := fromCopy(&change.Table{Schema: "db", Name: "t", Columns: make([]change.Column, 4), CreateSQL: "CREATE TABLE `t` (\n" +
		"  `b` tinyint(1) DEFAULT NULL,\n  `r` double DEFAULT NULL,\n  `d` decimal(10,0) DEFAULT NULL,\n  `f` float(10,2) DEFAULT NULL\n) ENGINE=InnoDB"})
	got = entry(snap)
	for name, w := range map[string]string{"b": "TINYINT 5 1 null", "r": "DOUBLE 8 null null", "d": "DECIMAL 3 10 0", "f": "FLOAT 6 10 2"} {
		if got[name] != w {
			t.Errorf("SHOW CREATE TABLE %s: %s, want %s", name, got[name], w)
		}
	}
	// ALTER back to TINYINT(1): no longer a BOOLEAN.
	if _, err := c.apply("db", "ALTER TABLE t MODIFY b TINYINT(1), ADD COLUMN nb BOOLEAN"); err != nil {
		t.Fatal(err)
	}
	got = entry(c.get("db", "t"))
	if got["b"] != "TINYINT 5 1 null" || got["nb"] != "BOOLEAN 16 null null" || got["b2"] != "BOOL 16 null null" {
		t.Errorf("after ALTER: b %s, nb %s, b2 %s", got["b"], got["nb"], got["b2"])
	}
}
