package api

import (
	"context"
	"net/http"
	"strings"
	"sync"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
)

// Stages of a job, in the status.
const (
	StageStarting = "starting"
	StageFullCopy = "full_copy"
	StageBinlog   = "binlog"
)

// JobStatusResponse is where a job stands, in one reply: GET
// /v2/job/status.
type JobStatusResponse struct {
	Message string `json:"message" example:"ok"`
	JobID   string `json:"job_id" example:"job1-sync"`
	JobType string `json:"job_type" enums:"migration,sync,subscription" example:"sync"`
	// Status is Nomad's (pending, running, dead) or paused.
	Status string `json:"status" example:"running"`
	// Stage is starting (no stage reached yet), full_copy or binlog.
	Stage string `json:"stage" enums:"starting,full_copy,binlog" example:"binlog"`
	// Tasks are the job's src and dest tasks, each in its latest
	// allocation (the one running it, if any).
	Tasks []JobStatusTask `json:"tasks"`
	// Tables are the full copy's tables with their progress, from the
	// running source; empty when it made no copy since it started.
	Tables []TableCopyStatus `json:"tables"`
	// AppliedPosition is what the destination applied: its GTID set (in
	// the binlog stage) and the source binlog file and position after its
	// last transaction; null while the dest task does not run.
	AppliedPosition *BinlogPosition `json:"applied_position"`
	// SourcePosition is where the source server is now, asked at this
	// call with the job's account.
	SourcePosition *SourcePosition `json:"source_position"`
	Lag            JobLag          `json:"lag"`
	// Throughput is the destination's rate (rows copied or applied, and
	// transactions applied, a second), else the source's.
	Throughput *JobThroughput `json:"throughput"`
	// SpeedLimit is the limit the running source reads under; null when it
	// does not run.
	SpeedLimit *SpeedLimitStatus `json:"speed_limit"`
	// Verification is the latest comparison of the job (GET
	// /v2/job/verify), null when none.
	Verification *VerifyResponse `json:"verification"`
	// LastError is the job's last failure, null when none.
	LastError *JobError `json:"last_error"`
}

// JobStatusTask is one task of a job.
type JobStatusTask struct {
	Name         string `json:"name" enums:"src,dest" example:"src"`
	NodeID       string `json:"node_id"`
	NodeName     string `json:"node_name" example:"dtle-1"`
	AllocationID string `json:"allocation_id"`
	// State is Nomad's: pending, running or dead.
	State    string `json:"state" example:"running"`
	Failed   bool   `json:"failed"`
	Restarts uint64 `json:"restarts" example:"0"`
	// Figures are the running task's live figures, as GET
	// /v2/monitor/task gives them; null when it does not run or did not
	// answer (FiguresError says why).
	Figures      *TaskMonitor `json:"figures"`
	FiguresError string       `json:"figures_error,omitempty"`
}

// BinlogPosition is a place in the source's binlog.
type BinlogPosition struct {
	GtidSet  string `json:"gtid_set" example:"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5000"`
	File     string `json:"file" example:"mysql-bin.000003"`
	Position int64  `json:"position" example:"4711"`
}

// SourcePosition is where the source server is now: its executed GTID set
// (MySQL gtid_executed, MariaDB gtid_binlog_pos) and the end of its binlog.
type SourcePosition struct {
	BinlogPosition
	// Server is the source's kind and version.
	Server string `json:"server,omitempty" example:"MariaDB 10.11.6"`
	// Error says why the position, or part of it, is unknown: the server
	// could not be reached, refused the job's account, or a password
	// could not be opened.
	Error string `json:"error,omitempty"`
}

// JobLag is how far the destination is behind the source.
type JobLag struct {
	// Seconds is the tasks' delay: the age of the source commit of the
	// transactions they hold (figures' delay_count.time); null when
	// neither runs.
	Seconds *int64 `json:"seconds" example:"0"`
	// Transactions counts the source's transactions the destination has
	// not applied, from the source's executed GTID set and the applied
	// one; null outside the binlog stage or when either is unknown.
	Transactions *int64 `json:"transactions" example:"0"`
}

