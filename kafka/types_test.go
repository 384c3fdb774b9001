package kafka_test

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// typeCase is one column of TestDataTypesAsDebeziumDocuments: its
// definition, three rows of values (SQL), and what Debezium's MySQL
// connector documents for it: the field's schema (without "field") and
// the three payload values, for the full copy and, where they differ,
// the binlog. The table is created before the job, so Debezium, like the
// job, knows it from SHOW CREATE TABLE (MariaDB's spelling of the types).
type typeCase struct {
	col, ddl string
	values   [3]string
	schema   string
	payload  [3]string
	binlog   [3]string // "": as payload
	src      string    // where the expectation comes from
	// modes are the expectations under the other runs' settings (by run
	// name), for the columns they change.
	modes map[string]typeWant
}

type typeWant struct {
	schema  string
	payload [3]string
}

// Runs of the test: the defaults, then every other value of the four
// format settings (base64 is bytes' JSON text under a string schema: unit
// tests).
const (
	runStringConnect = "decimal string, time connect, bigint precise, binary hex"
	runDouble        = "decimal double, binary base64-url-safe"
)

// Sources of the expectations, all in Debezium's documentation of the
// MySQL connector ("Data type mappings" and "Connector properties"),
// except where a case says otherwise.
const (
	docBasic    = "Data type mappings, basic types"
	docTemporal = "Data type mappings, temporal types (adaptive_time_microseconds; connect)"
	docDecimal  = "Data type mappings, decimal types; decimal.handling.mode"
	docBinary   = "Data type mappings, basic types (BINARY, VARBINARY, BLOB); binary.handling.mode"
	docBoolean  = "Data type mappings, boolean values: a snapshot reads TINYINT(1)"
	docSpatial  = "Data type mappings, spatial types"
	docZero     = "Data type mappings, temporal types: zero values are null in nullable columns, the epoch in NOT NULL ones"
	docDefault  = "Change event values: defaults in the schema, as the field's type"
)

