package config

import (
	"errors"
	"fmt"
	"strings"
)

// Task roles. A dtle job has exactly one task of each role; the Nomad task
// name selects it.
const (
	RoleSource = "src"
	RoleDest   = "dest"
)

// Defaults of the contract.
const (
	DefaultChunkSize           = 2000
	DefaultGroupMaxSize        = 1
	DefaultGroupTimeoutMS      = 100
	DefaultReplChanBufferSize  = 32
	DefaultParallelWorkers     = 1
	DefaultMessageGroupMaxSize = 1
	DefaultMessageGroupTimeout = 100
	DefaultMySQLPort           = 3306
	DefaultCharacterSet        = "utf8mb4"
)

// Task is the configuration of one task, source or destination. Fields that
// belong to the other role are ignored.
type Task struct {
	// Both roles.
	ConnectionConfig *MySQLConnection `codec:"mysql_connection_config" json:"mysql_connection_config,omitempty"`
	// PasswordEncrypted says mysql_password is base64 of RSA PKCS#1 v1.5,
	// decrypted with the node's rsa_private_key_path when the task starts.
	PasswordEncrypted bool `codec:"is_mysql_password_encrypted" json:"is_mysql_password_encrypted,omitempty"`
	// PasswordSealed says mysql_password is sealed with the cluster's
	// secret for this job, task, server and user (secret.Seal): the API
	// keeps passwords so in the Nomad job when the nodes have no RSA key.
	PasswordSealed bool `codec:"mysql_password_sealed" json:"mysql_password_sealed,omitempty"`

	// Source.
	Gtid               string         `codec:"gtid" json:"gtid"`
	BinlogFile         string         `codec:"binlog_file" json:"binlog_file,omitempty"`
	BinlogPos          int64          `codec:"binlog_pos" json:"binlog_pos,omitempty"`
	GroupMaxSize       int            `codec:"group_max_size" json:"group_max_size"`
	GroupTimeout       int            `codec:"group_timeout" json:"group_timeout"`
	ChunkSize          int            `codec:"chunk_size" json:"chunk_size"`
	DropTableIfExists  bool           `codec:"drop_table_if_exists" json:"drop_table_if_exists"`
	SkipCreateDBTable  bool           `codec:"skip_create_db_table" json:"skip_create_db_table"`
	ReplChanBufferSize int            `codec:"repl_chan_buffer_size" json:"repl_chan_buffer_size"`
	ServerID           int            `codec:"server_id" json:"server_id"`
	ReplicateDoDB      []*ReplicateDB `codec:"replicate_do_db" json:"replicate_do_db"`
	ReplicateIgnoreDB  []*ReplicateDB `codec:"replicate_ignore_db" json:"replicate_ignore_db"`
	SpeedLimit         *SpeedLimit    `codec:"speed_limit" json:"speed_limit,omitempty"`
	// Verify compares the job's tables on a schedule (verify.go).
	Verify *VerifySchedule `codec:"verify" json:"verify,omitempty"`
	// SkipDtleApplied drops every binlog transaction that a dtle applier
	// committed on the source (it writes `dtle`.`checkpoint`), so two jobs
	// replicating both ways do not send changes back; with
	// SkipDtleAppliedBy, only those the job of that id applied.
	SkipDtleApplied   bool   `codec:"skip_dtle_applied" json:"skip_dtle_applied,omitempty"`
	SkipDtleAppliedBy string `codec:"skip_dtle_applied_by" json:"skip_dtle_applied_by,omitempty"`

	// Destination, MySQL.
	ParallelWorkers int `codec:"parallel_workers" json:"parallel_workers"`

	// Destination, Kafka.
	KafkaBrokerAddrs    []string `codec:"kafka_broker_addrs" json:"kafka_broker_addrs,omitempty"`
	KafkaTopic          string   `codec:"kafka_topic" json:"kafka_topic,omitempty"`
	MessageGroupMaxSize int      `codec:"message_group_max_size" json:"message_group_max_size,omitempty"`
	MessageGroupTimeout int      `codec:"message_group_timeout" json:"message_group_timeout,omitempty"`
	// The Debezium MySQL connector settings that change the events'
	// format, with Debezium's names and defaults (see debezium.go).
	DecimalHandlingMode        string `codec:"decimal_handling_mode" json:"decimal_handling_mode,omitempty"`
	TimePrecisionMode          string `codec:"time_precision_mode" json:"time_precision_mode,omitempty"`
	BigintUnsignedHandlingMode string `codec:"bigint_unsigned_handling_mode" json:"bigint_unsigned_handling_mode,omitempty"`
	BinaryHandlingMode         string `codec:"binary_handling_mode" json:"binary_handling_mode,omitempty"`
	// TombstonesOnDelete and IncludeSchemaChanges are true when unset.
	TombstonesOnDelete   *bool  `codec:"tombstones_on_delete" json:"tombstones_on_delete,omitempty"`
	IncludeSchemaChanges *bool  `codec:"include_schema_changes" json:"include_schema_changes,omitempty"`
	SkippedOperations    string `codec:"skipped_operations" json:"skipped_operations,omitempty"`
}

