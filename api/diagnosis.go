package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/preflight"
)

// A diagnosis says why a job may not run: for each task, whether its server
// answers the job's account and passes the checks the task runs when it
// starts (internal/preflight), or whether its Kafka brokers answer, and
// what Nomad says of the task. It holds no secret: passwords are opened
// only to connect, and every message is scrubbed of them.

// diagnosisTimeout bounds the checks of one server or broker.
const diagnosisTimeout = 5 * time.Second

// DiagnosisResponse is the reply of GET /v2/job/diagnosis.
type DiagnosisResponse struct {
	Message string `json:"message" example:"ok"`
	JobID   string `json:"job_id" example:"job1-sync"`
	JobType string `json:"job_type" enums:"migration,sync,subscription" example:"sync"`
	// Status is Nomad's status of the job, or paused.
	Status string `json:"status" example:"running"`
	// Healthy: every task runs and every check of every task passed.
	Healthy bool            `json:"healthy" example:"true"`
	Tasks   []DiagnosisTask `json:"tasks"`
}

// DiagnosisTask is the diagnosis of one task of the job.
type DiagnosisTask struct {
	TaskName string `json:"task_name" example:"src"`
	// Kind is what the task connects to.
	Kind string `json:"kind" enums:"mysql,kafka" example:"mysql"`
	// Address is the server's host:port, or the brokers', comma separated.
	Address string `json:"address" example:"10.186.63.28:3307"`
	// User is the account the task connects as (MySQL).
	User string `json:"user,omitempty" example:"dtle"`
	// Reachable: the server accepted the job's account (MySQL), or a broker
	// answered (Kafka).
	Reachable bool `json:"reachable" example:"true"`
	// Server is the server's flavor and version, when it answered.
	Server string `json:"server,omitempty" example:"MariaDB 10.11.6"`
	// Checks are the server checks the task runs at start (MySQL: connection,
	// privileges, and for a source binlog, gtid_mode, server_id and the
	// replication rules), or one per broker (Kafka, named "broker <address>").
	Checks []DiagnosisCheck `json:"checks"`
	Nomad  DiagnosisNomad   `json:"nomad"`
}

// DiagnosisCheck is one check: passed, or what to fix.
type DiagnosisCheck struct {
	Name string `json:"name" example:"binlog"`
	OK   bool   `json:"ok" example:"false"`
	// Message says what to fix when the check failed; a passed check may
	// carry a warning.
	Message string `json:"message,omitempty" example:"binlog_format is STATEMENT: set binlog_format=ROW"`
}

// DiagnosisNomad is what Nomad says of a task: its allocation (the one that
// runs it, else the newest), and the last failure Nomad recorded for it in
// any of the job's allocations.
type DiagnosisNomad struct {
	AllocationID string `json:"allocation_id,omitempty"`
	NodeID       string `json:"node_id,omitempty"`
	NodeName     string `json:"node_name,omitempty" example:"dtle-1"`
	// State is Nomad's task state (pending, running, dead); pending when
	// no allocation has the task.
	State       string            `json:"state" example:"running"`
	Failed      bool              `json:"failed"`
	Restarts    uint64            `json:"restarts"`
	LastFailure *DiagnosisFailure `json:"last_failure,omitempty"`
}

// DiagnosisFailure is a failure event of a task.
type DiagnosisFailure struct {
	Time         string `json:"time" example:"2024-05-01T10:00:00Z"`
	AllocationID string `json:"allocation_id"`
	Message      string `json:"message" example:"connect to 10.186.63.28:3308: connection refused"`
	WhatToDo     string `json:"what_to_do,omitempty"`
}

// diagnoseJob godoc
//
//	@Summary		Diagnose a job
//	@Description	Checks each task of a job as it would start now: whether its server is reachable with the job's account and passes the task's start checks (connection, privileges, and for a source binlog, gtid_mode, server_id and the replication rules), each with what to fix; for a Kafka destination, whether each broker answers. Beside them, Nomad's state of each task: its allocation, node, state, restarts and the last failure Nomad recorded. Each server or broker gets 5 s. The reply holds no password. A check that cannot run because an earlier one failed is left out.
//	@Tags			job (4.x)
//	@Produce		json
//	@Param			job_id	query		string	true	"job id (also as a form field)"
//	@Success		200		{object}	DiagnosisResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: job_id is missing"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: no login and no api_token"
//	@Failure		403		{object}	ErrorResponse	"forbidden: the caller's role does not allow the job's detail"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job (of the caller's tenant)"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/job/diagnosis [get]
func (s *Server) diagnoseJob(c echo.Context) error {
	id, job, err := s.jobParam(c, "")
	if err != nil {
		return err
	}
	jt := jobType(job)
	if err := requireAction(c, jt+"-detail"); err != nil {
		return err
	}
	q, cancel := s.query(c)
	allocs, _, err := s.nomad.Jobs().Allocations(id, false, q)
	cancel()
	if err != nil {
		return nomadError("allocations of "+id, err)
	}
	sortAllocsNewestFirst(allocs)

	src, dest := jobTasks(job)
	if src == nil {
		src = &config.Task{}
	}
	if dest == nil {
		dest = &config.Task{}
	}
	src.Defaults()
	dest.Defaults()
	// Passwords are opened here only: openErr fails the connections.
	var openErr error
	if err := s.openJobPasswords(c, id, src, dest); err != nil {
		openErr = err
	}
	secrets := passwordsOf(src, dest)

	out := DiagnosisResponse{Message: MessageOK, JobID: id, JobType: jt, Status: deref(job.Status)}
	if job.Meta[metaPaused] == "true" {
		out.Status = JobStatusPaused
	}
	out.Tasks = []DiagnosisTask{{TaskName: config.RoleSource}, {TaskName: config.RoleDest}}
	var wg sync.WaitGroup
	for i, task := range []*config.Task{src, dest} {
		d := &out.Tasks[i]
		wg.Go(func() { diagnoseTask(c.Request().Context(), d, task, openErr) })
	}
	wg.Wait()
	out.Healthy = true
	for i := range out.Tasks {
		d := &out.Tasks[i]
		d.Nomad = nomadState(allocs, d.TaskName)
		d.scrub(secrets)
		out.Healthy = out.Healthy && d.Nomad.State == "running" && d.Reachable && allPassed(d.Checks)
	}
	return c.JSON(http.StatusOK, out)
}

