package api

import "time"

// Job types: the path segment of /v2/job/{type} and the job's job_type meta.
const (
	JobTypeMigration    = "migration"
	JobTypeSync         = "sync"
	JobTypeSubscription = "subscription"
)

// MessageOK is the message of every successful response.
const MessageOK = "ok"

// JobConfig is the body of POST /v2/job/{migration,sync,subscription}, and
// the job_config of /v2/validation/job.
type JobConfig struct {
	// JobID defaults to "<job_name>-<type>"; "-<type>" is appended when missing.
	JobID   string `json:"job_id" example:"job1-migration"`
	JobName string `json:"job_name" example:"job1"`
	// Failover (default true) lets Nomad move a task to another node;
	// false pins each task to its node_id.
	Failover *bool `json:"failover" example:"true"`
	// IsMysqlPasswordEncrypted: mysql_password is base64 of RSA PKCS#1 v1.5
	// made with the public half of the node's rsa_private_key_path.
	IsMysqlPasswordEncrypted bool            `json:"is_mysql_password_encrypted" example:"false"`
	SrcTask                  *SrcTaskConfig  `json:"src_task"`
	DestTask                 *DestTaskConfig `json:"dest_task"`
}

// MysqlConnectionConfig says how to reach a MySQL or MariaDB server.
type MysqlConnectionConfig struct {
	MysqlHost         string `json:"mysql_host" example:"127.0.0.1"`
	MysqlPort         int    `json:"mysql_port" example:"3307"`
	MysqlUser         string `json:"mysql_user" example:"test"`
	MysqlPassword     string `json:"mysql_password" example:"test"`
	MysqlCharacterSet string `json:"mysql_character_set,omitempty" example:"utf8mb4"`
}

// SrcTaskConfig configures the source (extractor) task.
type SrcTaskConfig struct {
	TaskName string `json:"task_name" example:"src"`
	// NodeID places the task: preferred with failover, required without.
	NodeID                string                 `json:"node_id,omitempty"`
	Gtid                  string                 `json:"gtid"`
	BinlogFile            string                 `json:"binlog_file,omitempty" example:"mysql-bin.000003"`
	BinlogPos             int64                  `json:"binlog_pos,omitempty" example:"1234"`
	GroupMaxSize          int                    `json:"group_max_size" example:"1"`
	GroupTimeout          int                    `json:"group_timeout,omitempty" example:"100"`
	ChunkSize             int                    `json:"chunk_size" example:"2000"`
	DropTableIfExists     bool                   `json:"drop_table_if_exists"`
	SkipCreateDbTable     bool                   `json:"skip_create_db_table"`
	ReplChanBufferSize    int                    `json:"repl_chan_buffer_size" example:"32"`
	ServerID              int                    `json:"server_id,omitempty"`
	ReplicateDoDb         []*ReplicateDB         `json:"replicate_do_db"`
	ReplicateIgnoreDb     []*ReplicateDB         `json:"replicate_ignore_db"`
	MysqlConnectionConfig *MysqlConnectionConfig `json:"mysql_connection_config"`
	// SpeedLimit caps how fast the job reads its source; absent: no cap.
	// POST /v2/job/speed_limit replaces it while the job runs.
	SpeedLimit *SpeedLimit `json:"speed_limit,omitempty"`
	// SkipDtleApplied drops the source's transactions that a dtle job
	// applied there (two-way sync): any job's, or only SkipDtleAppliedBy's.
	SkipDtleApplied   bool   `json:"skip_dtle_applied,omitempty"`
	SkipDtleAppliedBy string `json:"skip_dtle_applied_by,omitempty"`
	// Verify compares the job's tables on a schedule; GET /v2/job/verify
	// reports the latest run.
	Verify *VerifySchedule `json:"verify,omitempty"`
}

// VerifySchedule runs a comparison of the job (as POST /v2/job/verify)
// every so often, in the plugin that runs the job's source.
type VerifySchedule struct {
	// Every is the time from the end of one comparison to the start of the
	// next, a Go duration; at least 5s.
	Every string `json:"every" example:"6h"`
	// Tables are the source tables to compare, schema.table; absent: every
	// table the job replicates.
	Tables []string `json:"tables,omitempty" example:"db1.t1"`
	// Repair rewrites the rows that differ on the destination.
	Repair bool `json:"repair,omitempty"`
	// RowsPerSecond caps the source rows read per second; 0: no cap.
	RowsPerSecond int `json:"rows_per_second,omitempty" example:"0"`
}

// DestTaskConfig configures the destination task: a MySQL server
// (migration, sync) or Kafka (subscription).
type DestTaskConfig struct {
	TaskName              string                 `json:"task_name" example:"dest"`
	NodeID                string                 `json:"node_id,omitempty"`
	ParallelWorkers       int                    `json:"parallel_workers,omitempty" example:"1"`
	MysqlConnectionConfig *MysqlConnectionConfig `json:"mysql_connection_config,omitempty"`
	KafkaBrokerAddrs      []string               `json:"kafka_broker_addrs,omitempty"`
	KafkaTopic            string                 `json:"kafka_topic,omitempty"`
	MessageGroupMaxSize   int                    `json:"message_group_max_size,omitempty"`
	MessageGroupTimeout   int                    `json:"message_group_timeout,omitempty"`
	// The Debezium settings of a Kafka destination (docs/kafka.md).
	DebeziumOptions
}