// JobThroughput is a task's rate.
type JobThroughput struct {
	// Task is the task measured: dest, or src while dest does not run.
	Task          string  `json:"task" example:"dest"`
	RowsPerSecond float64 `json:"rows_per_second" example:"5000"`
	TxnsPerSecond float64 `json:"txns_per_second" example:"120"`
}

// JobError is a failure of a job's task, and what to do about it.
type JobError struct {
	// Time is when it happened, RFC 3339.
	Time         string `json:"time" example:"2025-01-02T03:04:05Z"`
	Task         string `json:"task" enums:"src,dest" example:"dest"`
	AllocationID string `json:"allocation_id"`
	Message      string `json:"message"`
	// WhatToDo is the operator's next step for this kind of failure.
	WhatToDo string `json:"what_to_do"`
	// RecoveredErrors counts the failures the running tasks recovered
	// from on their own (their figures' error_count).
	RecoveredErrors int64 `json:"recovered_errors" example:"0"`
}

// jobStatus godoc
//
//	@Summary		Where a job stands, in one call
//	@Description	The job's type and status (or paused); each task's node, allocation, state, restarts and live figures (read from the plugin that runs it, on whichever node, as GET /v2/monitor/task); the stage (starting, full_copy, binlog) with each table's copy progress (done, rows, the server's estimate, percent, ETA); the applied position; the source server's current position, asked with the job's account (an unreachable source is said in source_position.error, not an error of the call); the lag in seconds and in transactions (the source's GTIDs not applied); throughput; the speed limit in force; the latest verification (this API node's, or the job's verify schedule's when newer); and the last error, with its time, task and what to do. What a task or server cannot tell now is left empty. See docs/operate.md.
//	@Tags			job
//	@Produce		json
//	@Param			job_id	query		string	true	"job id"
//	@Success		200		{object}	JobStatusResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: job_id is missing"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403		{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin), or the login's role may not see the job's detail"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/job/status [get]
func (s *Server) jobStatus(c echo.Context) error {
	id := strings.TrimSpace(c.QueryParam("job_id"))
	if id == "" {
		return badRequest("job_id: required")
	}
	job, err := s.lookupJob(c, id)
	if err != nil {
		return err
	}
	if err := checkJobTenant(c, job.Meta, id); err != nil {
		return err
	}
	jt := jobType(job)
	if err := requireAction(c, jt+"-detail"); err != nil {
		return err
	}
	q, cancel := s.query(c)
	defer cancel()
	allocs, _, err := s.nomad.Jobs().Allocations(id, false, q)
	if err != nil {
		return nomadError("allocations of "+id, err)
	}
	sortAllocsNewestFirst(allocs)
	out := JobStatusResponse{Message: MessageOK, JobID: id, JobType: jt, Status: deref(job.Status), Tables: []TableCopyStatus{}}
	if job.Meta[metaPaused] == "true" {
		out.Status = JobStatusPaused
	}
	out.Tasks = []JobStatusTask{statusTask(allocs, config.RoleSource), statusTask(allocs, config.RoleDest)}
	flavor := s.gather(c, job, &out)
	src, dest := out.Tasks[0].Figures, out.Tasks[1].Figures
	out.Stage = stageOf(allocs, src)
	if src != nil {
		out.Tables = append(out.Tables, src.Tables...)
		out.SpeedLimit = src.SpeedLimit
	}
	if dest != nil {
		c := dest.CurrentCoordinates
		out.AppliedPosition = &BinlogPosition{GtidSet: c.GtidSet, File: c.File, Position: c.Position}
	}
	out.Lag = lagOf(flavor, out.Stage, src, dest, out.AppliedPosition, out.SourcePosition)
	out.Throughput = throughputOf(src, dest)
	out.Verification = s.latestVerify(c, id)
	out.LastError = lastError(allocs, out.Tasks)
	return c.JSON(http.StatusOK, out)
}

