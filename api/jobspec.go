package api

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/secret"
)

// Nomad job meta keys dtle uses.
const (
	metaJobType  = "job_type"
	metaFailover = "failover"
	metaPaused   = "dtle_paused"
	metaCountPfx = "dtle_count_"
)

// driverName is the task driver of dtle tasks.
const driverName = "dtle"

// JobStatusPaused is the job_status of a paused job.
const JobStatusPaused = "paused"

// normalize checks a job config for jobType and fills its defaults.
func (j *JobConfig) normalize(jobType string) error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	j.JobName = strings.TrimSpace(j.JobName)
	j.JobID = strings.TrimSpace(j.JobID)
	if j.JobName == "" {
		j.JobName = strings.TrimSuffix(j.JobID, "-"+jobType)
	}
	if j.JobName == "" {
		add("job_name: required")
	}
	if j.JobID == "" {
		j.JobID = j.JobName
	}
	if j.JobID != "" && !strings.HasSuffix(j.JobID, "-"+jobType) {
		j.JobID += "-" + jobType
	}
	if strings.ContainsAny(j.JobID, " /?#%\t\n") {
		add("job_id %q: must not contain spaces, '/', '?', '#' or '%%'", j.JobID)
	}
	if j.Failover == nil {
		t := true
		j.Failover = &t
	}
	if j.SrcTask == nil {
		add("src_task: required")
	}
	if j.DestTask == nil {
		add("dest_task: required")
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	s, d := j.SrcTask, j.DestTask
	if s.TaskName == "" {
		s.TaskName = config.RoleSource
	}
	if d.TaskName == "" {
		d.TaskName = config.RoleDest
	}
	if s.TaskName != config.RoleSource {
		add("src_task.task_name: must be %q, got %q", config.RoleSource, s.TaskName)
	}
	if d.TaskName != config.RoleDest {
		add("dest_task.task_name: must be %q, got %q", config.RoleDest, d.TaskName)
	}
	if !*j.Failover && (s.NodeID == "" || d.NodeID == "") {
		add("failover=false pins each task to its node: src_task.node_id and dest_task.node_id are required")
	}
	kafka := jobType == JobTypeSubscription
	switch {
	case kafka && d.MysqlConnectionConfig != nil:
		add("dest_task.mysql_connection_config: a subscription job writes to Kafka; use kafka_broker_addrs and kafka_topic")
	case kafka && len(d.KafkaBrokerAddrs) == 0:
		add("dest_task.kafka_broker_addrs: required for a subscription job")
	case !kafka && len(d.KafkaBrokerAddrs) > 0:
		add("dest_task.kafka_broker_addrs: a %s job writes to MySQL; use /v2/job/subscription for Kafka", jobType)
	}
	src, dest := j.tasks()
	src.Defaults()
	dest.Defaults()
	errs = append(errs, prefixed("src_task.", src.Validate(config.RoleSource))...)
	if _, err := filter.New(src); err != nil {
		errs = append(errs, prefixed("src_task.", err)...)
	}
	errs = append(errs, prefixed("dest_task.", dest.Validate(config.RoleDest))...)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	j.fromTasks(src, dest, kafka)
	return nil
}

