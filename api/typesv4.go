package api

// The 4.x bodies and replies, named as the dtle 4.x UI's swagger names
// them (models.X there is X here; its SrcTaskConfig and DestTaskConfig are
// SrcTaskConfigV2 and DestTaskConfigV2 here, beside the 3.x types). Each
// reply carries every field of its 4.x model; a few carry more, marked
// "extension": what 3.x job configs hold and 4.x bodies lack.

// DatabaseConnectionConfig says how to reach a server (4.x).
type DatabaseConnectionConfig struct {
	// DatabaseType is MySQL or MariaDB (any case; empty: MySQL). Oracle is
	// not supported.
	DatabaseType string `json:"database_type" example:"MySQL"`
	Host         string `json:"host" example:"127.0.0.1"`
	Port         int    `json:"port" example:"3306"`
	User         string `json:"user" example:"dtle"`
	// Password, in replies "*"; an update keeps the stored one where it
	// says "*" (for the same host, port and user only).
	Password string `json:"password" example:"secret"`
	// ServiceName is Oracle's; ignored.
	ServiceName string `json:"service_name"`
	// CharacterSet (extension) is the connection's character set
	// (default utf8mb4).
	CharacterSet string `json:"character_set,omitempty" example:"utf8mb4"`
}

// MysqlSrcTaskConfig holds the source options of a MySQL source (4.x).
type MysqlSrcTaskConfig struct {
	// Gtid: start from this GTID set, without a full copy; empty: copy the
	// tables first, then follow the binlog.
	Gtid string `json:"gtid"`
	// BinlogRelay, DumpEntryLimit: accepted and ignored (this dtle reads
	// the binlog directly and bounds memory by bytes).
	BinlogRelay    bool `json:"binlog_relay"`
	DumpEntryLimit int  `json:"dump_entry_limit"`
	// ExpandSyntaxSupport, AutoGtid, WaitOnJob, TwoWaySync, TwoWaySyncGtid:
	// not supported; a body that turns one on is refused.
	ExpandSyntaxSupport bool   `json:"expand_syntax_support"`
	AutoGtid            bool   `json:"auto_gtid"`
	WaitOnJob           string `json:"wait_on_job"`
	TwoWaySync          bool   `json:"two_way_sync"`
	TwoWaySyncGtid      string `json:"two_way_sync_gtid"`
}

// OracleSrcTaskConfig is an Oracle source's; not supported.
type OracleSrcTaskConfig struct {
	Scn int `json:"scn"`
}

// DataSourceConfig selects (or excludes) a schema or some of its tables
// (4.x replicate_do_db, replicate_ignore_db).
type DataSourceConfig struct {
	TableSchema       string         `json:"table_schema" example:"db1"`
	TableSchemaRegex  string         `json:"table_schema_regex"`
	TableSchemaRename string         `json:"table_schema_rename"`
	Tables            []*TableConfig `json:"tables"`
	// IgnoreEvent and IgnoreSQL (extension): as in the 3.x rule.
	IgnoreEvent []string `json:"ignore_event,omitempty"`
	IgnoreSQL   []string `json:"ignore_sql,omitempty"`
}

// TableConfig selects one table, or those matching table_regex (4.x).
type TableConfig struct {
	TableName     string   `json:"table_name" example:"tb1"`
	TableRegex    string   `json:"table_regex"`
	TableRename   string   `json:"table_rename"`
	ColumnMapFrom []string `json:"column_map_from"`
	ColumnMapTo   []string `json:"column_map_to"`
	Where         string   `json:"where"`
	// IgnoreEvent and IgnoreSQL (extension): as in the 3.x rule.
	IgnoreEvent []string `json:"ignore_event,omitempty"`
	IgnoreSQL   []string `json:"ignore_sql,omitempty"`
}