// Java's BigDecimal.toString (decimal.handling.mode=string) and
// doubleValue (double), of the values below.
var typeCases = []typeCase{
	{col: "b1", ddl: "BIT(1)", values: [3]string{"b'0'", "b'1'", "NULL"},
		schema: `{"type":"boolean","optional":true}`, payload: [3]string{`false`, `true`, `null`}, src: docBasic + ": BIT(1) BOOLEAN"},
	{col: "b10", ddl: "BIT(10)", values: [3]string{"b'0'", "b'1000000001'", "NULL"},
		schema:  `{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"10"}}`,
		payload: [3]string{`"AAA="`, `"AQI="`, `null`}, src: docBasic + ": BIT(>1) Bits, length, little-endian, n/8+1 bytes"},
	{col: "b64", ddl: "BIT(64)", values: [3]string{"b'0'", "b'" + strings.Repeat("1", 64) + "'", "NULL"},
		schema:  `{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"64"}}`,
		payload: [3]string{`"AAAAAAAAAAA="`, `"//////////8="`, `null`}, src: docBasic + ": BIT(>1)"},
	{col: "bo", ddl: "BOOLEAN", values: [3]string{"0", "1", "NULL"},
		schema: `{"type":"int16","optional":true}`, payload: [3]string{`0`, `1`, `null`}, src: docBoolean},
	{col: "ti", ddl: "TINYINT", values: [3]string{"-128", "127", "NULL"},
		schema: `{"type":"int16","optional":true}`, payload: [3]string{`-128`, `127`, `null`}, src: docBasic + ": TINYINT INT16"},
	{col: "tiu", ddl: "TINYINT UNSIGNED", values: [3]string{"0", "255", "NULL"},
		schema: `{"type":"int16","optional":true}`, payload: [3]string{`0`, `255`, `null`}, src: docBasic + ": TINYINT INT16"},
	{col: "si", ddl: "SMALLINT", values: [3]string{"-32768", "32767", "NULL"},
		schema: `{"type":"int16","optional":true}`, payload: [3]string{`-32768`, `32767`, `null`}, src: docBasic + ": SMALLINT INT16"},
	{col: "siu", ddl: "SMALLINT UNSIGNED", values: [3]string{"0", "65535", "NULL"},
		schema: `{"type":"int32","optional":true}`, payload: [3]string{`0`, `65535`, `null`},
		src: "the connector's value converters widen SMALLINT UNSIGNED to INT32 (the documentation's table has SMALLINT only)"},
	{col: "mi", ddl: "MEDIUMINT", values: [3]string{"-8388608", "8388607", "NULL"},
		schema: `{"type":"int32","optional":true}`, payload: [3]string{`-8388608`, `8388607`, `null`}, src: docBasic + ": MEDIUMINT INT32"},
	{col: "miu", ddl: "MEDIUMINT UNSIGNED", values: [3]string{"0", "16777215", "NULL"},
		schema: `{"type":"int32","optional":true}`, payload: [3]string{`0`, `16777215`, `null`}, src: docBasic + ": MEDIUMINT INT32"},
	{col: "i", ddl: "INT", values: [3]string{"-2147483648", "2147483647", "NULL"},
		schema: `{"type":"int32","optional":true}`, payload: [3]string{`-2147483648`, `2147483647`, `null`}, src: docBasic + ": INT INT32"},
	{col: "iu", ddl: "INT UNSIGNED", values: [3]string{"0", "4294967295", "NULL"},
		schema: `{"type":"int64","optional":true}`, payload: [3]string{`0`, `4294967295`, `null`},
		src: "the connector's value converters widen INT UNSIGNED to INT64"},
	{col: "bi", ddl: "BIGINT", values: [3]string{"-9223372036854775808", "9223372036854775807", "NULL"},
		schema: `{"type":"int64","optional":true}`, payload: [3]string{`-9223372036854775808`, `9223372036854775807`, `null`}, src: docBasic + ": BIGINT INT64"},
	{col: "biu", ddl: "BIGINT UNSIGNED", values: [3]string{"0", "18446744073709551615", "NULL"},
		schema: `{"type":"int64","optional":true}`, payload: [3]string{`0`, `-1`, `null`},
		src: "bigint.unsigned.handling.mode: long (values above 2^63 do not fit: Java's long of 2^64-1 is -1); precise: a Decimal of scale 0, precision 20",
		modes: map[string]typeWant{runStringConnect: {
			schema:  `{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0","connect.decimal.precision":"20"}}`,
			payload: [3]string{`"AA=="`, `"AP//////////"`, `null`}}}},
	{col: "r", ddl: "REAL", values: [3]string{"-1.5e300", "1.7976931348623157e308", "NULL"},
		schema: `{"type":"double","optional":true}`, payload: [3]string{`-1.5e300`, `1.7976931348623157e308`, `null`},
		src: docBasic + ": DOUBLE FLOAT64 (SHOW CREATE TABLE says double; REAL in DDL: TestDebeziumSettings)"},
	{col: "f", ddl: "FLOAT", values: [3]string{"-3.40282e38", "3.40282e38", "NULL"},
		schema: `{"type":"float","optional":true}`, payload: [3]string{`-3.40282e38`, `3.40282e38`, `null`}, src: docBasic + ": FLOAT(P) FLOAT32 for P up to 23"},
	{col: "f25", ddl: "FLOAT(25)", values: [3]string{"1e-300", "-1e300", "NULL"},
		schema: `{"type":"double","optional":true}`, payload: [3]string{`1e-300`, `-1e300`, `null`}, src: docBasic + ": FLOAT(P) FLOAT64 for P from 24"},
	{col: "fmd", ddl: "FLOAT(10,2)", values: [3]string{"1.1", "-12345.5", "NULL"},
		schema: `{"type":"double","optional":true}`, payload: [3]string{`1.100000023841858`, `-12345.5`, `null`},
		src: docBasic + ": FLOAT(M,D) FLOAT64, of the 4-byte float the server stores (1.1f widened)"},
	{col: "db", ddl: "DOUBLE", values: [3]string{"2.2250738585072014e-308", "-1.7976931348623157e308", "NULL"},
		schema: `{"type":"double","optional":true}`, payload: [3]string{`2.2250738585072014e-308`, `-1.7976931348623157e308`, `null`}, src: docBasic + ": DOUBLE FLOAT64"},
	{col: "d", ddl: "DECIMAL(10,2)", values: [3]string{"-99999999.99", "99999999.99", "NULL"},
		schema:  `{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"}}`,
		payload: [3]string{`"/av0HAE="`, `"AlQL4/8="`, `null`}, src: docDecimal + ": unscaled ∓9999999999, big-endian two's complement",
		modes: map[string]typeWant{
			runStringConnect: {`{"type":"string","optional":true}`, [3]string{`"-99999999.99"`, `"99999999.99"`, `null`}},
			runDouble:        {`{"type":"double","optional":true}`, [3]string{`-99999999.99`, `99999999.99`, `null`}}}},
	{col: "dbare", ddl: "DECIMAL", values: [3]string{"-9999999999", "9999999999", "NULL"},
		schema:  `{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0","connect.decimal.precision":"10"}}`,
		payload: [3]string{`"/av0HAE="`, `"AlQL4/8="`, `null`}, src: docDecimal + ": DECIMAL is DECIMAL(10,0)",
		modes: map[string]typeWant{
			runStringConnect: {`{"type":"string","optional":true}`, [3]string{`"-9999999999"`, `"9999999999"`, `null`}},
			runDouble:        {`{"type":"double","optional":true}`, [3]string{`-9999999999`, `9999999999`, `null`}}}},
	{col: "d65", ddl: "DECIMAL(65,30)", values: [3]string{"-99999999999999999999999999999999999.999999999999999999999999999999",
		"0.000000000000000000000000000001", "0"},
		schema:  `{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"30","connect.decimal.precision":"65"}}`,
		payload: [3]string{`"/wzp2OOAPG91dBC5sca6EIXayfYAAAAAAAAAAQ=="`, `"AQ=="`, `"AA=="`}, src: docDecimal + ": the widest DECIMAL; string is BigDecimal.toString",
		modes: map[string]typeWant{
			runStringConnect: {`{"type":"string","optional":true}`, [3]string{
				`"-99999999999999999999999999999999999.999999999999999999999999999999"`, `"1E-30"`, `"0E-30"`}},
			runDouble: {`{"type":"double","optional":true}`, [3]string{`-1e35`, `1e-30`, `0`}}}},
	{col: "n", ddl: "NUMERIC(5,1)", values: [3]string{"-9999.9", "9999.9", "NULL"},
		schema:  `{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"1","connect.decimal.precision":"5"}}`,
		payload: [3]string{`"/nlh"`, `"AYaf"`, `null`}, src: docDecimal + ": NUMERIC as DECIMAL",
		modes: map[string]typeWant{
			runStringConnect: {`{"type":"string","optional":true}`, [3]string{`"-9999.9"`, `"9999.9"`, `null`}},
			runDouble:        {`{"type":"double","optional":true}`, [3]string{`-9999.9`, `9999.9`, `null`}}}},
	{col: "c", ddl: "CHAR(10)", values: [3]string{"''", "'ten chars!'", "NULL"},
		schema: `{"type":"string","optional":true}`, payload: [3]string{`""`, `"ten chars!"`, `null`}, src: docBasic + ": CHAR STRING"},
	{col: "vc", ddl: "VARCHAR(100) CHARACTER SET utf8mb4", values: [3]string{"'emoji 😀 中文 \"q\" \\\\'", "''", "NULL"},
		schema: `{"type":"string","optional":true}`, payload: [3]string{`"emoji 😀 中文 \"q\" \\"`, `""`, `null`}, src: docBasic + ": VARCHAR STRING"},
	{col: "l1", ddl: "VARCHAR(10) CHARACTER SET latin1", values: [3]string{"'café'", "''", "NULL"},
		schema: `{"type":"string","optional":true}`, payload: [3]string{`"café"`, `""`, `null`}, src: "Data type mappings: strings read in the column's character set"},
	{col: "bn", ddl: "BINARY(4)", values: [3]string{"x'01'", "x'ffffffff'", "NULL"},
		schema: `{"type":"bytes","optional":true}`, payload: [3]string{`"AQAAAA=="`, `"/////w=="`, `null`}, src: docBinary + "; BINARY right-padded with 0x00 (BinlogValueConverters)",
		modes: map[string]typeWant{
			runStringConnect: {`{"type":"string","optional":true}`, [3]string{`"01000000"`, `"ffffffff"`, `null`}},
			runDouble:        {`{"type":"string","optional":true}`, [3]string{`"AQAAAA=="`, `"_____w=="`, `null`}}}},
	{col: "vb", ddl: "VARBINARY(10)", values: [3]string{"x''", "x'fbffbf'", "NULL"},
		schema: `{"type":"bytes","optional":true}`, payload: [3]string{`""`, `"+/+/"`, `null`}, src: docBinary,
		modes: map[string]typeWant{
			runStringConnect: {`{"type":"string","optional":true}`, [3]string{`""`, `"fbffbf"`, `null`}},
			runDouble:        {`{"type":"string","optional":true}`, [3]string{`""`, `"-_-_"`, `null`}}}},
	{col: "tb", ddl: "TINYBLOB", values: [3]string{"x'00'", "x'deadbeef'", "NULL"},
		schema: `{"type":"bytes","optional":true}`, payload: [3]string{`"AA=="`, `"3q2+7w=="`, `null`}, src: docBinary,
		modes: map[string]typeWant{
			runStringConnect: {`{"type":"string","optional":true}`, [3]string{`"00"`, `"deadbeef"`, `null`}},
			runDouble:        {`{"type":"string","optional":true}`, [3]string{`"AA=="`, `"3q2-7w=="`, `null`}}}},
	{col: "bl", ddl: "BLOB", values: [3]string{"x'00ff'", "x''", "NULL"},
		schema: `{"type":"bytes","optional":true}`, payload: [3]string{`"AP8="`, `""`, `null`}, src: docBinary,
		modes: map[string]typeWant{
			runStringConnect: {`{"type":"string","optional":true}`, [3]string{`"00ff"`, `""`, `null`}},
			runDouble:        {`{"type":"string","optional":true}`, [3]string{`"AP8="`, `""`, `null`}}}},
	{col: "mb", ddl: "MEDIUMBLOB", values: [3]string{"x'00ff'", "x''", "NULL"},
		schema: `{"type":"bytes","optional":true}`, payload: [3]string{`"AP8="`, `""`, `null`}, src: docBinary,
		modes: map[string]typeWant{
			runStringConnect: {`{"type":"string","optional":true}`, [3]string{`"00ff"`, `""`, `null`}},
			runDouble:        {`{"type":"string","optional":true}`, [3]string{`"AP8="`, `""`, `null`}}}},
	{col: "lb", ddl: "LONGBLOB", values: [3]string{"x'00ff'", "x''", "NULL"},
		schema: `{"type":"bytes","optional":true}`, payload: [3]string{`"AP8="`, `""`, `null`}, src: docBinary,
		modes: map[string]typeWant{
			runStringConnect: {`{"type":"string","optional":true}`, [3]string{`"00ff"`, `""`, `null`}},
			runDouble:        {`{"type":"string","optional":true}`, [3]string{`"AP8="`, `""`, `null`}}}},
	{col: "tt", ddl: "TINYTEXT", values: [3]string{"'t'", "''", "NULL"},
		schema: `{"type":"string","optional":true}`, payload: [3]string{`"t"`, `""`, `null`}, src: docBasic + ": TINYTEXT STRING"},
	{col: "tx", ddl: "TEXT", values: [3]string{"'line\\nnext'", "''", "NULL"},
		schema: `{"type":"string","optional":true}`, payload: [3]string{`"line\nnext"`, `""`, `null`}, src: docBasic + ": TEXT STRING"},
	{col: "mt", ddl: "MEDIUMTEXT", values: [3]string{"'m'", "''", "NULL"},
		schema: `{"type":"string","optional":true}`, payload: [3]string{`"m"`, `""`, `null`}, src: docBasic + ": MEDIUMTEXT STRING"},
	{col: "lt", ddl: "LONGTEXT", values: [3]string{"'<&>'", "''", "NULL"},
		schema: `{"type":"string","optional":true}`, payload: [3]string{`"<&>"`, `""`, `null`}, src: docBasic + ": LONGTEXT STRING"},
	{col: "js", ddl: "JSON", values: [3]string{`'{"k": [1, 2.5, "s"]}'`, "'[]'", "NULL"},
		schema: `{"type":"string","optional":true}`, payload: [3]string{`"{\"k\": [1, 2.5, \"s\"]}"`, `"[]"`, `null`},
		src: "MariaDB's JSON is LONGTEXT, which its SHOW CREATE TABLE says: LONGTEXT STRING (" + docBasic + "); JSON in DDL is io.debezium.data.Json (TestDebeziumSettings)"},
	{col: "e", ddl: "ENUM('a','b,c')", values: [3]string{"'a'", "'b,c'", "NULL"},
		schema:  `{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"a,b\\,c"}}`,
		payload: [3]string{`"a"`, `"b,c"`, `null`}, src: docBasic + ": ENUM Enum, allowed (a comma in a member as \\, as the connector escapes it)"},
	{col: "st", ddl: "SET('x','y','z')", values: [3]string{"''", "'x,y,z'", "NULL"},
		schema:  `{"type":"string","optional":true,"name":"io.debezium.data.EnumSet","version":1,"parameters":{"allowed":"x,y,z"}}`,
		payload: [3]string{`""`, `"x,y,z"`, `null`}, src: docBasic + ": SET EnumSet, allowed"},
	{col: "yr", ddl: "YEAR", values: [3]string{"1901", "2155", "0"},
		schema:  `{"type":"int32","optional":true,"name":"io.debezium.time.Year","version":1}`,
		payload: [3]string{`1901`, `2155`, `0`}, binlog: [3]string{"", "", `1900`},
		src: docBasic + ": YEAR Year; the binlog's YEAR 0000 is 1900 as the connector's binlog reader decodes it (1900 + the stored byte)"},
	{col: "ts", ddl: "TIMESTAMP(6) NULL", values: [3]string{"'1970-01-01 00:00:01.000000'", "'2038-01-19 03:14:07.999999'", "'2024-05-01 10:20:30.500000'"},
		schema:  `{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1}`,
		payload: [3]string{`"1970-01-01T00:00:01Z"`, `"2038-01-19T03:14:07.999999Z"`, `"2024-05-01T10:20:30.5Z"`},
		binlog:  [3]string{`"1970-01-01T00:00:01.000000Z"`, "", `"2024-05-01T10:20:30.500000Z"`},
		src: docBasic + ": TIMESTAMP ZonedTimestamp, ISO 8601 in UTC; the snapshot formats the driver's Timestamp (ISO_OFFSET_DATE_TIME, " +
			"trailing zeros dropped), the binlog's with the column's digits (ZonedTimestamp's fractional width)"},
	{col: "ts0", ddl: "TIMESTAMP NULL", values: [3]string{"'1970-01-01 00:00:01'", "'2038-01-19 03:14:07'", "NULL"},
		schema:  `{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1}`,
		payload: [3]string{`"1970-01-01T00:00:01Z"`, `"2038-01-19T03:14:07Z"`, `null`}, src: docBasic + ": TIMESTAMP ZonedTimestamp"},
	{col: "dt", ddl: "DATE", values: [3]string{"'1000-01-01'", "'9999-12-31'", "'0000-00-00'"},
		schema:  `{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1}`,
		payload: [3]string{`-354285`, `2932896`, `null`}, src: docTemporal + ": DATE, days since the epoch; " + docZero,
		modes: map[string]typeWant{runStringConnect: {`{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1}`,
			[3]string{`-354285`, `2932896`, `null`}}}},
	{col: "tm", ddl: "TIME", values: [3]string{"'-838:59:59'", "'838:59:59'", "'00:00:00'"},
		schema:  `{"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1}`,
		payload: [3]string{`-3020399000000`, `3020399000000`, `0`}, src: docTemporal + ": TIME MicroTime, microseconds",
		modes: map[string]typeWant{runStringConnect: {`{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Time","version":1}`,
			[3]string{`null`, `null`, `0`}}}},
	{col: "tm6", ddl: "TIME(6)", values: [3]string{"'-838:59:59.999999'", "'838:59:59.999999'", "'23:59:59.999999'"},
		schema:  `{"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1}`,
		payload: [3]string{`-3020399999999`, `3020399999999`, `86399999999`}, src: docTemporal + ": TIME(M) MicroTime; connect: only 00:00:00-23:59:59.999",
		modes: map[string]typeWant{runStringConnect: {`{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Time","version":1}`,
			[3]string{`null`, `null`, `86399999`}}}},
	{col: "dtm", ddl: "DATETIME", values: [3]string{"'1000-01-01 00:00:00'", "'9999-12-31 23:59:59'", "'0000-00-00 00:00:00'"},
		schema:  `{"type":"int64","optional":true,"name":"io.debezium.time.Timestamp","version":1}`,
		payload: [3]string{`-30610224000000`, `253402300799000`, `null`}, src: docTemporal + ": DATETIME Timestamp, milliseconds, as UTC; " + docZero,
		modes: map[string]typeWant{runStringConnect: {`{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1}`,
			[3]string{`-30610224000000`, `253402300799000`, `null`}}}},
	{col: "dtm3", ddl: "DATETIME(3)", values: [3]string{"'1000-01-01 00:00:00.000'", "'9999-12-31 23:59:59.999'", "NULL"},
		schema:  `{"type":"int64","optional":true,"name":"io.debezium.time.Timestamp","version":1}`,
		payload: [3]string{`-30610224000000`, `253402300799999`, `null`}, src: docTemporal + ": DATETIME(0-3) Timestamp",
		modes: map[string]typeWant{runStringConnect: {`{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1}`,
			[3]string{`-30610224000000`, `253402300799999`, `null`}}}},
	{col: "dtm6", ddl: "DATETIME(6)", values: [3]string{"'1000-01-01 00:00:00.000000'", "'9999-12-31 23:59:59.999999'", "NULL"},
		schema:  `{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1}`,
		payload: [3]string{`-30610224000000000`, `253402300799999999`, `null`}, src: docTemporal + ": DATETIME(4-6) MicroTimestamp; connect: milliseconds",
		modes: map[string]typeWant{runStringConnect: {`{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1}`,
			[3]string{`-30610224000000`, `253402300799999`, `null`}}}},
	{col: "g", ddl: "GEOMETRY", values: [3]string{"ST_GeomFromText('LINESTRING(0 0,1 1)', 4326)", "ST_GeomFromText('POINT(1 2)')", "NULL"},
		schema: `{"type":"struct","fields":[{"type":"bytes","optional":false,"field":"wkb"},{"type":"int32","optional":true,"field":"srid"}],` +
			`"optional":true,"name":"io.debezium.data.geometry.Geometry","version":1,"doc":"Geometry"}`,
		payload: [3]string{`{"wkb":"AQIAAAACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAPA/AAAAAAAA8D8=","srid":4326}`, `{"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA","srid":null}`, `null`},
		src:     docSpatial + ": Geometry {wkb, srid}"},
	{col: "p", ddl: "POINT", values: [3]string{"POINT(1, 2)", "POINT(-1.5, 1e10)", "NULL"},
		schema: `{"type":"struct","fields":[{"type":"double","optional":false,"field":"x"},{"type":"double","optional":false,"field":"y"},` +
			`{"type":"bytes","optional":true,"field":"wkb"},{"type":"int32","optional":true,"field":"srid"}],` +
			`"optional":true,"name":"io.debezium.data.geometry.Point","version":1,"doc":"Geometry (POINT)"}`,
		payload: [3]string{`{"x":1,"y":2,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA","srid":null}`, `{"x":-1.5,"y":1e10,"wkb":"AQEAAAAAAAAAAAD4vwAAACBfoAJC","srid":null}`, `null`},
		src:     "the connector's Point schema (x, y, wkb, srid) for POINT"},
	// NOT NULL columns with defaults: the third row takes the default.
	{col: "nd", ddl: "INT NOT NULL DEFAULT 42", values: [3]string{"-1", "1", "DEFAULT"},
		schema: `{"type":"int32","optional":false,"default":42}`, payload: [3]string{`-1`, `1`, `42`}, src: docDefault},
	{col: "ndc", ddl: "DECIMAL(6,2) NOT NULL DEFAULT 1.50", values: [3]string{"0", "-0.01", "DEFAULT"},
		schema:  `{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"6"},"default":"AJY="}`,
		payload: [3]string{`"AA=="`, `"/w=="`, `"AJY="`}, src: docDefault + "; " + docDecimal + ": unscaled 0, -1, 150",
		modes: map[string]typeWant{
			runStringConnect: {`{"type":"string","optional":false,"default":"1.50"}`, [3]string{`"0.00"`, `"-0.01"`, `"1.50"`}},
			runDouble:        {`{"type":"double","optional":false,"default":1.5}`, [3]string{`0`, `-0.01`, `1.5`}}}},
	{col: "ndt", ddl: "DATE NOT NULL DEFAULT '2024-01-31'", values: [3]string{"'0000-00-00'", "'2000-02-29'", "DEFAULT"},
		schema:  `{"type":"int32","optional":false,"name":"io.debezium.time.Date","version":1,"default":19753}`,
		payload: [3]string{`0`, `11016`, `19753`}, src: docDefault + "; " + docZero,
		modes: map[string]typeWant{runStringConnect: {`{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1,"default":19753}`,
			[3]string{`0`, `11016`, `19753`}}}},
	{col: "ntm", ddl: "TIME(3) NOT NULL DEFAULT '01:00:00.5'", values: [3]string{"'00:00:00'", "'-00:00:01'", "DEFAULT"},
		schema:  `{"type":"int64","optional":false,"name":"io.debezium.time.MicroTime","version":1,"default":3600500000}`,
		payload: [3]string{`0`, `-1000000`, `3600500000`}, src: docDefault + "; " + docTemporal,
		modes: map[string]typeWant{runStringConnect: {`{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1,"default":3600500}`,
			[3]string{`0`, `0`, `3600500`}}}},
	{col: "ndtm", ddl: "DATETIME(3) NOT NULL DEFAULT '2024-05-01 10:20:30.500'", values: [3]string{"'1999-12-31 23:59:59.999'", "'0000-00-00 00:00:00.000'", "DEFAULT"},
		schema:  `{"type":"int64","optional":false,"name":"io.debezium.time.Timestamp","version":1,"default":1714558830500}`,
		payload: [3]string{`946684799999`, `0`, `1714558830500`}, src: docDefault + "; " + docZero,
		modes: map[string]typeWant{runStringConnect: {`{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"default":1714558830500}`,
			[3]string{`946684799999`, `0`, `1714558830500`}}}},
	{col: "nts", ddl: "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP", values: [3]string{"'2000-01-01 00:00:00'", "'2038-01-19 03:14:07'", "'1970-01-01 00:00:01'"},
		schema:  `{"type":"string","optional":false,"name":"io.debezium.time.ZonedTimestamp","version":1,"default":"1970-01-01T00:00:00Z"}`,
		payload: [3]string{`"2000-01-01T00:00:00Z"`, `"2038-01-19T03:14:07Z"`, `"1970-01-01T00:00:01Z"`},
		src:     docTemporal + ": a TIMESTAMP defaulting to CURRENT_TIMESTAMP has 1970-01-01 00:00:00 as its schema's default"},
	{col: "nvc", ddl: "VARCHAR(5) NOT NULL DEFAULT 'x\"y'", values: [3]string{"'a'", "''", "DEFAULT"},
		schema: `{"type":"string","optional":false,"default":"x\"y"}`, payload: [3]string{`"a"`, `""`, `"x\"y"`}, src: docDefault},
	{col: "ne", ddl: "ENUM('a','b') NOT NULL DEFAULT 'b'", values: [3]string{"'a'", "'b'", "DEFAULT"},
		schema:  `{"type":"string","optional":false,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"a,b"},"default":"b"}`,
		payload: [3]string{`"a"`, `"b"`, `"b"`}, src: docDefault},
	{col: "nbit", ddl: "BIT(10) NOT NULL DEFAULT b'11'", values: [3]string{"b'0'", "b'1111111111'", "DEFAULT"},
		schema:  `{"type":"bytes","optional":false,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"10"},"default":"AwA="}`,
		payload: [3]string{`"AAA="`, `"/wM="`, `"AwA="`}, src: docDefault + "; " + docBasic + ": Bits little-endian"},
	{col: "nbn", ddl: "VARBINARY(4) NOT NULL DEFAULT 'ab'", values: [3]string{"x''", "x'01'", "DEFAULT"},
		schema: `{"type":"bytes","optional":false,"default":"YWI="}`, payload: [3]string{`""`, `"AQ=="`, `"YWI="`}, src: docDefault + "; " + docBinary,
		modes: map[string]typeWant{
			runStringConnect: {`{"type":"string","optional":false,"default":"6162"}`, [3]string{`""`, `"01"`, `"6162"`}},
			runDouble:        {`{"type":"string","optional":false,"default":"YWI="}`, [3]string{`""`, `"AQ=="`, `"YWI="`}}}},
	{col: "nf", ddl: "FLOAT NOT NULL DEFAULT 1.5", values: [3]string{"0", "-1.25", "DEFAULT"},
		schema: `{"type":"float","optional":false,"default":1.5}`, payload: [3]string{`0`, `-1.25`, `1.5`}, src: docDefault},
	{col: "nyr", ddl: "YEAR NOT NULL DEFAULT 2024", values: [3]string{"1901", "2155", "DEFAULT"},
		schema:  `{"type":"int32","optional":false,"name":"io.debezium.time.Year","version":1,"default":2024}`,
		payload: [3]string{`1901`, `2155`, `2024`}, src: docDefault},
	{col: "nbo", ddl: "BOOLEAN NOT NULL DEFAULT TRUE", values: [3]string{"0", "1", "DEFAULT"},
		schema: `{"type":"int16","optional":false,"default":1}`, payload: [3]string{`0`, `1`, `1`}, src: docDefault + "; " + docBoolean},
	{col: "nbiu", ddl: "BIGINT UNSIGNED NOT NULL DEFAULT 18446744073709551615", values: [3]string{"0", "1", "DEFAULT"},
		schema: `{"type":"int64","optional":false,"default":-1}`, payload: [3]string{`0`, `1`, `-1`},
		src: docDefault + "; bigint.unsigned.handling.mode",
		modes: map[string]typeWant{runStringConnect: {
			`{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0","connect.decimal.precision":"20"},"default":"AP//////////"}`,
			[3]string{`"AA=="`, `"AQ=="`, `"AP//////////"`}}}},
}

