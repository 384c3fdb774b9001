package api

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/internal/config"
)

// figuresTimeout bounds asking the tasks for the delay and copy progress a
// detail shows: the detail answers without them rather than wait.
const figuresTimeout = 3 * time.Second

// Stages the destination reports as Nomad task events.
const (
	stageFull = "job_stage_full"
	stageIncr = "job_stage_incr"
)

// jobDetailV2 godoc
//
//	@Summary		Show a job (4.x)
//	@Description	The 4.x UI's path for a job's detail: the same reply as GET /v2/job/{type}/detail, the type taken from the path. basic_task_profile is the configuration as last sent (passwords masked), where the tasks run, the stage, steps, delay and full-copy progress; task_logs lists each allocation of each task with its Nomad task events.
//	@Tags			job (4.x)
//	@Produce		json
//	@Param			job_id	query		string	true	"job id"
//	@Success		200		{object}	JobDetailResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: job_id is missing"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: no login or api_token"
//	@Failure		403		{object}	ErrorResponse	"forbidden: the login's role may not see the job's detail, or Nomad refused this node's access"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job, or the job is of another type"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/job/migration/detail [get]
//	@Router			/v2/job/sync/detail [get]
//	@Router			/v2/job/subscription/detail [get]
func (s *Server) jobDetailV2(c echo.Context) error { return s.detailOf(c, routeJobType(c)) }

// Job step statuses.
const (
	stepStart   = "start"
	stepRunning = "running"
	stepFinish  = "finish"
)

// profile is the 4.x detail of a job: its configuration as last sent
// (passwords masked), where its tasks run, their Nomad events and, from the
// running tasks, the delay and the full copy's progress. What Nomad or the
// tasks cannot tell now is left empty, not an error.
func (s *Server) profile(c echo.Context, job *nomad.Job, cfg *JobConfig, allocs []*nomad.AllocationListStub,
	status string) (*BasicTaskProfile, []TaskLog) {
	v := uiViewOf(job, cfg)
	ctx, cancel := context.WithTimeout(c.Request().Context(), figuresTimeout)
	defer cancel()
	addrs := s.nodeAddrs(ctx)
	p := &BasicTaskProfile{DtleNodeInfos: []DtleNodeInfo{}, ReplicateDoDb: v.src.ReplicateDoDb,
		ReplicateIgnoreDb: v.src.ReplicateIgnoreDb}
	logs := []TaskLog{}
	running := map[string]string{}
	for _, a := range allocs {
		for _, task := range []string{config.RoleSource, config.RoleDest} {
			st, ok := a.TaskStates[task]
			if !ok {
				if a.TaskGroup != task {
					continue
				}
				st = &nomad.TaskState{State: a.ClientStatus}
			}
			logs = append(logs, TaskLog{Target: task, AllocationID: a.ID, NodeID: a.NodeID, Address: addrs[a.NodeID],
				Status: a.DesiredStatus, TaskEvents: taskEvents(st)})
			if a.DesiredStatus == nomad.AllocDesiredStatusRun {
				p.DtleNodeInfos = append(p.DtleNodeInfos, DtleNodeInfo{NodeAddr: addrs[a.NodeID], NodeID: a.NodeID,
					DataSource: v.dataSource(task), Source: task})
			}
			if st.State == "running" && running[task] == "" {
				running[task] = a.ID
			}
		}
	}
	auth := forwardAuthorization(c)
	srcFig, destFig := s.figuresIfRunning(ctx, running[config.RoleSource], config.RoleSource, auth),
		s.figuresIfRunning(ctx, running[config.RoleDest], config.RoleDest, auth)
	created := createTime(job, time.Now())
	stage := lastStage(allocs)
	b := JobBaseInfo{JobID: deref(job.ID), JobStatus: status, JobCreateTime: created, JobStage: stage}
	if destFig != nil {
		b.Delay = destFig.DelayCount.Time
		b.DumpProgress.ExecRowCount = destFig.CopiedRowCount
	}
	switch {
	case stage == stageIncr:
		b.DumpProgress.TotalRowCount = b.DumpProgress.ExecRowCount
	case srcFig != nil:
		b.DumpProgress.TotalRowCount = max(srcFig.TotalRowCount, b.DumpProgress.ExecRowCount)
	}
	b.JobSteps = jobSteps(jobSummaryOf(job).FullCopy, created, stage, b.DumpProgress)
	if v.kafka != nil {
		b.SubscriptionTopic = v.kafka.KafkaTopic
	}
	p.JobBaseInfo = b
	p.ConnectionInfo = v.connectionInfo()
	p.Configuration = v.configuration(job)
	return p, logs
}