// SrcTaskConfigV2 configures the source task (4.x models.SrcTaskConfig).
type SrcTaskConfigV2 struct {
	TaskName string `json:"task_name" example:"src"`
	// NodeID places the task: preferred with failover, required without.
	NodeID             string                    `json:"node_id"`
	ConnectionConfig   *DatabaseConnectionConfig `json:"connection_config"`
	ChunkSize          int                       `json:"chunk_size" example:"2000"`
	DropTableIfExists  bool                      `json:"drop_table_if_exists"`
	GroupMaxSize       int                       `json:"group_max_size" example:"1"`
	GroupTimeout       int                       `json:"group_timeout" example:"100"`
	ReplChanBufferSize int                       `json:"repl_chan_buffer_size" example:"32"`
	SkipCreateDbTable  bool                      `json:"skip_create_db_table"`
	ReplicateDoDb      []*DataSourceConfig       `json:"replicate_do_db"`
	ReplicateIgnoreDb  []*DataSourceConfig       `json:"replicate_ignore_db"`
	// SQLFilter drops kinds of change from every replicated table: NoDML,
	// NoDMLInsert, NoDMLUpdate, NoDMLDelete, NoDDL, NoDDLCreateSchema,
	// NoDDLDropSchema, NoDDLCreateTable, NoDDLDropTable, NoDDLAlterTable,
	// NoDDLDropIndex, NoDDLTruncate (any case).
	SQLFilter           []string             `json:"sql_filter"`
	MysqlSrcTaskConfig  *MysqlSrcTaskConfig  `json:"mysql_src_task_config"`
	OracleSrcTaskConfig *OracleSrcTaskConfig `json:"oracle_src_task_config"`
	// ServerID (extension) is the replica server_id the task presents (0:
	// derived from the job).
	ServerID int `json:"server_id,omitempty"`
}

// MysqlDestTaskConfig holds the options of a MySQL destination (4.x).
type MysqlDestTaskConfig struct {
	ParallelWorkers int `json:"parallel_workers" example:"1"`
	// UseMySQLDependency, DependencyHistorySize, BulkInsert1, BulkInsert2
	// and RetryTxLimit are accepted and ignored: this dtle orders parallel
	// transactions by their rows' keys and sizes copy batches in bytes.
	UseMySQLDependency    bool `json:"use_my_sql_dependency"`
	DependencyHistorySize int  `json:"dependency_history_size"`
	BulkInsert1           int  `json:"bulk_insert1"`
	BulkInsert2           int  `json:"bulk_insert2"`
	RetryTxLimit          int  `json:"retry_tx_limit"`
	// SetGtidNext (apply with the source's GTIDs) is not supported; true
	// is refused.
	SetGtidNext bool `json:"set_gtid_next"`
}

// DestTaskConfigV2 configures a MySQL destination task (4.x
// models.DestTaskConfig).
type DestTaskConfigV2 struct {
	TaskName            string                    `json:"task_name" example:"dest"`
	NodeID              string                    `json:"node_id"`
	DatabaseType        string                    `json:"database_type" example:"MySQL"`
	ConnectionConfig    *DatabaseConnectionConfig `json:"connection_config"`
	MysqlDestTaskConfig *MysqlDestTaskConfig      `json:"mysql_dest_task_config"`
}

// KafkaDestTaskConfig configures a Kafka destination task (4.x).
type KafkaDestTaskConfig struct {
	TaskName            string   `json:"task_name" example:"dest"`
	NodeID              string   `json:"node_id"`
	KafkaBrokerAddrs    []string `json:"kafka_broker_addrs" example:"127.0.0.1:9092"`
	KafkaTopic          string   `json:"kafka_topic" example:"dtle"`
	MessageGroupMaxSize int      `json:"message_group_max_size" example:"1"`
	MessageGroupTimeout int      `json:"message_group_timeout" example:"100"`
	// KafkaDateTimeZone is not supported; a value is refused.
	KafkaDateTimeZone string `json:"kafka_date_time_zone"`
}

// CreateOrUpdateMysqlToMysqlJobParamV2 is the body of the 4.x migration and
// sync create and update.
type CreateOrUpdateMysqlToMysqlJobParamV2 struct {
	// JobID: "-<type>" is appended when missing.
	JobID string `json:"job_id" example:"job1"`
	// Failover (default true) lets Nomad move a task to another node;
	// false pins each task to its node_id.
	Failover *bool `json:"failover" example:"true"`
	// IsPasswordEncrypted: the passwords are base64 of RSA PKCS#1 v1.5
	// made with the public half of the node's rsa_private_key_path.
	IsPasswordEncrypted bool `json:"is_password_encrypted"`
	// Retry is how often Nomad restarts a failed task before the job
	// fails (0: 3).
	Retry int `json:"retry"`
	// TaskStepName is kept and shown; the steps a job takes follow from
	// its gtid (none: full copy, then binlog).
	TaskStepName string            `json:"task_step_name" example:"all"`
	SrcTask      *SrcTaskConfigV2  `json:"src_task"`
	DestTask     *DestTaskConfigV2 `json:"dest_task"`
	// Reverse is not supported here (see the reverse routes); true is
	// refused.
	Reverse bool `json:"reverse"`
}

