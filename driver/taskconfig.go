package driver

import (
	"strconv"

	"github.com/hashicorp/nomad/plugins/shared/hclspec"

	"github.com/dtle-io/dtle/internal/config"
)

// taskConfigSpec is the `config {...}` block of a dtle task. It decodes into
// config.Task; the source and destination tasks share it and each ignores the
// other's options.
var taskConfigSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"mysql_connection_config":     hclspec.NewBlock("mysql_connection_config", false, connectionSpec),
	"is_mysql_password_encrypted": boolDefault("is_mysql_password_encrypted", false),
	"mysql_password_sealed":       boolDefault("mysql_password_sealed", false),

	// Source.
	"gtid":                  hclspec.NewAttr("gtid", "string", false),
	"binlog_file":           hclspec.NewAttr("binlog_file", "string", false),
	"binlog_pos":            hclspec.NewAttr("binlog_pos", "number", false),
	"group_max_size":        intDefault("group_max_size", config.DefaultGroupMaxSize),
	"group_timeout":         intDefault("group_timeout", config.DefaultGroupTimeoutMS),
	"chunk_size":            intDefault("chunk_size", config.DefaultChunkSize),
	"drop_table_if_exists":  boolDefault("drop_table_if_exists", false),
	"skip_create_db_table":  boolDefault("skip_create_db_table", false),
	"repl_chan_buffer_size": intDefault("repl_chan_buffer_size", config.DefaultReplChanBufferSize),
	"server_id":             hclspec.NewAttr("server_id", "number", false),
	"replicate_do_db":       hclspec.NewBlockList("replicate_do_db", replicateDBSpec),
	"replicate_ignore_db":   hclspec.NewBlockList("replicate_ignore_db", replicateDBSpec),
	"speed_limit":           hclspec.NewBlock("speed_limit", false, speedLimitSpec),
	"verify":                hclspec.NewBlock("verify", false, verifySpec),
	"skip_dtle_applied":     boolDefault("skip_dtle_applied", false),
	"skip_dtle_applied_by":  hclspec.NewAttr("skip_dtle_applied_by", "string", false),

	// Destination, MySQL.
	"parallel_workers": intDefault("parallel_workers", config.DefaultParallelWorkers),

	// Destination, Kafka.
	"kafka_broker_addrs":     hclspec.NewAttr("kafka_broker_addrs", "list(string)", false),
	"kafka_topic":            hclspec.NewAttr("kafka_topic", "string", false),
	"message_group_max_size": intDefault("message_group_max_size", config.DefaultMessageGroupMaxSize),
	"message_group_timeout":  intDefault("message_group_timeout", config.DefaultMessageGroupTimeout),
	// Debezium's format settings (config.Task, docs/kafka.md).
	"decimal_handling_mode":         stringDefault("decimal_handling_mode", config.DefaultDecimalHandlingMode),
	"time_precision_mode":           stringDefault("time_precision_mode", config.DefaultTimePrecisionMode),
	"bigint_unsigned_handling_mode": stringDefault("bigint_unsigned_handling_mode", config.DefaultBigintUnsignedHandlingMode),
	"binary_handling_mode":          stringDefault("binary_handling_mode", config.DefaultBinaryHandlingMode),
	"tombstones_on_delete":          boolDefault("tombstones_on_delete", config.DefaultTombstonesOnDelete),
	"include_schema_changes":        boolDefault("include_schema_changes", config.DefaultIncludeSchemaChanges),
	"skipped_operations":            stringDefault("skipped_operations", config.DefaultSkippedOperations),
})

var connectionSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"mysql_host":          hclspec.NewAttr("mysql_host", "string", true),
	"mysql_port":          intDefault("mysql_port", config.DefaultMySQLPort),
	"mysql_user":          hclspec.NewAttr("mysql_user", "string", true),
	"mysql_password":      hclspec.NewAttr("mysql_password", "string", false),
	"mysql_character_set": stringDefault("mysql_character_set", config.DefaultCharacterSet),
})

var replicateDBSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"table_schema":        hclspec.NewAttr("table_schema", "string", false),
	"table_schema_regex":  hclspec.NewAttr("table_schema_regex", "string", false),
	"table_schema_rename": hclspec.NewAttr("table_schema_rename", "string", false),
	"ignore_event":        hclspec.NewAttr("ignore_event", "list(string)", false),
	"ignore_sql":          hclspec.NewAttr("ignore_sql", "list(string)", false),
	"tables": hclspec.NewBlockList("tables", hclspec.NewObject(map[string]*hclspec.Spec{
		"table_name":      hclspec.NewAttr("table_name", "string", false),
		"table_regex":     hclspec.NewAttr("table_regex", "string", false),
		"table_rename":    hclspec.NewAttr("table_rename", "string", false),
		"column_map_from": hclspec.NewAttr("column_map_from", "list(string)", false),
		"column_map_to":   hclspec.NewAttr("column_map_to", "list(string)", false),
		"where":           hclspec.NewAttr("where", "string", false),
		"ignore_event":    hclspec.NewAttr("ignore_event", "list(string)", false),
		"ignore_sql":      hclspec.NewAttr("ignore_sql", "list(string)", false),
	})),
})

// rateSpecs are the caps of a speed limit and of each of its windows.
func rateSpecs(extra map[string]*hclspec.Spec) *hclspec.Spec {
	for _, name := range []string{"copy_rows_per_second", "copy_bytes_per_second", "binlog_rows_per_second", "binlog_bytes_per_second"} {
		extra[name] = hclspec.NewAttr(name, "number", false)
	}
	return hclspec.NewObject(extra)
}

var speedLimitSpec = rateSpecs(map[string]*hclspec.Spec{
	"time_zone": hclspec.NewAttr("time_zone", "string", false),
	"windows": hclspec.NewBlockList("windows", rateSpecs(map[string]*hclspec.Spec{
		"from": hclspec.NewAttr("from", "string", true),
		"to":   hclspec.NewAttr("to", "string", true),
	})),
})

// verifySpec is a source's schedule of comparisons (config.VerifySchedule).
var verifySpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"every":           hclspec.NewAttr("every", "string", true),
	"tables":          hclspec.NewAttr("tables", "list(string)", false),
	"repair":          boolDefault("repair", false),
	"rows_per_second": intDefault("rows_per_second", 0),
})

func intDefault(name string, def int) *hclspec.Spec {
	return hclspec.NewDefault(hclspec.NewAttr(name, "number", false), hclspec.NewLiteral(strconv.Itoa(def)))
}

func boolDefault(name string, def bool) *hclspec.Spec {
	return hclspec.NewDefault(hclspec.NewAttr(name, "bool", false), hclspec.NewLiteral(strconv.FormatBool(def)))
}

func stringDefault(name, def string) *hclspec.Spec {
	return hclspec.NewDefault(hclspec.NewAttr(name, "string", false), hclspec.NewLiteral(strconv.Quote(def)))
}