// MySQLConnection says how to reach a MySQL or MariaDB server.
type MySQLConnection struct {
	Host         string `codec:"mysql_host" json:"mysql_host"`
	Port         int    `codec:"mysql_port" json:"mysql_port"`
	User         string `codec:"mysql_user" json:"mysql_user"`
	Password     string `codec:"mysql_password" json:"mysql_password"`
	CharacterSet string `codec:"mysql_character_set" json:"mysql_character_set,omitempty"`
}

// ReplicateDB selects (or, in an ignore list, excludes) a schema or the
// tables of a schema.
type ReplicateDB struct {
	TableSchema       string   `codec:"table_schema" json:"table_schema"`
	TableSchemaRegex  string   `codec:"table_schema_regex" json:"table_schema_regex,omitempty"`
	TableSchemaRename string   `codec:"table_schema_rename" json:"table_schema_rename"`
	Tables            []*Table `codec:"tables" json:"tables"`
	// IgnoreEvent and IgnoreSQL drop events of every table the rule
	// selects: kinds of change (insert, update, delete, drop table, ...) and
	// DDL whose text matches a regular expression.
	IgnoreEvent []string `codec:"ignore_event" json:"ignore_event,omitempty"`
	IgnoreSQL   []string `codec:"ignore_sql" json:"ignore_sql,omitempty"`
}

// Table selects one table, or the tables matching a regex.
type Table struct {
	TableName     string   `codec:"table_name" json:"table_name"`
	TableRegex    string   `codec:"table_regex" json:"table_regex,omitempty"`
	TableRename   string   `codec:"table_rename" json:"table_rename"`
	ColumnMapFrom []string `codec:"column_map_from" json:"column_map_from"`
	ColumnMapTo   []string `codec:"column_map_to" json:"column_map_to,omitempty"`
	Where         string   `codec:"where" json:"where"`
	IgnoreEvent   []string `codec:"ignore_event" json:"ignore_event,omitempty"`
	IgnoreSQL     []string `codec:"ignore_sql" json:"ignore_sql,omitempty"`
}

// IsKafka reports whether a destination task writes to Kafka.
func (t *Task) IsKafka() bool { return len(t.KafkaBrokerAddrs) > 0 }

// Defaults fills every zero-valued option that has a default.
func (t *Task) Defaults() {
	setIfZero(&t.GroupMaxSize, DefaultGroupMaxSize)
	setIfZero(&t.GroupTimeout, DefaultGroupTimeoutMS)
	setIfZero(&t.ChunkSize, DefaultChunkSize)
	setIfZero(&t.ReplChanBufferSize, DefaultReplChanBufferSize)
	setIfZero(&t.ParallelWorkers, DefaultParallelWorkers)
	if t.IsKafka() {
		setIfZero(&t.MessageGroupMaxSize, DefaultMessageGroupMaxSize)
		setIfZero(&t.MessageGroupTimeout, DefaultMessageGroupTimeout)
		t.debeziumDefaults()
	}
	if c := t.ConnectionConfig; c != nil {
		setIfZero(&c.Port, DefaultMySQLPort)
		if c.CharacterSet == "" {
			c.CharacterSet = DefaultCharacterSet
		}
	}
}

