package api

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dtle-io/dtle/internal/config"
)

// The 4.x bodies become the 3.x job config the create path takes: one
// internal job, one normalization, one way to register it.

// jobConfig converts a 4.x migration or sync body to a job config (not
// normalized yet); the errors name the 4.x fields.
func (p *CreateOrUpdateMysqlToMysqlJobParamV2) jobConfig() (*JobConfig, error) {
	var errs []error
	if p.Reverse {
		errs = append(errs, errors.New("reverse: not supported here; reverse a job with /v2/job/{type}/reverse"))
	}
	j := &JobConfig{JobID: p.JobID, Failover: p.Failover, IsMysqlPasswordEncrypted: p.IsPasswordEncrypted}
	errs = append(errs, j.commonV4(p.JobID, p.Retry, p.SrcTask)...)
	if d := p.DestTask; d != nil {
		j.DestTask = &DestTaskConfig{TaskName: d.TaskName, NodeID: d.NodeID, MysqlConnectionConfig: connFromV4(d.ConnectionConfig)}
		errs = append(errs, checkDBType("dest_task.database_type", d.DatabaseType, false))
		if c := d.ConnectionConfig; c != nil {
			errs = append(errs, checkDBType("dest_task.connection_config.database_type", c.DatabaseType, false))
		}
		if m := d.MysqlDestTaskConfig; m != nil {
			j.DestTask.ParallelWorkers = m.ParallelWorkers
			if m.SetGtidNext {
				errs = append(errs, errors.New("dest_task.mysql_dest_task_config.set_gtid_next: not supported: "+
					"the destination applies each transaction with its own GTID and keeps the source's position in its checkpoint"))
			}
		}
	}
	return j, errors.Join(errs...)
}

// jobConfig converts a 4.x subscription body to a job config (not
// normalized yet); the errors name the 4.x fields.
func (p *CreateOrUpdateMysqlToKafkaJobParamV2) jobConfig() (*JobConfig, error) {
	j := &JobConfig{JobID: p.JobID, Failover: p.Failover, IsMysqlPasswordEncrypted: p.IsPasswordEncrypted}
	errs := j.commonV4(p.JobID, p.Retry, p.SrcTask)
	if d := p.DestTask; d != nil {
		j.DestTask = &DestTaskConfig{TaskName: d.TaskName, NodeID: d.NodeID, KafkaBrokerAddrs: d.KafkaBrokerAddrs,
			KafkaTopic: d.KafkaTopic, MessageGroupMaxSize: d.MessageGroupMaxSize, MessageGroupTimeout: d.MessageGroupTimeout}
		if len(d.KafkaBrokerAddrs) == 0 {
			errs = append(errs, errors.New("dest_task.kafka_broker_addrs: required"))
		}
		if d.KafkaDateTimeZone != "" {
			errs = append(errs, errors.New("dest_task.kafka_date_time_zone: not supported; leave it empty"))
		}
	}
	return j, errors.Join(errs...)
}

// commonV4 converts what both 4.x bodies share: the job id, retry and the
// source task.
func (j *JobConfig) commonV4(jobID string, retry int, src *SrcTaskConfigV2) []error {
	var errs []error
	if strings.TrimSpace(jobID) == "" {
		errs = append(errs, errors.New("job_id: required"))
	}
	if retry < 0 {
		errs = append(errs, fmt.Errorf("retry: must not be negative, got %d", retry))
	}
	if src == nil {
		return errs
	}
	s := &SrcTaskConfig{TaskName: src.TaskName, NodeID: src.NodeID, ChunkSize: src.ChunkSize,
		DropTableIfExists: src.DropTableIfExists, GroupMaxSize: src.GroupMaxSize, GroupTimeout: src.GroupTimeout,
		ReplChanBufferSize: src.ReplChanBufferSize, SkipCreateDbTable: src.SkipCreateDbTable, ServerID: src.ServerID,
		MysqlConnectionConfig: connFromV4(src.ConnectionConfig),
		ReplicateDoDb:         rulesFromV4(src.ReplicateDoDb), ReplicateIgnoreDb: rulesFromV4(src.ReplicateIgnoreDb)}
	if c := src.ConnectionConfig; c != nil {
		errs = append(errs, checkDBType("src_task.connection_config.database_type", c.DatabaseType, false))
	}
	if o := src.OracleSrcTaskConfig; o != nil && o.Scn != 0 {
		errs = append(errs, errors.New("src_task.oracle_src_task_config: Oracle sources are not supported"))
	}
	if m := src.MysqlSrcTaskConfig; m != nil {
		s.Gtid = m.Gtid
		// Two-way sync: drop what any dtle job applied on the source.
		s.SkipDtleApplied = m.TwoWaySync
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"expand_syntax_support", m.ExpandSyntaxSupport},
			{"auto_gtid", m.AutoGtid},
			{"wait_on_job", m.WaitOnJob != ""},
			{"two_way_sync_gtid", m.TwoWaySyncGtid != ""},
		} {
			if f.set {
				errs = append(errs, fmt.Errorf("src_task.mysql_src_task_config.%s: not supported; leave it unset", f.name))
			}
		}
	}
	events, err := sqlFilterEvents(src.SQLFilter)
	if err != nil {
		errs = append(errs, err)
	}
	if len(events) > 0 {
		if len(s.ReplicateDoDb) == 0 {
			// Every schema, as an empty list means, with the events dropped.
			s.ReplicateDoDb = []*ReplicateDB{{TableSchemaRegex: "^.*$", TableSchemaRename: ptr("")}}
		}
		for _, r := range s.ReplicateDoDb {
			for _, e := range events {
				if !slices.Contains(r.IgnoreEvent, e) {
					r.IgnoreEvent = append(r.IgnoreEvent, e)
				}
			}
		}
	}
	j.SrcTask = s
	return errs
}