// figuresIfRunning are a running task's figures, nil when it is not
// running or does not answer in time; auth as for figures.
func (s *Server) figuresIfRunning(ctx context.Context, allocID, task, auth string) *TaskMonitor {
	if allocID == "" {
		return nil
	}
	m, err := s.figures(ctx, allocID, task, auth)
	if err != nil {
		s.log.Debug("job detail without the figures of a task", "alloc_id", allocID, "task", task, "error", err)
		return nil
	}
	return m
}

// nodeAddrs maps node ids to addresses; empty when Nomad does not answer.
func (s *Server) nodeAddrs(ctx context.Context) map[string]string {
	out := map[string]string{}
	nodes, _, err := s.nomad.Nodes().List((&nomad.QueryOptions{}).WithContext(ctx))
	if err != nil {
		s.log.Debug("job detail without node addresses", "error", err)
		return out
	}
	for _, n := range nodes {
		out[n.ID] = n.Address
	}
	return out
}

// lastStage is the last stage (job_stage_full, job_stage_incr) a job's
// tasks reported, "" before any.
func lastStage(allocs []*nomad.AllocationListStub) string {
	var at int64
	stage := ""
	for _, a := range allocs {
		for _, st := range a.TaskStates {
			for _, ev := range st.Events {
				if m := eventMessage(ev); (m == stageFull || m == stageIncr) && ev.Time >= at {
					at, stage = ev.Time, m
				}
			}
		}
	}
	return stage
}

// jobSteps are a job's steps: the full copy (when it makes one), then the
// binlog. A full copy in progress is as far as dump says.
func jobSteps(fullCopy bool, created, stage string, dump DumpProgress) []JobStep {
	var out []JobStep
	if fullCopy {
		full := JobStep{StepName: stageFull, StepStatus: stepStart, JobCreateTime: created}
		switch stage {
		case stageFull:
			full.StepStatus = stepRunning
			if dump.TotalRowCount > 0 {
				full.StepSchedule = min(99.9, 100*float64(dump.ExecRowCount)/float64(dump.TotalRowCount))
			}
		case stageIncr:
			full.StepStatus, full.StepSchedule = stepFinish, 100
		}
		out = append(out, full)
	}
	incr := JobStep{StepName: stageIncr, StepStatus: stepStart, JobCreateTime: created}
	if stage == stageIncr {
		incr.StepStatus, incr.StepSchedule = stepRunning, 100
	}
	return append(out, incr)
}

// uiView is a job as the 4.x routes show it: the body it was last
// registered with through them (kept in its meta), or, for a job registered
// otherwise, its config in the 4.x shape. Passwords are masked either way.
type uiView struct {
	failover bool
	src      *SrcTaskConfigV2
	dest     *DestTaskConfigV2    // a MySQL destination
	kafka    *KafkaDestTaskConfig // a Kafka destination
}

// storedUI is the part of a stored 4.x body the detail reads.
type storedUI struct {
	SrcTask  *SrcTaskConfigV2 `json:"src_task"`
	DestTask json.RawMessage  `json:"dest_task"`
}