// diagnoseTask fills d with the checks of task, a source when d names it.
func diagnoseTask(ctx context.Context, d *DiagnosisTask, task *config.Task, openErr error) {
	ctx, cancel := context.WithTimeout(ctx, diagnosisTimeout)
	defer cancel()
	d.Checks = []DiagnosisCheck{}
	if task.IsKafka() {
		d.Kind, d.Address = "kafka", strings.Join(task.KafkaBrokerAddrs, ",")
		for _, addr := range task.KafkaBrokerAddrs {
			c := DiagnosisCheck{Name: "broker " + addr, OK: true}
			if err := pingBroker(ctx, addr); err != nil {
				c = DiagnosisCheck{Name: c.Name, Message: fmt.Sprintf("the broker does not answer: %s; check kafka_broker_addrs and that the broker runs", err)}
			}
			d.Reachable = d.Reachable || c.OK
			d.Checks = append(d.Checks, c)
		}
		return
	}
	d.Kind = "mysql"
	cc := task.ConnectionConfig
	if cc == nil {
		d.Checks = append(d.Checks, DiagnosisCheck{Name: "connection", Message: "mysql_connection_config is missing from the task"})
		return
	}
	d.Address, d.User = mysqlconn.Address(cc), cc.User
	if openErr != nil {
		d.Checks = append(d.Checks, DiagnosisCheck{Name: "connection",
			Message: "the job's password cannot be opened: " + openErr.Error()})
		return
	}
	var r *preflight.Report
	if d.TaskName == config.RoleSource {
		r = preflight.Source(ctx, task)
	} else {
		r = preflight.Dest(ctx, task)
	}
	d.Reachable = r.Connection != nil && r.Connection.Validated
	if d.Reachable {
		d.Server = r.Server.String()
	}
	for _, c := range []struct {
		name  string
		check *preflight.Check
	}{
		{"connection", r.Connection}, {"privileges", r.Privileges}, {"binlog", r.Binlog},
		{"gtid_mode", r.GtidMode}, {"server_id", r.ServerID},
	} {
		if c.check != nil {
			d.Checks = append(d.Checks, DiagnosisCheck{Name: c.name, OK: c.check.Validated, Message: c.check.Error})
		}
	}
	if d.TaskName == config.RoleSource && d.Reachable {
		d.Checks = append(d.Checks, DiagnosisCheck{Name: "replication_rules", OK: len(r.RuleErrors) == 0,
			Message: strings.Join(append(r.RuleErrors, r.RuleWarnings...), "; ")})
	}
}

// pingBroker says whether the Kafka broker at addr answers.
func pingBroker(ctx context.Context, addr string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DialTimeout(diagnosisTimeout))
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.Ping(ctx)
}

// nomadState is Nomad's state of task name in allocs (newest first).
func nomadState(allocs []*nomad.AllocationListStub, name string) DiagnosisNomad {
	st := statusTask(allocs, name)
	out := DiagnosisNomad{AllocationID: st.AllocationID, NodeID: st.NodeID, NodeName: st.NodeName,
		State: st.State, Failed: st.Failed, Restarts: st.Restarts}
	var at int64
	for _, a := range allocs {
		ts := a.TaskStates[name]
		if ts == nil {
			continue
		}
		for _, ev := range ts.Events {
			if msg, ok := failureOf(ev); ok && (out.LastFailure == nil || ev.Time > at) {
				at = ev.Time
				out.LastFailure = &DiagnosisFailure{Time: time.Unix(0, ev.Time).UTC().Format(time.RFC3339),
					AllocationID: a.ID, Message: msg, WhatToDo: whatToDo(msg)}
			}
		}
	}
	return out
}

// passwordsOf are the tasks' passwords, as stored and as opened.
func passwordsOf(tasks ...*config.Task) []string {
	var out []string
	for _, t := range tasks {
		if t.ConnectionConfig != nil && t.ConnectionConfig.Password != "" {
			out = append(out, t.ConnectionConfig.Password)
		}
	}
	return out
}

// scrub replaces every password in the task's texts with "*": the one
// place the reply is made safe, whatever a server or Nomad wrote.
func (d *DiagnosisTask) scrub(secrets []string) {
	clean := func(s *string) {
		for _, pw := range secrets {
			*s = strings.ReplaceAll(*s, pw, "*")
		}
	}
	for i := range d.Checks {
		clean(&d.Checks[i].Message)
	}
	if f := d.Nomad.LastFailure; f != nil {
		clean(&f.Message)
	}
}

func allPassed(checks []DiagnosisCheck) bool {
	for _, c := range checks {
		if !c.OK {
			return false
		}
	}
	return len(checks) > 0
}