// gather asks, at once, the running tasks for their figures and the
// source server for its position; each has figuresTimeout. It returns the
// source's flavor, "" when unknown.
func (s *Server) gather(c echo.Context, job *nomad.Job, out *JobStatusResponse) string {
	ctx, cancel := context.WithTimeout(c.Request().Context(), figuresTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i := range out.Tasks {
		t := &out.Tasks[i]
		if t.State != "running" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := s.figures(ctx, t.AllocationID, t.Name, forwardAuthorization(c))
			if err != nil {
				t.FiguresError = err.Error()
				return
			}
			t.Figures = m
		}()
	}
	pos, flavor := s.sourcePosition(c, job)
	wg.Wait()
	out.SourcePosition = pos
	return flavor
}

// statusTask is a task in the allocation that runs it, else in its newest.
func statusTask(allocs []*nomad.AllocationListStub, name string) JobStatusTask {
	out := JobStatusTask{Name: name, State: "pending"}
	var pick *nomad.AllocationListStub
	for _, a := range allocs {
		if st, ok := a.TaskStates[name]; ok && st.State == "running" {
			pick = a
			break
		}
		if pick == nil && (a.TaskStates[name] != nil || a.TaskGroup == name) {
			pick = a
		}
	}
	if pick == nil {
		return out
	}
	out.NodeID, out.NodeName, out.AllocationID = pick.NodeID, pick.NodeName, pick.ID
	if st := pick.TaskStates[name]; st != nil {
		out.State, out.Failed, out.Restarts = st.State, st.Failed, st.Restarts
	}
	return out
}

// stageOf is the job's stage: a full copy while the running source has
// tables left to copy, else the last stage the tasks reported.
func stageOf(allocs []*nomad.AllocationListStub, src *TaskMonitor) string {
	if src != nil {
		for _, t := range src.Tables {
			if !t.Done {
				return StageFullCopy
			}
		}
	}
	switch lastStage(allocs) {
	case stageFull:
		return StageFullCopy
	case stageIncr:
		return StageBinlog
	}
	return StageStarting
}

// lagOf is how far the destination is behind: the tasks' delay, and in the
// binlog stage the source's transactions missing from the applied set.
func lagOf(flavor, stage string, src, dest *TaskMonitor, applied *BinlogPosition, source *SourcePosition) JobLag {
	var out JobLag
	for _, m := range []*TaskMonitor{src, dest} {
		if m != nil && m.DelayCount != nil {
			sec := max(m.DelayCount.Time, 0)
			if out.Seconds != nil {
				sec = max(sec, *out.Seconds)
			}
			out.Seconds = &sec
		}
	}
	if stage != StageBinlog || flavor == "" || applied == nil || applied.GtidSet == "" || source == nil || source.GtidSet == "" {
		return out
	}
	a, err1 := change.ParseGTIDSet(flavor, applied.GtidSet)
	sset, err2 := change.ParseGTIDSet(flavor, source.GtidSet)
	if err1 != nil || err2 != nil {
		return out
	}
	if n, err := change.Behind(a, sset); err == nil {
		out.Transactions = &n
	}
	return out
}

// throughputOf is the destination's rate, else the source's.
func throughputOf(src, dest *TaskMonitor) *JobThroughput {
	for _, t := range []struct {
		name string
		m    *TaskMonitor
	}{{config.RoleDest, dest}, {config.RoleSource, src}} {
		if t.m != nil && t.m.ThroughputStatus != nil {
			return &JobThroughput{Task: t.name, RowsPerSecond: t.m.ThroughputStatus.Rows, TxnsPerSecond: t.m.ThroughputStatus.Txns}
		}
	}
	return nil
}