func setIfZero(v *int, def int) {
	if *v == 0 {
		*v = def
	}
}

// Validate checks the options a task of the given role needs. Every problem
// is reported, each naming the option to fix.
func (t *Task) Validate(role string) error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch role {
	case RoleSource, RoleDest:
	default:
		add("task name %q: a dtle task must be named %q (source) or %q (destination)", role, RoleSource, RoleDest)
	}
	needsMySQL := role == RoleSource || !t.IsKafka()
	if needsMySQL {
		errs = append(errs, t.ConnectionConfig.validate()...)
	}
	positive := []struct {
		name  string
		value int
	}{
		{"chunk_size", t.ChunkSize},
		{"group_max_size", t.GroupMaxSize},
		{"group_timeout", t.GroupTimeout},
		{"repl_chan_buffer_size", t.ReplChanBufferSize},
		{"parallel_workers", t.ParallelWorkers},
	}
	for _, p := range positive {
		if p.value < 0 {
			add("%s: must not be negative, got %d", p.name, p.value)
		}
	}
	errs = append(errs, t.validateStart()...)
	if err := t.SpeedLimit.Validate("speed_limit"); err != nil {
		errs = append(errs, err)
	}
	if role == RoleSource {
		if err := t.Verify.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if t.ServerID < 0 || int64(t.ServerID) > 1<<32-1 {
		add("server_id: must be between 1 and 4294967295 (0 picks one), got %d", t.ServerID)
	}
	if role == RoleDest && t.IsKafka() && strings.TrimSpace(t.KafkaTopic) == "" {
		add("kafka_topic: required when kafka_broker_addrs is set")
	}
	if role == RoleDest && t.IsKafka() {
		errs = append(errs, t.validateDebezium()...)
	}
	return errors.Join(errs...)
}

func (c *MySQLConnection) validate() []error {
	if c == nil {
		return []error{errors.New("mysql_connection_config: required (mysql_host, mysql_port, mysql_user, mysql_password)")}
	}
	var errs []error
	if strings.TrimSpace(c.Host) == "" {
		errs = append(errs, errors.New("mysql_connection_config.mysql_host: required"))
	}
	if c.Port <= 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("mysql_connection_config.mysql_port: must be 1-65535, got %d", c.Port))
	}
	if strings.TrimSpace(c.User) == "" {
		errs = append(errs, errors.New("mysql_connection_config.mysql_user: required"))
	}
	if cs := strings.ToLower(c.CharacterSet); cs != "" && !safeCharsets[cs] {
		errs = append(errs, fmt.Errorf("mysql_connection_config.mysql_character_set: %q is not a character set dtle "+
			"connects with; use utf8mb4 (text of every character set is still copied exactly)%s", c.CharacterSet, unsafeHint(cs)))
	}
	return errs
}

// safeCharsets are the connection character sets dtle accepts: those in
// which the byte of a backslash or a quote is always that character.
// Multi-byte sets whose second byte may be 0x5c (big5, cp932, gbk, gb18030,
// sjis) are not among them: a value's byte could end an escape, and with it
// a literal. Text is converted to and from the connection's set by the
// server, so utf8mb4 carries every column's text.
var safeCharsets = map[string]bool{
	"utf8mb4": true, "utf8mb3": true, "utf8": true, "latin1": true, "latin2": true, "latin5": true,
	"latin7": true, "ascii": true, "binary": true, "cp1250": true, "cp1251": true, "cp1256": true,
	"cp1257": true, "cp850": true, "cp852": true, "cp866": true, "greek": true, "hebrew": true,
	"koi8r": true, "koi8u": true, "armscii8": true, "geostd8": true, "keybcs2": true, "macce": true,
	"macroman": true, "swe7": true, "tis620": true, "dec8": true, "hp8": true, "euckr": true,
	"ujis": true, "eucjpms": true, "gb2312": true,
}

func unsafeHint(cs string) string {
	switch cs {
	case "big5", "cp932", "gbk", "gb18030", "sjis":
		return " (" + cs + " is refused: its multi-byte characters may hold the byte of a backslash, which breaks escaping)"
	}
	return ""
}