// TestDataTypesAsDebeziumDocuments creates a column of every type the
// MySQL connector documents, inserts boundary values before the job
// starts (the full copy) and again after (the binlog), and compares each
// field's schema and each value with what Debezium documents, under the
// default settings and under every other value of decimal.handling.mode,
// time.precision.mode, bigint.unsigned.handling.mode and
// binary.handling.mode. Every record is also read as Kafka Connect's
// JsonConverter reads it.
func TestDataTypesAsDebeziumDocuments(t *testing.T) {
	runs := []struct {
		name string
		set  func(*config.Task)
	}{
		{"defaults", func(*config.Task) {}},
		{runStringConnect, func(c *config.Task) {
			c.DecimalHandlingMode, c.TimePrecisionMode, c.BigintUnsignedHandlingMode, c.BinaryHandlingMode = "string", "connect", "precise", "hex"
		}},
		{runDouble, func(c *config.Task) { c.DecimalHandlingMode, c.BinaryHandlingMode = "double", "base64-url-safe" }},
	}
	for i, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			recs := typesJob(t, fmt.Sprintf("dbz_types_%d", i), run.set)
			if err := checkRecords(recs); err != nil {
				t.Error(err)
			}
			checkTypes(t, recs, run.name)
		})
	}
}

// typesJob fills a table with typeCases' rows before and after a job
// starts and returns the job's records once it sent them all.
func typesJob(t *testing.T, schema string, set func(*config.Task)) []record {
	src := sandboxtest.OpenDB(t, pair.Source)
	cols := []string{"id INT NOT NULL PRIMARY KEY"}
	names := []string{"id"}
	for _, c := range typeCases {
		cols = append(cols, "`"+c.col+"` "+c.ddl)
		names = append(names, "`"+c.col+"`")
	}
	insert := func(base int) []string {
		var out []string
		for row := range 3 {
			vals := []string{strconv.Itoa(base + row)}
			for _, c := range typeCases {
				vals = append(vals, c.values[row])
			}
			out = append(out, "INSERT INTO t ("+strings.Join(names, ",")+") VALUES ("+strings.Join(vals, ",")+")")
		}
		return out
	}
	sandboxtest.Exec(t, src, append([]string{"SET SESSION sql_mode = ''", "DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema,
		"USE " + schema, "CREATE TABLE t (" + strings.Join(cols, ", ") + ") DEFAULT CHARSET=utf8mb4"}, insert(1)...))
	j := newJob(t, schema)
	set(j.dest)
	j.startDest()
	j.startSrc()
	j.waitEvent("job_stage_incr")
	sandboxtest.Exec(t, src, append([]string{"SET SESSION sql_mode = ''", "USE " + schema}, insert(11)...))
	topic := "dtle." + schema + ".t"
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		recs := consumeAll(t, j.brokers, "dtle")
		n := 0
		for _, r := range recs {
			if r.topic == topic && r.value != nil {
				n++
			}
		}
		if n >= 6 {
			stop(t, j.srcTask)
			stop(t, j.dstTask)
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the 6 row events in 60s", n)
		}
	}
}