// DebeziumOptions are a Kafka destination's Debezium settings, named as
// the connector's properties with underscores; absent ones take
// Debezium's defaults.
type DebeziumOptions struct {
	DecimalHandlingMode        string `json:"decimal_handling_mode,omitempty" enums:"precise,double,string" example:"precise"`
	TimePrecisionMode          string `json:"time_precision_mode,omitempty" enums:"adaptive_time_microseconds,connect" example:"adaptive_time_microseconds"`
	BigintUnsignedHandlingMode string `json:"bigint_unsigned_handling_mode,omitempty" enums:"long,precise" example:"long"`
	BinaryHandlingMode         string `json:"binary_handling_mode,omitempty" enums:"bytes,base64,base64-url-safe,hex" example:"bytes"`
	// TombstonesOnDelete and IncludeSchemaChanges are true when absent.
	TombstonesOnDelete   *bool `json:"tombstones_on_delete,omitempty"`
	IncludeSchemaChanges *bool `json:"include_schema_changes,omitempty"`
	// SkippedOperations are the ops not sent, of c,u,d,t, or "none".
	SkippedOperations string `json:"skipped_operations,omitempty" example:"t"`
}

// ReplicateDB selects (or excludes) a schema or some of its tables.
type ReplicateDB struct {
	TableSchema       string   `json:"table_schema" example:"db1"`
	TableSchemaRegex  string   `json:"table_schema_regex,omitempty"`
	TableSchemaRename *string  `json:"table_schema_rename"`
	Tables            []*Table `json:"tables"`
	// IgnoreEvent drops these kinds of change for every table the rule
	// selects: insert, update, delete, create/drop/alter database,
	// create/drop/alter/rename/truncate table, create/drop index, or the
	// groups "all dml", "all ddl", "all".
	IgnoreEvent []string `json:"ignore_event,omitempty" example:"drop table,truncate table"`
	// IgnoreSQL drops DDL whose text matches one of these regular
	// expressions.
	IgnoreSQL []string `json:"ignore_sql,omitempty" example:"^(?i)DROP"`
}

// Table selects one table, or those matching table_regex.
type Table struct {
	TableName     string   `json:"table_name" example:"tb1"`
	TableRegex    string   `json:"table_regex,omitempty"`
	TableRename   string   `json:"table_rename"`
	ColumnMapFrom []string `json:"column_map_from"`
	ColumnMapTo   []string `json:"column_map_to,omitempty"`
	Where         string   `json:"where"`
	IgnoreEvent   []string `json:"ignore_event,omitempty"`
	IgnoreSQL     []string `json:"ignore_sql,omitempty"`
}

// CreateJobResponse echoes the job with every default filled in and the
// passwords masked.
type CreateJobResponse struct {
	Job             *JobConfig `json:"job"`
	EvalCreateIndex uint64     `json:"eval_create_index" example:"81"`
	JobModifyIndex  uint64     `json:"job_modify_index" example:"80"`
	Message         string     `json:"message" example:"ok"`
}

// MessageResponse is the reply of pause, resume and delete.
type MessageResponse struct {
	Message string `json:"message" example:"ok"`
}

// JobListItem is one job of GET /v2/jobs.
type JobListItem struct {
	JobID   string `json:"job_id" example:"job1-migration"`
	JobName string `json:"job_name" example:"job1"`
	JobType string `json:"job_type" example:"migration"`
	// JobStatus is Nomad's (pending, running, dead) or paused.
	JobStatus            string `json:"job_status" example:"running"`
	JobStatusDescription string `json:"job_status_description"`
}

// JobListResponse is the reply of GET /v2/jobs.
type JobListResponse struct {
	Jobs    []JobListItem `json:"jobs"`
	Message string        `json:"message" example:"ok"`
}

// TaskEvent is one Nomad task event.
type TaskEvent struct {
	EventType  string `json:"event_type" example:"Driver"`
	SetupError string `json:"setup_error"`
	Message    string `json:"message" example:"job_stage_incr"`
	Time       string `json:"time" example:"2021-06-04T09:10:18Z"`
}

// TaskStatus is a task's state in one allocation.
type TaskStatus struct {
	TaskEvents []TaskEvent `json:"task_events"`
	StartedAt  time.Time   `json:"started_at"`
	FinishedAt time.Time   `json:"finished_at"`
	Status     string      `json:"status" example:"running"`
}

// AllocationDetail is one allocation of a task.
type AllocationDetail struct {
	NodeID       string     `json:"node_id"`
	AllocationID string     `json:"allocation_id"`
	TaskStatus   TaskStatus `json:"task_status"`
}