func uiViewOf(job *nomad.Job, cfg *JobConfig) uiView {
	v := uiView{failover: cfg.Failover == nil || *cfg.Failover}
	kafka := cfg.DestTask != nil && len(cfg.DestTask.KafkaBrokerAddrs) > 0
	var st storedUI
	if raw := job.Meta[metaUIConfig]; raw != "" && json.Unmarshal([]byte(raw), &st) == nil && st.SrcTask != nil && st.DestTask != nil {
		var err error
		if kafka {
			v.kafka = &KafkaDestTaskConfig{}
			err = json.Unmarshal(st.DestTask, v.kafka)
		} else {
			v.dest = &DestTaskConfigV2{}
			err = json.Unmarshal(st.DestTask, v.dest)
		}
		if err == nil {
			v.src = st.SrcTask
			v.maskAndFill()
			return v
		}
		v.dest, v.kafka = nil, nil
	}
	v.src = srcV4From3(cfg.SrcTask)
	switch {
	case kafka:
		d := cfg.DestTask
		v.kafka = &KafkaDestTaskConfig{TaskName: d.TaskName, NodeID: d.NodeID, KafkaBrokerAddrs: d.KafkaBrokerAddrs,
			KafkaTopic: d.KafkaTopic, MessageGroupMaxSize: d.MessageGroupMaxSize, MessageGroupTimeout: d.MessageGroupTimeout}
	case cfg.DestTask != nil:
		d := cfg.DestTask
		v.dest = &DestTaskConfigV2{TaskName: d.TaskName, NodeID: d.NodeID, DatabaseType: dbTypeMySQL,
			ConnectionConfig: connV4From3(d.MysqlConnectionConfig), MysqlDestTaskConfig: &MysqlDestTaskConfig{ParallelWorkers: d.ParallelWorkers}}
	}
	v.maskAndFill()
	return v
}

// maskAndFill masks the view's passwords (whatever the stored copy says)
// and leaves no null where a list or an object belongs.
func (v *uiView) maskAndFill() {
	if v.src == nil {
		v.src = &SrcTaskConfigV2{}
	}
	for _, c := range []*DatabaseConnectionConfig{v.src.ConnectionConfig, v.destConn()} {
		if c != nil {
			c.Password = maskedPassword
		}
	}
	if v.src.MysqlSrcTaskConfig == nil {
		v.src.MysqlSrcTaskConfig = &MysqlSrcTaskConfig{}
	}
	v.src.SQLFilter = nonNil(v.src.SQLFilter)
	v.src.ReplicateDoDb, v.src.ReplicateIgnoreDb = fillRulesV4(v.src.ReplicateDoDb), fillRulesV4(v.src.ReplicateIgnoreDb)
	if v.dest != nil && v.dest.MysqlDestTaskConfig == nil {
		v.dest.MysqlDestTaskConfig = &MysqlDestTaskConfig{}
	}
	if v.kafka != nil {
		v.kafka.KafkaBrokerAddrs = nonNil(v.kafka.KafkaBrokerAddrs)
	}
}

func (v *uiView) destConn() *DatabaseConnectionConfig {
	if v.dest == nil {
		return nil
	}
	return v.dest.ConnectionConfig
}

// dataSource is the server a task reads or writes.
func (v *uiView) dataSource(task string) string {
	var c *DatabaseConnectionConfig
	switch {
	case task == config.RoleSource:
		c = v.src.ConnectionConfig
	case v.kafka != nil:
		return strings.Join(v.kafka.KafkaBrokerAddrs, ",")
	default:
		c = v.destConn()
	}
	if c == nil {
		return ""
	}
	return joinHostPort(c.Host, c.Port)
}

func (v *uiView) connectionInfo() ConnectionInfo {
	ci := ConnectionInfo{DstKafka: KafkaDestTaskConfig{KafkaBrokerAddrs: []string{}}}
	if c := v.src.ConnectionConfig; c != nil {
		ci.SrcDataBase = *c
	}
	if c := v.destConn(); c != nil {
		ci.DstDataBase = *c
	}
	if v.kafka != nil {
		ci.DstKafka = *v.kafka
	}
	return ci
}

