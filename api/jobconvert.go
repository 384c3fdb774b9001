package api

import "github.com/dtle-io/dtle/internal/config"

// tasks converts the API's task configs to the driver's.
func (j *JobConfig) tasks() (src, dest *config.Task) {
	s, d := j.SrcTask, j.DestTask
	src = &config.Task{
		ConnectionConfig:   connToTask(s.MysqlConnectionConfig),
		PasswordEncrypted:  j.IsMysqlPasswordEncrypted,
		Gtid:               s.Gtid,
		BinlogFile:         s.BinlogFile,
		BinlogPos:          s.BinlogPos,
		GroupMaxSize:       s.GroupMaxSize,
		GroupTimeout:       s.GroupTimeout,
		ChunkSize:          s.ChunkSize,
		DropTableIfExists:  s.DropTableIfExists,
		SkipCreateDBTable:  s.SkipCreateDbTable,
		ReplChanBufferSize: s.ReplChanBufferSize,
		ServerID:           s.ServerID,
		ReplicateDoDB:      rulesToTask(s.ReplicateDoDb),
		ReplicateIgnoreDB:  rulesToTask(s.ReplicateIgnoreDb),
		SpeedLimit:         s.SpeedLimit.config(),
		SkipDtleApplied:    s.SkipDtleApplied,
		SkipDtleAppliedBy:  s.SkipDtleAppliedBy,
		Verify:             s.Verify.config(),
	}
	dest = &config.Task{
		ConnectionConfig:    connToTask(d.MysqlConnectionConfig),
		PasswordEncrypted:   j.IsMysqlPasswordEncrypted,
		ParallelWorkers:     d.ParallelWorkers,
		KafkaBrokerAddrs:    d.KafkaBrokerAddrs,
		KafkaTopic:          d.KafkaTopic,
		MessageGroupMaxSize: d.MessageGroupMaxSize,
		MessageGroupTimeout: d.MessageGroupTimeout,
	}
	if o := sameJSON[config.Task](d.DebeziumOptions); o != nil {
		dest.DecimalHandlingMode, dest.TimePrecisionMode = o.DecimalHandlingMode, o.TimePrecisionMode
		dest.BigintUnsignedHandlingMode, dest.BinaryHandlingMode = o.BigintUnsignedHandlingMode, o.BinaryHandlingMode
		dest.TombstonesOnDelete, dest.IncludeSchemaChanges, dest.SkippedOperations = o.TombstonesOnDelete, o.IncludeSchemaChanges, o.SkippedOperations
	}
	return src, dest
}

// fromTasks takes the defaults the driver's configs hold back into the
// API's, keeping what the request said as it said it.
func (j *JobConfig) fromTasks(src, dest *config.Task, kafka bool) {
	s, d := j.SrcTask, j.DestTask
	s.GroupMaxSize, s.ChunkSize, s.ReplChanBufferSize = src.GroupMaxSize, src.ChunkSize, src.ReplChanBufferSize
	if c := s.MysqlConnectionConfig; c != nil {
		c.MysqlPort = src.ConnectionConfig.Port
	}
	if kafka {
		d.ParallelWorkers = 0
		d.MessageGroupMaxSize, d.MessageGroupTimeout = dest.MessageGroupMaxSize, dest.MessageGroupTimeout
		return
	}
	d.ParallelWorkers = dest.ParallelWorkers
	d.MysqlConnectionConfig.MysqlPort = dest.ConnectionConfig.Port
}

// connToTask converts the API's connection config to the driver's.
func connToTask(c *MysqlConnectionConfig) *config.MySQLConnection {
	if c == nil {
		return nil
	}
	return &config.MySQLConnection{Host: c.MysqlHost, Port: c.MysqlPort, User: c.MysqlUser,
		Password: c.MysqlPassword, CharacterSet: c.MysqlCharacterSet}
}

// connFromTask converts the driver's connection config to the API's.
func connFromTask(c *config.MySQLConnection) *MysqlConnectionConfig {
	if c == nil {
		return nil
	}
	return &MysqlConnectionConfig{MysqlHost: c.Host, MysqlPort: c.Port, MysqlUser: c.User,
		MysqlPassword: c.Password, MysqlCharacterSet: c.CharacterSet}
}

// rulesToTask converts replicate_do_db or replicate_ignore_db rules to the
// driver's, skipping null entries.
func rulesToTask(rules []*ReplicateDB) []*config.ReplicateDB {
	if rules == nil {
		return nil
	}
	out := make([]*config.ReplicateDB, 0, len(rules))
	for _, r := range rules {
		if r == nil {
			continue
		}
		cr := &config.ReplicateDB{TableSchema: r.TableSchema, TableSchemaRegex: r.TableSchemaRegex,
			IgnoreEvent: r.IgnoreEvent, IgnoreSQL: r.IgnoreSQL}
		if r.TableSchemaRename != nil {
			cr.TableSchemaRename = *r.TableSchemaRename
		}
		for _, t := range r.Tables {
			if t == nil {
				continue
			}
			cr.Tables = append(cr.Tables, &config.Table{TableName: t.TableName, TableRegex: t.TableRegex,
				TableRename: t.TableRename, ColumnMapFrom: t.ColumnMapFrom, ColumnMapTo: t.ColumnMapTo, Where: t.Where,
				IgnoreEvent: t.IgnoreEvent, IgnoreSQL: t.IgnoreSQL})
		}
		out = append(out, cr)
	}
	return out
}

// rulesFromTask is the detail view of stored rules: lists are never null.
func rulesFromTask(rules []*config.ReplicateDB) []*ReplicateDB {
	out := make([]*ReplicateDB, 0, len(rules))
	for _, r := range rules {
		rename := r.TableSchemaRename
		ar := &ReplicateDB{TableSchema: r.TableSchema, TableSchemaRegex: r.TableSchemaRegex, TableSchemaRename: &rename,
			Tables: []*Table{}, IgnoreEvent: r.IgnoreEvent, IgnoreSQL: r.IgnoreSQL}
		for _, t := range r.Tables {
			ar.Tables = append(ar.Tables, &Table{TableName: t.TableName, TableRegex: t.TableRegex,
				TableRename: t.TableRename, ColumnMapFrom: t.ColumnMapFrom, ColumnMapTo: t.ColumnMapTo, Where: t.Where,
				IgnoreEvent: t.IgnoreEvent, IgnoreSQL: t.IgnoreSQL})
		}
		out = append(out, ar)
	}
	return out
}

func (v *VerifySchedule) config() *config.VerifySchedule {
	if v == nil {
		return nil
	}
	return &config.VerifySchedule{Every: v.Every, Tables: v.Tables, Repair: v.Repair, RowsPerSecond: v.RowsPerSecond}
}

func verifyScheduleOf(v *config.VerifySchedule) *VerifySchedule {
	if v == nil {
		return nil
	}
	return &VerifySchedule{Every: v.Every, Tables: v.Tables, Repair: v.Repair, RowsPerSecond: v.RowsPerSecond}
}