// SrcTaskDetail is the source task of a job detail.
type SrcTaskDetail struct {
	Allocations []AllocationDetail `json:"allocations"`
	TaskConfig  *SrcTaskConfig     `json:"task_config"`
}

// DestTaskDetail is the destination task of a job detail.
type DestTaskDetail struct {
	Allocations []AllocationDetail `json:"allocations"`
	TaskConfig  *DestTaskConfig    `json:"task_config"`
}

// JobDetailResponse is the reply of GET /v2/job/{type}/detail: the 3.x
// detail (job_id ... dest_task_detail) and the 4.x one (basic_task_profile,
// task_logs) side by side, so both generations of clients read it.
type JobDetailResponse struct {
	JobID          string         `json:"job_id" example:"job1-migration"`
	JobName        string         `json:"job_name" example:"job1"`
	Failover       bool           `json:"failover" example:"true"`
	JobStatus      string         `json:"job_status" example:"running"`
	SrcTaskDetail  SrcTaskDetail  `json:"src_task_detail"`
	DestTaskDetail DestTaskDetail `json:"dest_task_detail"`
	// BasicTaskProfile and TaskLogs are the 4.x detail.
	BasicTaskProfile *BasicTaskProfile `json:"basic_task_profile"`
	TaskLogs         []TaskLog         `json:"task_logs"`
	Message          string            `json:"message" example:"ok"`
}

// Check is one validation: passed, or why not. A check that does not apply
// to a task is null.
type Check struct {
	Validated bool   `json:"validated"`
	Error     string `json:"error"`
}

// TaskValidationReport holds the server checks of one task.
type TaskValidationReport struct {
	TaskName             string `json:"task_name" example:"src"`
	ConnectionValidation *Check `json:"connection_validation"`
	PrivilegesValidation *Check `json:"privileges_validation"`
	GtidModeValidation   *Check `json:"gtid_mode_validation"`
	ServerIDValidation   *Check `json:"server_id_validation"`
	BinlogValidation     *Check `json:"binlog_validation"`
}

// ValidateJobResponse is the reply of /v2/validation/job.
type ValidateJobResponse struct {
	// DriverConfigValidated: the job config is complete and consistent.
	DriverConfigValidated     bool                    `json:"driver_config_validated"`
	MysqlTaskValidationReport []*TaskValidationReport `json:"mysql_task_validation_report"`
	JobValidationError        string                  `json:"job_validation_error"`
	JobValidationWarning      string                  `json:"job_validation_warning"`
	Message                   string                  `json:"message" example:"ok"`
}

// NodeListItem is one Nomad client node.
type NodeListItem struct {
	NodeAddress           string `json:"node_address" example:"10.186.63.86"`
	NodeName              string `json:"node_name" example:"dtle-dest-1"`
	NodeID                string `json:"node_id"`
	NodeStatus            string `json:"node_status" example:"ready"`
	NodeStatusDescription string `json:"node_status_description"`
	Datacenter            string `json:"datacenter" example:"dc1"`
	// NomadVersion and DtleVersion are the node's Nomad and dtle plugin
	// versions (4.x).
	NomadVersion string `json:"nomad_version" example:"1.11.1"`
	DtleVersion  string `json:"dtle_version" example:"0.1.0"`
	// Leader: the node's address is the Nomad leader's; Member: a Nomad
	// server runs at the node's address (4.x).
	Leader bool `json:"leader"`
	Member bool `json:"member"`
}

// NodeListResponse is the reply of GET /v2/nodes.
type NodeListResponse struct {
	Nodes   []NodeListItem `json:"nodes"`
	Message string         `json:"message" example:"ok"`
}

// SchemaTable is a table of a schema.
type SchemaTable struct {
	TableName string `json:"table_name" example:"tb1"`
}

// Schema is a schema and its tables. The tables are listed twice, as
// "tables" and, for clients written against the original reply, as "Tables".
type Schema struct {
	SchemaName   string        `json:"schema_name" example:"db1"`
	Tables       []SchemaTable `json:"tables"`
	LegacyTables []SchemaTable `json:"Tables"`
}

// SchemasResponse is the reply of GET /v2/mysql/schemas.
type SchemasResponse struct {
	Schemas []Schema `json:"schemas"`
	Message string   `json:"message" example:"ok"`
}

// LogLevelResponse is the reply of POST /v2/log/level.
type LogLevelResponse struct {
	DtleLogLevel string `json:"dtle_log_level" example:"DEBUG"`
	Message      string `json:"message" example:"ok"`
}

// HealthResponse is the reply of GET /v2/health.
type HealthResponse struct {
	Status  string `json:"status" example:"ok"`
	Version string `json:"version"`
	// Nomad is "ok" or why the local Nomad agent cannot be reached.
	Nomad string `json:"nomad" example:"ok"`
}

// ErrorResponse is the body of every non-2xx reply.
type ErrorResponse struct {
	Message   string `json:"message" example:"job_id: required"`
	ErrorCode string `json:"error_code" example:"invalid_request"`
}