// sqlFilterNames maps the 4.x sql_filter names (lower case) to the
// ignore_event names that drop the same changes.
var sqlFilterNames = map[string]string{
	"nodml":             "all dml",
	"nodmlinsert":       "insert",
	"nodmlupdate":       "update",
	"nodmldelete":       "delete",
	"noddl":             "all ddl",
	"noddlcreateschema": "create database",
	"noddldropschema":   "drop database",
	"noddlcreatetable":  "create table",
	"noddldroptable":    "drop table",
	"noddlaltertable":   "alter table",
	"noddldropindex":    "drop index",
	"noddltruncate":     "truncate table",
}

// sqlFilterEvents is the ignore_event list a sql_filter stands for.
func sqlFilterEvents(filter []string) ([]string, error) {
	var out []string
	for i, f := range filter {
		key := strings.ToLower(strings.TrimSpace(f))
		e, ok := sqlFilterNames[key]
		switch {
		case ok:
			out = append(out, e)
		case strings.HasPrefix(key, "noddlaltertable"):
			return nil, fmt.Errorf("src_task.sql_filter[%d]: %q is not supported: dtle drops ALTER TABLE as a whole "+
				"(NoDDLAlterTable), or by its text with a rule's ignore_sql", i, f)
		default:
			return nil, fmt.Errorf("src_task.sql_filter[%d]: unknown filter %q; use NoDML, NoDMLInsert, NoDMLUpdate, NoDMLDelete, "+
				"NoDDL, NoDDLCreateSchema, NoDDLDropSchema, NoDDLCreateTable, NoDDLDropTable, NoDDLAlterTable, NoDDLDropIndex "+
				"or NoDDLTruncate", i, f)
		}
	}
	return out, nil
}

// checkDBType accepts MySQL and MariaDB (any case); empty when !required.
func checkDBType(field, t string, required bool) error {
	switch strings.ToLower(strings.TrimSpace(t)) {
	case "mysql", "mariadb":
		return nil
	case "":
		if !required {
			return nil
		}
		return fmt.Errorf("%s: required: MySQL or MariaDB", field)
	}
	return fmt.Errorf("%s %q: not supported; dtle reads and writes MySQL and MariaDB only", field, t)
}

// dbTypeName is the spelling the 4.x replies use for a database_type.
func dbTypeName(t string) string {
	if strings.EqualFold(strings.TrimSpace(t), dbTypeMariaDB) {
		return dbTypeMariaDB
	}
	return dbTypeMySQL
}

func connFromV4(c *DatabaseConnectionConfig) *MysqlConnectionConfig {
	if c == nil {
		return nil
	}
	return &MysqlConnectionConfig{MysqlHost: c.Host, MysqlPort: c.Port, MysqlUser: c.User, MysqlPassword: c.Password,
		MysqlCharacterSet: c.CharacterSet}
}

func rulesFromV4(rules []*DataSourceConfig) []*ReplicateDB {
	if rules == nil {
		return nil
	}
	out := make([]*ReplicateDB, 0, len(rules))
	for _, r := range rules {
		if r == nil {
			continue
		}
		cr := &ReplicateDB{TableSchema: r.TableSchema, TableSchemaRegex: r.TableSchemaRegex,
			TableSchemaRename: ptr(r.TableSchemaRename), IgnoreEvent: slices.Clone(r.IgnoreEvent), IgnoreSQL: r.IgnoreSQL}
		for _, t := range r.Tables {
			if t != nil {
				cr.Tables = append(cr.Tables, &Table{TableName: t.TableName, TableRegex: t.TableRegex, TableRename: t.TableRename,
					ColumnMapFrom: t.ColumnMapFrom, ColumnMapTo: t.ColumnMapTo, Where: t.Where,
					IgnoreEvent: t.IgnoreEvent, IgnoreSQL: t.IgnoreSQL})
			}
		}
		out = append(out, cr)
	}
	return out
}

