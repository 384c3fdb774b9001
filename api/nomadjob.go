package api

import (
	"encoding/json"
	"fmt"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/config"
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

// dropNulls removes null values from decoded JSON, at every depth.
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
		if l, ok := v.([]any); ok && (k == "mysql_connection_config" || k == "speed_limit" || k == "verify") {
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
					BinlogFile: ct.BinlogFile, BinlogPos: ct.BinlogPos,
					ChunkSize: ct.ChunkSize, DropTableIfExists: ct.DropTableIfExists, SkipCreateDbTable: ct.SkipCreateDBTable,
					ReplChanBufferSize: ct.ReplChanBufferSize, ServerID: ct.ServerID,
					ReplicateDoDb: rulesFromTask(ct.ReplicateDoDB), ReplicateIgnoreDb: rulesFromTask(ct.ReplicateIgnoreDB),
					SpeedLimit: speedLimitOf(ct.SpeedLimit), Verify: verifyScheduleOf(ct.Verify),
					MysqlConnectionConfig: conn, SkipDtleApplied: ct.SkipDtleApplied, SkipDtleAppliedBy: ct.SkipDtleAppliedBy}
				if ct.GroupTimeout != config.DefaultGroupTimeoutMS {
					j.SrcTask.GroupTimeout = ct.GroupTimeout
				}
			case config.RoleDest:
				d := &DestTaskConfig{TaskName: t.Name, NodeID: node, MysqlConnectionConfig: conn}
				if ct.IsKafka() {
					d.MysqlConnectionConfig = nil
					d.KafkaBrokerAddrs, d.KafkaTopic = ct.KafkaBrokerAddrs, ct.KafkaTopic
					d.MessageGroupMaxSize, d.MessageGroupTimeout = ct.MessageGroupMaxSize, ct.MessageGroupTimeout
					if o := sameJSON[DebeziumOptions](ct); o != nil {
						d.DebeziumOptions = *o
					}
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

// jobType is a dtle job's type: its job_type meta when that names a type
// (the API and the example job files set it); else, for a job run from a
// job file without it, subscription when a dtle task has
// kafka_broker_addrs, and migration otherwise: a sync job's config is a
// migration's, so only the meta tells them apart. "" for a job without a
// dtle task.
func jobType(job *nomad.Job) string {
	if !isDtleJob(job) {
		return ""
	}
	if t := job.Meta[metaJobType]; checkJobType(t) == nil {
		return t
	}
	for _, tg := range job.TaskGroups {
		for _, t := range tg.Tasks {
			if t.Driver != driverName {
				continue
			}
			if ct, err := taskFromNomad(t.Config); err == nil && ct.IsKafka() {
				return JobTypeSubscription
			}
		}
	}
	return JobTypeMigration
}

// isDtleJob reports whether a task of job runs on the dtle driver.
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

// deref is *p, or the zero value when p is nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// ptr is a pointer to a copy of v, for Nomad's optional fields.
func ptr[T any](v T) *T { return &v }
