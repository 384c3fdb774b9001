// Package filter decides what a job replicates and how it lands: which
// schemas and tables (replicate_do_db minus replicate_ignore_db, by name or
// regex), under which names (table_schema_rename, table_rename, with regex
// captures), which columns under which names (column_map_from/column_map_to),
// which rows (where, a SQL boolean expression) and which events
// (ignore_event, ignore_sql).
//
// The source task applies the rules, so every destination (MySQL or Kafka)
// receives data and DDL already selected and renamed, in the full copy and
// in the binlog alike. Rules compile once (New); every problem is reported
// with the path of the rule that has it, such as
// "replicate_do_db[0].tables[1].where".
package filter