// tasks converts the API's task configs to the driver's.
func (j *JobConfig) tasks() (src, dest *config.Task) {
	s, d := j.SrcTask, j.DestTask
	src = &config.Task{
		ConnectionConfig:   connToTask(s.MysqlConnectionConfig),
		PasswordEncrypted:  j.IsMysqlPasswordEncrypted,
		Gtid:               s.Gtid,
		GroupMaxSize:       s.GroupMaxSize,
		GroupTimeout:       s.GroupTimeout,
		ChunkSize:          s.ChunkSize,
		DropTableIfExists:  s.DropTableIfExists,
		SkipCreateDBTable:  s.SkipCreateDbTable,
		ReplChanBufferSize: s.ReplChanBufferSize,
		ServerID:           s.ServerID,
		ReplicateDoDB:      rulesToTask(s.ReplicateDoDb),
		ReplicateIgnoreDB:  rulesToTask(s.ReplicateIgnoreDb),
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

func connToTask(c *MysqlConnectionConfig) *config.MySQLConnection {
	if c == nil {
		return nil
	}
	return &config.MySQLConnection{Host: c.MysqlHost, Port: c.MysqlPort, User: c.MysqlUser,
		Password: c.MysqlPassword, CharacterSet: c.MysqlCharacterSet}
}

func connFromTask(c *config.MySQLConnection) *MysqlConnectionConfig {
	if c == nil {
		return nil
	}
	return &MysqlConnectionConfig{MysqlHost: c.Host, MysqlPort: c.Port, MysqlUser: c.User,
		MysqlPassword: c.Password, MysqlCharacterSet: c.CharacterSet}
}

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

// masked is a copy of the job config for replies: passwords show as "*".
func (j *JobConfig) masked() *JobConfig {
	cp := *j
	if j.SrcTask != nil {
		s := *j.SrcTask
		s.MysqlConnectionConfig = maskConn(s.MysqlConnectionConfig)
		cp.SrcTask = &s
	}
	if j.DestTask != nil {
		d := *j.DestTask
		d.MysqlConnectionConfig = maskConn(d.MysqlConnectionConfig)
		cp.DestTask = &d
	}
	return &cp
}

func maskConn(c *MysqlConnectionConfig) *MysqlConnectionConfig {
	if c == nil {
		return nil
	}
	m := *c
	m.MysqlPassword = "*"
	return &m
}

// sealPasswords readies the tasks' passwords for the Nomad job: with a node
// key they are stored encrypted (and checked to decrypt), without one in
// plaintext; an encrypted password (PasswordEncrypted) needs the key.
func sealPasswords(key *rsa.PrivateKey, tasks ...*config.Task) error {
	for i, t := range tasks {
		c := t.ConnectionConfig
		if c == nil {
			t.PasswordEncrypted = false
			continue
		}
		switch {
		case t.PasswordEncrypted:
			if _, err := secret.Decrypt(key, c.Password); err != nil {
				return badRequest("%s.mysql_connection_config.mysql_password: %w", taskField(i), err)
			}
			t.PasswordEncrypted = true
		case key != nil:
			enc, err := secret.Encrypt(&key.PublicKey, c.Password)
			if err != nil {
				return err
			}
			c.Password, t.PasswordEncrypted = enc, true
		default:
			t.PasswordEncrypted = false
		}
	}
	return nil
}

// openPasswords decrypts the tasks' passwords for the server checks.
func openPasswords(key *rsa.PrivateKey, tasks ...*config.Task) error {
	for i, t := range tasks {
		if c := t.ConnectionConfig; c != nil && t.PasswordEncrypted {
			pw, err := secret.Decrypt(key, c.Password)
			if err != nil {
				return badRequest("%s.mysql_connection_config.mysql_password: %w", taskField(i), err)
			}
			c.Password, t.PasswordEncrypted = pw, false
		}
	}
	return nil
}

// nomadJob builds the Nomad job of a normalized job config. Each task has
// a group of its own, so Nomad may place them on different nodes.
func (j *JobConfig) nomadJob(jobType string, src, dest *config.Task) (*nomad.Job, error) {
	job := &nomad.Job{
		ID:          ptr(j.JobID),
		Name:        ptr(j.JobName),
		Type:        ptr(nomad.JobTypeService),
		Datacenters: []string{"*"},
		Meta:        map[string]string{metaJobType: jobType, metaFailover: fmt.Sprint(*j.Failover)},
	}
	for _, g := range []struct {
		name, node string
		task       *config.Task
	}{
		{config.RoleSource, j.SrcTask.NodeID, src},
		{config.RoleDest, j.DestTask.NodeID, dest},
	} {
		cfg, err := taskConfigMap(g.task)
		if err != nil {
			return nil, err
		}
		tg := &nomad.TaskGroup{
			Name:  ptr(g.name),
			Count: ptr(1),
			RestartPolicy: &nomad.RestartPolicy{Attempts: ptr(3), Interval: ptr(5 * time.Minute),
				Delay: ptr(10 * time.Second), Mode: ptr("fail")},
			// No deployments: a task lost with its node before the
			// deployment's min_healthy_time would fail the deployment, and
			// Nomad places nothing for a failed deployment, so the task
			// would never run again.
			Update: &nomad.UpdateStrategy{MaxParallel: ptr(0)},
			// A failed task is not placed anew: it failed on something a
			// person must fix (the restart policy already retried it), and a
			// new allocation would only fail the same way, again and again.
			// Tasks lost with their node are replaced whatever this says.
			ReschedulePolicy: &nomad.ReschedulePolicy{Attempts: ptr(0), Unlimited: ptr(false)},
			Tasks: []*nomad.Task{{
				Name: g.name, Driver: driverName, Config: cfg,
				Resources: &nomad.Resources{CPU: ptr(100), MemoryMB: ptr(64)},
			}},
		}
		switch {
		case g.node != "" && *j.Failover:
			tg.Affinities = []*nomad.Affinity{nomad.NewAffinity("${node.unique.id}", "=", g.node, 100)}
		case g.node != "":
			tg.Constraints = []*nomad.Constraint{nomad.NewConstraint("${node.unique.id}", "=", g.node)}
		}
		job.TaskGroups = append(job.TaskGroups, tg)
	}
	return job, nil
}

// taskConfigMap is a task's config as Nomad job JSON: blocks as objects or
// lists of objects, nothing null.
func taskConfigMap(t *config.Task) (map[string]any, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	return dropNulls(m).(map[string]any), nil
}

func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if x == nil {
				delete(v, k)
				continue
			}
			v[k] = dropNulls(x)
		}
	case []any:
		for i := range v {
			v[i] = dropNulls(v[i])
		}
	}
	return v
}