// v4FieldNames renames the 3.x option names in the messages of the shared
// create path to the 4.x bodies' names.
var v4FieldNames = strings.NewReplacer(
	"mysql_connection_config: required (mysql_host, mysql_port, mysql_user, mysql_password)",
	"connection_config: required (host, port, user, password)",
	"mysql_connection_config.mysql_", "connection_config.",
	"mysql_connection_config", "connection_config",
	"is_mysql_password_encrypted", "is_password_encrypted",
	"src_task.gtid", "src_task.mysql_src_task_config.gtid",
	"dest_task.parallel_workers", "dest_task.mysql_dest_task_config.parallel_workers",
	"job_name: required", "job_id: required",
)

// renameV4 is err with the 3.x option names in its message renamed to the
// 4.x ones, its status and code kept.
func renameV4(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return &Error{Status: e.Status, Code: e.Code, Err: errors.New(v4FieldNames.Replace(e.Err.Error()))}
	}
	return errors.New(v4FieldNames.Replace(err.Error()))
}

// fillSrcV4 puts what normalization settled back into a 4.x source task,
// for the reply and the stored copy: defaults filled, the password masked,
// no null lists.
func fillSrcV4(t *SrcTaskConfigV2, j *JobConfig) {
	src, _ := j.tasks()
	src.Defaults()
	t.TaskName, t.NodeID = j.SrcTask.TaskName, j.SrcTask.NodeID
	t.ChunkSize, t.GroupMaxSize, t.GroupTimeout = src.ChunkSize, src.GroupMaxSize, src.GroupTimeout
	t.ReplChanBufferSize = src.ReplChanBufferSize
	fillConnV4(t.ConnectionConfig, src.ConnectionConfig)
	if t.MysqlSrcTaskConfig == nil {
		t.MysqlSrcTaskConfig = &MysqlSrcTaskConfig{}
	}
	t.SQLFilter = nonNil(t.SQLFilter)
	t.ReplicateDoDb, t.ReplicateIgnoreDb = fillRulesV4(t.ReplicateDoDb), fillRulesV4(t.ReplicateIgnoreDb)
}

// fillConnV4 fills a 4.x connection's defaults from the normalized one and
// masks its password.
func fillConnV4(c *DatabaseConnectionConfig, n *config.MySQLConnection) {
	if c == nil {
		return
	}
	if n != nil {
		c.Port = n.Port
	}
	c.DatabaseType = dbTypeName(c.DatabaseType)
	c.Password = maskedPassword
}

func fillRulesV4(rules []*DataSourceConfig) []*DataSourceConfig {
	out := make([]*DataSourceConfig, 0, len(rules))
	for _, r := range rules {
		if r == nil {
			continue
		}
		r.Tables = slices.DeleteFunc(nonNil(r.Tables), func(t *TableConfig) bool { return t == nil })
		for _, t := range r.Tables {
			t.ColumnMapFrom, t.ColumnMapTo = nonNil(t.ColumnMapFrom), nonNil(t.ColumnMapTo)
		}
		out = append(out, r)
	}
	return out
}

// filled is the body with what normalization settled: defaults, the job
// id, passwords masked.
func (p *CreateOrUpdateMysqlToMysqlJobParamV2) filled(j *JobConfig) *CreateOrUpdateMysqlToMysqlJobParamV2 {
	p.JobID, p.Failover = j.JobID, j.Failover
	fillSrcV4(p.SrcTask, j)
	_, dest := j.tasks()
	dest.Defaults()
	d := p.DestTask
	d.TaskName, d.NodeID = j.DestTask.TaskName, j.DestTask.NodeID
	fillConnV4(d.ConnectionConfig, dest.ConnectionConfig)
	if d.ConnectionConfig != nil && d.DatabaseType == "" {
		d.DatabaseType = d.ConnectionConfig.DatabaseType
	}
	d.DatabaseType = dbTypeName(d.DatabaseType)
	if d.MysqlDestTaskConfig == nil {
		d.MysqlDestTaskConfig = &MysqlDestTaskConfig{}
	}
	d.MysqlDestTaskConfig.ParallelWorkers = dest.ParallelWorkers
	return p
}

// filled is the body with what normalization settled: defaults, the job
// id, passwords masked.
func (p *CreateOrUpdateMysqlToKafkaJobParamV2) filled(j *JobConfig) *CreateOrUpdateMysqlToKafkaJobParamV2 {
	p.JobID, p.Failover = j.JobID, j.Failover
	fillSrcV4(p.SrcTask, j)
	d := p.DestTask
	d.TaskName, d.NodeID = j.DestTask.TaskName, j.DestTask.NodeID
	d.MessageGroupMaxSize, d.MessageGroupTimeout = j.DestTask.MessageGroupMaxSize, j.DestTask.MessageGroupTimeout
	d.KafkaBrokerAddrs = nonNil(d.KafkaBrokerAddrs)
	return p
}

// nonNil is s, or an empty slice for nil (JSON [] rather than null).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