func (v *uiView) configuration(job *nomad.Job) Configuration {
	s := v.src
	cf := Configuration{FailOver: v.failover, RetryTimes: restartAttempts(job), SrcConfig: SrcConfig{
		ChunkSize: s.ChunkSize, DropTableIfExists: s.DropTableIfExists, GroupMaxSize: s.GroupMaxSize,
		GroupTimeout: s.GroupTimeout, ReplChanBufferSize: s.ReplChanBufferSize, SkipCreateDbTable: s.SkipCreateDbTable,
		SQLFilter: s.SQLFilter, MysqlSrcTaskConfig: s.MysqlSrcTaskConfig, OracleSrcTaskConfig: s.OracleSrcTaskConfig}}
	if v.dest != nil {
		cf.DstConfig.MysqlDestTaskConfig = v.dest.MysqlDestTaskConfig
	}
	if cf.SrcConfig.OracleSrcTaskConfig == nil {
		// The 4.x UI reads the object whatever the source is.
		cf.SrcConfig.OracleSrcTaskConfig = &OracleSrcTaskConfig{}
	}
	return cf
}

// restartAttempts is how often Nomad restarts a job's failed task.
func restartAttempts(job *nomad.Job) int {
	for _, tg := range job.TaskGroups {
		if tg.RestartPolicy != nil && tg.RestartPolicy.Attempts != nil {
			return *tg.RestartPolicy.Attempts
		}
	}
	return 0
}

// srcV4From3 is a 3.x source task config in the 4.x shape.
func srcV4From3(s *SrcTaskConfig) *SrcTaskConfigV2 {
	if s == nil {
		return &SrcTaskConfigV2{}
	}
	t := &SrcTaskConfigV2{TaskName: s.TaskName, NodeID: s.NodeID, ConnectionConfig: connV4From3(s.MysqlConnectionConfig),
		ChunkSize: s.ChunkSize, DropTableIfExists: s.DropTableIfExists, GroupMaxSize: s.GroupMaxSize,
		GroupTimeout: s.GroupTimeout, ReplChanBufferSize: s.ReplChanBufferSize, SkipCreateDbTable: s.SkipCreateDbTable,
		ServerID: s.ServerID, MysqlSrcTaskConfig: &MysqlSrcTaskConfig{Gtid: s.Gtid}, OracleSrcTaskConfig: &OracleSrcTaskConfig{},
		ReplicateDoDb: rulesV4From3(s.ReplicateDoDb), ReplicateIgnoreDb: rulesV4From3(s.ReplicateIgnoreDb)}
	if t.GroupTimeout == 0 {
		t.GroupTimeout = config.DefaultGroupTimeoutMS
	}
	return t
}

func connV4From3(c *MysqlConnectionConfig) *DatabaseConnectionConfig {
	if c == nil {
		return nil
	}
	return &DatabaseConnectionConfig{DatabaseType: dbTypeMySQL, Host: c.MysqlHost, Port: c.MysqlPort, User: c.MysqlUser,
		Password: maskedPassword, CharacterSet: c.MysqlCharacterSet}
}

func rulesV4From3(rules []*ReplicateDB) []*DataSourceConfig {
	out := []*DataSourceConfig{}
	for _, r := range rules {
		d := &DataSourceConfig{TableSchema: r.TableSchema, TableSchemaRegex: r.TableSchemaRegex,
			TableSchemaRename: deref(r.TableSchemaRename), Tables: []*TableConfig{}, IgnoreEvent: r.IgnoreEvent, IgnoreSQL: r.IgnoreSQL}
		for _, t := range r.Tables {
			d.Tables = append(d.Tables, &TableConfig{TableName: t.TableName, TableRegex: t.TableRegex, TableRename: t.TableRename,
				ColumnMapFrom: nonNil(t.ColumnMapFrom), ColumnMapTo: nonNil(t.ColumnMapTo), Where: t.Where,
				IgnoreEvent: t.IgnoreEvent, IgnoreSQL: t.IgnoreSQL})
		}
		out = append(out, d)
	}
	return out
}

// sortAllocsNewestFirst orders allocations by creation, newest first.
func sortAllocsNewestFirst(allocs []*nomad.AllocationListStub) {
	sort.Slice(allocs, func(a, b int) bool { return allocs[a].CreateIndex > allocs[b].CreateIndex })
}