// CreateOrUpdateMysqlToKafkaJobParamV2 is the body of the 4.x subscription
// create and update.
type CreateOrUpdateMysqlToKafkaJobParamV2 struct {
	// JobID: "-<type>" is appended when missing.
	JobID string `json:"job_id" example:"job1"`
	// Failover (default true) lets Nomad move a task to another node;
	// false pins each task to its node_id.
	Failover *bool `json:"failover" example:"true"`
	// IsPasswordEncrypted: the passwords are base64 of RSA PKCS#1 v1.5
	// made with the public half of the node's rsa_private_key_path.
	IsPasswordEncrypted bool `json:"is_password_encrypted"`
	// Retry is how often Nomad restarts a failed task before the job
	// fails (0: 3).
	Retry int `json:"retry"`
	// TaskStepName is kept and shown; the steps a job takes follow from
	// its gtid (none: full copy, then binlog).
	TaskStepName string               `json:"task_step_name" example:"all"`
	SrcTask      *SrcTaskConfigV2     `json:"src_task"`
	DestTask     *KafkaDestTaskConfig `json:"dest_task"`
}

// CreateOrUpdateMysqlToMysqlJobRespV2 echoes the job with every default
// filled in and the passwords masked: at the top level as the 4.x swagger
// shows it, and under "job" as dtle 4.x sent it.
type CreateOrUpdateMysqlToMysqlJobRespV2 struct {
	CreateOrUpdateMysqlToMysqlJobParamV2
	Job             *CreateOrUpdateMysqlToMysqlJobParamV2 `json:"job"`
	EvalCreateIndex uint64                                `json:"eval_create_index" example:"81"`
	JobModifyIndex  uint64                                `json:"job_modify_index" example:"80"`
	Message         string                                `json:"message" example:"ok"`
}

// CreateOrUpdateMysqlToKafkaJobRespV2 is CreateOrUpdateMysqlToMysqlJobRespV2
// for a subscription job.
type CreateOrUpdateMysqlToKafkaJobRespV2 struct {
	CreateOrUpdateMysqlToKafkaJobParamV2
	Job             *CreateOrUpdateMysqlToKafkaJobParamV2 `json:"job"`
	EvalCreateIndex uint64                                `json:"eval_create_index" example:"81"`
	JobModifyIndex  uint64                                `json:"job_modify_index" example:"80"`
	Message         string                                `json:"message" example:"ok"`
}

// JobStep is one stage of a job: job_stage_full (the full copy) or
// job_stage_incr (the binlog).
type JobStep struct {
	StepName string `json:"step_name" example:"job_stage_full"`
	// StepStatus is start (not begun), running or finish.
	StepStatus string `json:"step_status" example:"running"`
	// StepSchedule is the percent done.
	StepSchedule  float64 `json:"step_schedule" example:"42.5"`
	JobCreateTime string  `json:"job_create_time" example:"2021-06-04T09:10:18Z"`
}

// JobListItemV2 is one job of GET /v2/jobs/{type}.
type JobListItemV2 struct {
	JobID string `json:"job_id" example:"job1-sync"`
	// JobStatus is Nomad's (pending, running, dead) or paused.
	JobStatus     string `json:"job_status" example:"running"`
	JobCreateTime string `json:"job_create_time" example:"2021-06-04T09:10:18Z"`
	// AllocationStatus is, per task group (src, dest), the client status of
	// its latest allocation.
	AllocationStatus map[string]string `json:"allocation_status"`
	SrcAddrList      []string          `json:"src_addr_list" example:"127.0.0.1:3307"`
	DstAddrList      []string          `json:"dst_addr_list" example:"127.0.0.1:3308"`
	SrcDatabaseType  string            `json:"src_database_type" example:"MySQL"`
	DstDatabaseType  string            `json:"dst_database_type" example:"MySQL"`
	// Topic is a subscription job's Kafka topic.
	Topic string `json:"topic"`
	// User is the job's owner as "tenant:user", empty while the job has
	// none.
	User     string    `json:"user"`
	JobSteps []JobStep `json:"job_steps"`
}

// JobListRespV2 is the reply of GET /v2/jobs/{type}.
type JobListRespV2 struct {
	Jobs    []JobListItemV2 `json:"jobs"`
	Message string          `json:"message" example:"ok"`
}

// DumpProgress is the full copy's progress, in rows.
type DumpProgress struct {
	ExecRowCount  int64 `json:"exec_row_count"`
	TotalRowCount int64 `json:"total_row_count"`
}

