package driver

import (
	"testing"

	"github.com/hashicorp/nomad/helper/pluginutils/hclutils"

	"github.com/dtle-io/dtle/internal/config"
)

// TestDebeziumSettingsFromHCL: a subscription task's Debezium settings
// decode from the job file, and the spec gives Debezium's defaults for
// those it leaves out (tombstones_on_delete and include_schema_changes
// true, skipped_operations "t").
func TestDebeziumSettingsFromHCL(t *testing.T) {
	var got config.Task
	hclutils.NewConfigParser(taskConfigSpec).ParseHCL(t, `
config {
  kafka_broker_addrs            = ["k:9092"]
  kafka_topic                   = "dbz"
  decimal_handling_mode         = "string"
  time_precision_mode           = "connect"
  bigint_unsigned_handling_mode = "precise"
  binary_handling_mode          = "hex"
  tombstones_on_delete          = false
  skipped_operations            = "none"
}`, &got)
	if got.DecimalHandlingMode != "string" || got.TimePrecisionMode != "connect" || got.BigintUnsignedHandlingMode != "precise" ||
		got.BinaryHandlingMode != "hex" || got.EmitTombstones() || !got.EmitSchemaChanges() || got.SkippedOperations != "none" {
		t.Fatalf("settings not decoded: %+v", got)
	}
	var defaults config.Task
	hclutils.NewConfigParser(taskConfigSpec).ParseHCL(t, `config {
  kafka_broker_addrs = ["k:9092"]
  kafka_topic        = "dbz"
}`, &defaults)
	if defaults.DecimalHandlingMode != "precise" || defaults.TimePrecisionMode != "adaptive_time_microseconds" ||
		defaults.BigintUnsignedHandlingMode != "long" || defaults.BinaryHandlingMode != "bytes" ||
		defaults.TombstonesOnDelete == nil || !*defaults.TombstonesOnDelete || defaults.IncludeSchemaChanges == nil ||
		!*defaults.IncludeSchemaChanges || defaults.SkippedOperations != "t" {
		t.Fatalf("the spec's defaults are not Debezium's: %+v", defaults)
	}
	if err := defaults.Validate(config.RoleDest); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyScheduleFromHCL: a source's verify block decodes, repair
// defaulting to false.
func TestVerifyScheduleFromHCL(t *testing.T) {
	var got config.Task
	hclutils.NewConfigParser(taskConfigSpec).ParseHCL(t, `
config {
  verify {
    every  = "6h"
    tables = ["db1.t1", "db1.t2"]
  }
}`, &got)
	v := got.Verify
	if v == nil || v.Every != "6h" || len(v.Tables) != 2 || v.Tables[1] != "db1.t2" || v.Repair || v.RowsPerSecond != 0 {
		t.Fatalf("verify not decoded: %+v", v)
	}
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
}
