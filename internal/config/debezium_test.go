package config

import (
	"strings"
	"testing"
)

// TestDebeziumDefaults: a Kafka task gets Debezium's defaults (MySQL
// connector properties: decimal.handling.mode precise,
// time.precision.mode adaptive_time_microseconds,
// bigint.unsigned.handling.mode long, binary.handling.mode bytes,
// tombstones.on.delete true, include.schema.changes true,
// skipped.operations t); set values are kept, in lower case.
func TestDebeziumDefaults(t *testing.T) {
	task := &Task{KafkaBrokerAddrs: []string{"k:9092"}, KafkaTopic: "t"}
	task.Defaults()
	got := []string{task.DecimalHandlingMode, task.TimePrecisionMode, task.BigintUnsignedHandlingMode, task.BinaryHandlingMode, task.SkippedOperations}
	want := []string{"precise", "adaptive_time_microseconds", "long", "bytes", "t"}
	if strings.Join(got, " ") != strings.Join(want, " ") || !task.EmitTombstones() || !task.EmitSchemaChanges() ||
		task.TombstonesOnDelete == nil || task.IncludeSchemaChanges == nil {
		t.Fatalf("defaults %v tombstones %v schema changes %v, want %v, true, true", got, task.EmitTombstones(), task.EmitSchemaChanges(), want)
	}
	off := false
	set := &Task{KafkaBrokerAddrs: []string{"k:9092"}, KafkaTopic: "t", DecimalHandlingMode: "String", TimePrecisionMode: " CONNECT",
		BinaryHandlingMode: "Base64-URL-Safe", TombstonesOnDelete: &off, IncludeSchemaChanges: &off, SkippedOperations: "none"}
	set.Defaults()
	if set.DecimalHandlingMode != "string" || set.TimePrecisionMode != "connect" || set.BinaryHandlingMode != "base64-url-safe" ||
		set.EmitTombstones() || set.EmitSchemaChanges() || set.SkippedOperations != "none" {
		t.Fatalf("set values not kept: %+v", set)
	}
	mysql := &Task{ConnectionConfig: &MySQLConnection{Host: "h", User: "u"}}
	mysql.Defaults()
	if mysql.DecimalHandlingMode != "" || mysql.TombstonesOnDelete != nil {
		t.Fatalf("Debezium defaults applied to a MySQL destination: %+v", mysql)
	}
}

func TestValidateDebezium(t *testing.T) {
	kafka := func(f func(*Task)) Task {
		task := Task{KafkaBrokerAddrs: []string{"k:1"}, KafkaTopic: "t"}
		f(&task)
		return task
	}
	cases := []struct {
		name    string
		task    Task
		wantErr []string // substrings; none means valid
	}{
		{"defaults", kafka(func(*Task) {}), nil},
		{"every documented value", kafka(func(t *Task) {
			t.DecimalHandlingMode, t.TimePrecisionMode, t.BigintUnsignedHandlingMode, t.BinaryHandlingMode = "double", "connect", "precise", "hex"
			t.SkippedOperations = "c, u,d,t"
		}), nil},
		{"unknown decimal mode names the values", kafka(func(t *Task) { t.DecimalHandlingMode = "exact" }),
			[]string{"decimal_handling_mode", "precise, double, string", "decimal.handling.mode", `"exact"`}},
		{"adaptive is refused as by Debezium's MySQL connector", kafka(func(t *Task) { t.TimePrecisionMode = "adaptive" }),
			[]string{"time_precision_mode", "adaptive_time_microseconds", "connect"}},
		{"nanoseconds is no MySQL mode", kafka(func(t *Task) { t.TimePrecisionMode = "nanoseconds" }), []string{"time_precision_mode"}},
		{"bigint mode", kafka(func(t *Task) { t.BigintUnsignedHandlingMode = "double" }), []string{"bigint_unsigned_handling_mode", "long, precise"}},
		{"binary mode", kafka(func(t *Task) { t.BinaryHandlingMode = "base32" }),
			[]string{"binary_handling_mode", "bytes, base64, base64-url-safe, hex"}},
		{"unknown operation", kafka(func(t *Task) { t.SkippedOperations = "t,r" }), []string{"skipped_operations", `"r"`, "none"}},
		{"none with others", kafka(func(t *Task) { t.SkippedOperations = "none,t" }), []string{"skipped_operations"}},
		{"a MySQL destination ignores them", Task{ConnectionConfig: &MySQLConnection{Host: "db", Port: 3306, User: "u"},
			DecimalHandlingMode: "exact"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.task.Validate(RoleDest)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got nil", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseSkippedOperations(t *testing.T) {
	cases := []struct {
		in   string
		want SkippedOps
	}{
		{"", SkippedOps{Truncates: true}},
		{"t", SkippedOps{Truncates: true}},
		{"none", SkippedOps{}},
		{"NONE", SkippedOps{}},
		{"c,d", SkippedOps{Inserts: true, Deletes: true}},
		{" u , t ", SkippedOps{Updates: true, Truncates: true}},
	}
	for _, c := range cases {
		got, err := ParseSkippedOperations(c.in)
		if err != nil || got != c.want {
			t.Errorf("%q: %+v (%v), want %+v", c.in, got, err, c.want)
		}
	}
}