// JobBaseInfo is what a job is and where it is.
type JobBaseInfo struct {
	JobID         string `json:"job_id" example:"job1-sync"`
	JobStatus     string `json:"job_status" example:"running"`
	JobCreateTime string `json:"job_create_time"`
	// JobStage is the last stage the destination reported
	// (job_stage_full, job_stage_incr).
	JobStage          string    `json:"job_stage" example:"job_stage_incr"`
	JobSteps          []JobStep `json:"job_steps"`
	SubscriptionTopic string    `json:"subscription_topic"`
	// Delay is the seconds the destination is behind the source.
	Delay        int64        `json:"delay"`
	DumpProgress DumpProgress `json:"dump_progress"`
}

// DtleNodeInfo is a node running one of the job's tasks.
type DtleNodeInfo struct {
	NodeAddr string `json:"node_addr" example:"10.186.63.86"`
	NodeID   string `json:"node_id"`
	// DataSource is the server the task reads or writes (host:port, or the
	// Kafka brokers).
	DataSource string `json:"data_source" example:"127.0.0.1:3307"`
	// Source is the task: src or dest.
	Source string `json:"source" example:"src"`
}

// ConnectionInfo is where the job reads and writes, passwords masked.
type ConnectionInfo struct {
	SrcDataBase DatabaseConnectionConfig `json:"src_data_base"`
	DstDataBase DatabaseConnectionConfig `json:"dst_data_base"`
	DstKafka    KafkaDestTaskConfig      `json:"dst_kafka"`
}

// SrcConfig are the source task's options.
type SrcConfig struct {
	ChunkSize           int                  `json:"chunk_size"`
	DropTableIfExists   bool                 `json:"drop_table_if_exists"`
	GroupMaxSize        int                  `json:"group_max_size"`
	GroupTimeout        int                  `json:"group_timeout"`
	ReplChanBufferSize  int                  `json:"repl_chan_buffer_size"`
	SkipCreateDbTable   bool                 `json:"skip_create_db_table"`
	SQLFilter           []string             `json:"sql_filter"`
	MysqlSrcTaskConfig  *MysqlSrcTaskConfig  `json:"mysql_src_task_config"`
	OracleSrcTaskConfig *OracleSrcTaskConfig `json:"oracle_src_task_config"`
}

// DstConfig are a MySQL destination's options (null for Kafka).
type DstConfig struct {
	MysqlDestTaskConfig *MysqlDestTaskConfig `json:"mysql_dest_task_config"`
}

// Configuration is the job's configuration as sent (defaults filled).
type Configuration struct {
	FailOver   bool      `json:"fail_over"`
	RetryTimes int       `json:"retry_times"`
	SrcConfig  SrcConfig `json:"src_config"`
	DstConfig  DstConfig `json:"dst_config"`
}

// BasicTaskProfile is the 4.x job detail.
type BasicTaskProfile struct {
	JobBaseInfo       JobBaseInfo         `json:"job_base_info"`
	DtleNodeInfos     []DtleNodeInfo      `json:"dtle_node_infos"`
	ConnectionInfo    ConnectionInfo      `json:"connection_info"`
	Configuration     Configuration       `json:"configuration"`
	ReplicateDoDb     []*DataSourceConfig `json:"replicate_do_db"`
	ReplicateIgnoreDb []*DataSourceConfig `json:"replicate_ignore_db"`
}

// TaskLog is one allocation of a task with its Nomad task events.
type TaskLog struct {
	// Target is the task: src or dest.
	Target       string `json:"target" example:"src"`
	AllocationID string `json:"allocation_id"`
	NodeID       string `json:"node_id"`
	// Address is the node's address.
	Address string `json:"address" example:"10.186.63.86"`
	// Status is the allocation's desired status: run, stop or evict.
	Status     string      `json:"status" example:"run"`
	TaskEvents []TaskEvent `json:"task_events"`
}

// JobPositionResp is the reply of GET /v2/job/position.
type JobPositionResp struct {
	// Position is where the source task reads: its GTID set, or
	// "file:position" when the server has no GTIDs.
	Position string `json:"position" example:"00003307-1111-1111-1111-111111111111:1-24"`
	Message  string `json:"message" example:"ok"`
}

// ListColumnsRespV2 is the reply of GET /v2/database/columns.
type ListColumnsRespV2 struct {
	Columns []string `json:"columns" example:"id,name"`
	Message string   `json:"message" example:"ok"`
}