// taskFromNomad decodes a task config as Nomad holds it: from the API
// (blocks as objects) or from a job file (blocks as lists of objects).
func taskFromNomad(cfg map[string]any) (*config.Task, error) {
	m := map[string]any{}
	for k, v := range cfg {
		if l, ok := v.([]any); ok && k == "mysql_connection_config" {
			if len(l) == 0 {
				continue
			}
			v = l[0]
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var t config.Task
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("task config in nomad: %w", err)
	}
	return &t, nil
}

// jobConfigFromNomad rebuilds a job's config from its Nomad job, passwords
// masked, for the detail route.
func jobConfigFromNomad(job *nomad.Job) (*JobConfig, error) {
	j := &JobConfig{JobID: deref(job.ID), JobName: deref(job.Name)}
	failover := job.Meta[metaFailover] != "false"
	j.Failover = &failover
	for _, tg := range job.TaskGroups {
		for _, t := range tg.Tasks {
			if t.Driver != driverName {
				continue
			}
			ct, err := taskFromNomad(t.Config)
			if err != nil {
				return nil, err
			}
			ct.Defaults()
			j.IsMysqlPasswordEncrypted = j.IsMysqlPasswordEncrypted || ct.PasswordEncrypted
			node := pinnedNode(tg)
			conn := maskConn(connFromTask(ct.ConnectionConfig))
			if conn != nil && conn.MysqlCharacterSet == config.DefaultCharacterSet {
				conn.MysqlCharacterSet = ""
			}
			switch t.Name {
			case config.RoleSource:
				j.SrcTask = &SrcTaskConfig{TaskName: t.Name, NodeID: node, Gtid: ct.Gtid, GroupMaxSize: ct.GroupMaxSize,
					ChunkSize: ct.ChunkSize, DropTableIfExists: ct.DropTableIfExists, SkipCreateDbTable: ct.SkipCreateDBTable,
					ReplChanBufferSize: ct.ReplChanBufferSize, ServerID: ct.ServerID,
					ReplicateDoDb: rulesFromTask(ct.ReplicateDoDB), ReplicateIgnoreDb: rulesFromTask(ct.ReplicateIgnoreDB),
					MysqlConnectionConfig: conn}
				if ct.GroupTimeout != config.DefaultGroupTimeoutMS {
					j.SrcTask.GroupTimeout = ct.GroupTimeout
				}
			case config.RoleDest:
				d := &DestTaskConfig{TaskName: t.Name, NodeID: node, MysqlConnectionConfig: conn}
				if ct.IsKafka() {
					d.MysqlConnectionConfig = nil
					d.KafkaBrokerAddrs, d.KafkaTopic = ct.KafkaBrokerAddrs, ct.KafkaTopic
					d.MessageGroupMaxSize, d.MessageGroupTimeout = ct.MessageGroupMaxSize, ct.MessageGroupTimeout
				} else {
					d.ParallelWorkers = ct.ParallelWorkers
				}
				j.DestTask = d
			}
		}
	}
	return j, nil
}

// pinnedNode is the node a group is placed on or prefers.
func pinnedNode(tg *nomad.TaskGroup) string {
	for _, c := range tg.Constraints {
		if c.LTarget == "${node.unique.id}" && c.Operand == "=" {
			return c.RTarget
		}
	}
	for _, a := range tg.Affinities {
		if a.LTarget == "${node.unique.id}" && a.Operand == "=" {
			return a.RTarget
		}
	}
	return ""
}

// jobType is a Nomad job's dtle job type, "" when it is not a dtle job.
func jobType(meta map[string]string, isDtle bool) string {
	if t := meta[metaJobType]; t != "" {
		return t
	}
	if isDtle {
		return JobTypeMigration
	}
	return ""
}

func isDtleJob(job *nomad.Job) bool {
	for _, tg := range job.TaskGroups {
		for _, t := range tg.Tasks {
			if t.Driver == driverName {
				return true
			}
		}
	}
	return false
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// prefixed names the task in each of the (joined) errors of err.
func prefixed(prefix string, err error) []error {
	if err == nil {
		return nil
	}
	var out []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, prefixed(prefix, e)...)
		}
		return out
	}
	return []error{fmt.Errorf("%s%w", prefix, err)}
}

// taskField names the i-th of (src, dest) tasks as the job config does.
func taskField(i int) string {
	if i == 0 {
		return "src_task"
	}
	return "dest_task"
}

// keepPasswords carries the stored passwords of an updated job over where
// the request says "*" (as the detail route shows them).
func keepPasswords(old *nomad.Job, tasks map[string]*config.Task) {
	for _, tg := range old.TaskGroups {
		for _, t := range tg.Tasks {
			nt, ok := tasks[t.Name]
			if !ok || t.Driver != driverName || nt.ConnectionConfig == nil || nt.ConnectionConfig.Password != "*" {
				continue
			}
			if ot, err := taskFromNomad(t.Config); err == nil && ot.ConnectionConfig != nil {
				nt.ConnectionConfig.Password, nt.PasswordEncrypted = ot.ConnectionConfig.Password, ot.PasswordEncrypted
			}
		}
	}
}