// checkTypes compares the events of table t with typeCases.
func checkTypes(t *testing.T, recs []record, run string) {
	t.Helper()
	seen := 0
	for _, r := range recs {
		if !strings.HasSuffix(r.topic, ".t") || r.value == nil {
			continue
		}
		var e struct {
			Schema struct {
				Fields []struct {
					Field  string            `json:"field"`
					Fields []json.RawMessage `json:"fields"`
				} `json:"fields"`
			} `json:"schema"`
			Payload struct {
				After map[string]json.RawMessage `json:"after"`
				Op    string                     `json:"op"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(r.value, &e); err != nil {
			t.Fatal(err)
		}
		id, _ := strconv.Atoi(string(e.Payload.After["id"]))
		row, binlog := id%10-1, id > 10
		if want := map[bool]string{false: "r", true: "c"}[binlog]; e.Payload.Op != want {
			t.Errorf("row %d: op %s, want %s", id, e.Payload.Op, want)
		}
		seen++
		schemas := map[string]json.RawMessage{}
		for _, f := range e.Schema.Fields[1].Fields {
			var named struct {
				Field string `json:"field"`
			}
			_ = json.Unmarshal(f, &named)
			schemas[named.Field] = f
		}
		for _, c := range typeCases {
			want := typeWant{c.schema, c.payload}
			if m, ok := c.modes[run]; ok {
				want = m
			} else if binlog && c.binlog[row] != "" {
				want.payload[row] = c.binlog[row]
			}
			gotSchema := withoutField(t, schemas[c.col])
			if !sameJSON(t, gotSchema, want.schema) {
				t.Errorf("%s (%s) schema\n got %s\nwant %s\n(%s)", c.col, c.ddl, gotSchema, want.schema, c.src)
			}
			if got := string(e.Payload.After[c.col]); !sameJSON(t, got, want.payload[row]) {
				t.Errorf("%s (%s) row %d (binlog %v): got %s, want %s (%s)", c.col, c.ddl, row+1, binlog, got, want.payload[row], c.src)
			}
		}
	}
	if seen != 6 {
		t.Errorf("%d row events, want 6", seen)
	}
}

// withoutField is a field's schema without its "field" member.
func withoutField(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	delete(m, "field")
	b, _ := json.Marshal(m)
	return string(b)
}

// sameJSON compares JSON documents; numbers compare as doubles (1e10 and
// 10000000000 are one double, as a JSON reader takes them), but for
// integers written without fraction or exponent beyond 2^53, which
// compare exactly.
func sameJSON(t *testing.T, got, want string) bool {
	t.Helper()
	g, err1 := canonicalJSON(got)
	w, err2 := canonicalJSON(want)
	if err2 != nil {
		t.Fatalf("expected value %s: %v", want, err2)
	}
	return err1 == nil && reflect.DeepEqual(g, w)
}

func canonicalJSON(s string) (any, error) {
	v, err := decodeNumbers([]byte(s))
	if err != nil {
		return nil, err
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case json.Number:
			f, _ := strconv.ParseFloat(x.String(), 64)
			if !strings.ContainsAny(x.String(), ".eE") && math.Abs(f) >= 1<<53 {
				return x.String()
			}
			return f
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		}
		return v
	}
	return walk(v), nil
}
