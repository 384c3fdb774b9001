package api

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/position"
	"github.com/dtle-io/dtle/kafka"
)

// Position control of a paused job: its checkpoint moved to another
// position, a transaction its destination refused skipped or replaced.
// Both change the job's state on its destination, which the tasks read
// when the job is resumed: on a MySQL destination its checkpoint tables
// (internal/position), on Kafka its offsets topic (kafka/position.go).

// CodeKafka: the Kafka cluster of a job's destination failed.
const CodeKafka = "kafka_error"

// CheckpointMoveResponse is the reply of POST /v2/job/checkpoint.
type CheckpointMoveResponse struct {
	Message string `json:"message" example:"ok"`
	JobID   string `json:"job_id" example:"job1-migration"`
	// FromGtidSet is the applied set before the move; GtidSet after it:
	// once resumed, the job reads the binlog after it.
	FromGtidSet string `json:"from_gtid_set" example:"0-1-120"`
	GtidSet     string `json:"gtid_set" example:"0-1-100"`
	// BinlogFile and BinlogPos are the position asked for, when the move
	// named one.
	BinlogFile string `json:"binlog_file,omitempty" example:"mysql-bin.000003"`
	BinlogPos  int64  `json:"binlog_pos,omitempty" example:"1234"`
}

// SkipRequest is a transaction to skip, or to replace with SQL.
type SkipRequest struct {
	Gtid string `json:"gtid" example:"0-1-121"`
	// Action is skip (SQL is empty) or replace (SQL runs instead).
	Action string   `json:"action" enums:"skip,replace" example:"skip"`
	SQL    []string `json:"sql"`
	// State is pending until the destination meets the transaction, done
	// once it skipped or replaced it (a Kafka job's skips are done at
	// once); cancelled for a request dropped.
	State string `json:"state" enums:"pending,done,cancelled" example:"pending"`
	// RecordedAt and DoneAt are RFC 3339 times; DoneAt is empty while
	// pending.
	RecordedAt string `json:"recorded_at" example:"2025-01-02T03:04:05.123456Z"`
	DoneAt     string `json:"done_at,omitempty" example:"2025-01-02T03:09:05.654321Z"`
}

// SkipResponse is the reply of POST /v2/job/skip.
type SkipResponse struct {
	Message string      `json:"message" example:"ok"`
	JobID   string      `json:"job_id" example:"job1-migration"`
	Request SkipRequest `json:"request"`
}

// SkipListResponse is the reply of GET /v2/job/skip.
type SkipListResponse struct {
	Message  string        `json:"message" example:"ok"`
	JobID    string        `json:"job_id" example:"job1-migration"`
	Requests []SkipRequest `json:"requests"`
}

// positionRoutes registers the position control routes.
func (s *Server) positionRoutes(e *echo.Echo) {
	e.POST("/v2/job/checkpoint", s.moveCheckpoint)
	e.POST("/v2/job/skip", s.skipTransaction)
	e.GET("/v2/job/skip", s.listSkips)
}

// moveCheckpoint godoc
//
//	@Summary		Move a paused job's checkpoint
//	@Description	Rewrites the applied position in the job's checkpoint: on a MySQL destination its row in dtle.checkpoint; on Kafka (subscription jobs) a new position record, committed in a Kafka transaction, in the job's offsets topic _dtle.<job_id>.offsets. Once resumed, the job reads the source's binlog after it. Moved forward, the transactions in between are never applied or emitted; moved back, they are applied again (rows are written by key, so a row ends as the source has it), or emitted again to Kafka (consumers see their events twice). Give gtid_set, or binlog_file and binlog_pos, which are turned into the source's GTID position there (MariaDB: BINLOG_GTID_POS; MySQL with gtid_mode ON: read from the file, and the position must be where a transaction starts). The position must be one the source has reached. The job must be paused (POST /v2/job/pause) and its tasks stopped, and be replicating its binlog (its full copy done). The plugin logs each move. See docs/operate.md.
//	@Tags			job
//	@Accept			x-www-form-urlencoded,json
//	@Produce		json
//	@Param			job_id		formData	string	true	"job id"
//	@Param			gtid_set	formData	string	false	"the applied set to move to: MySQL uuid:interval sets, MariaDB domain-server-seq positions"
//	@Param			binlog_file	formData	string	false	"a binlog file of the source, with binlog_pos"
//	@Param			binlog_pos	formData	integer	false	"the position in binlog_file where an event starts (SHOW MASTER STATUS, SHOW BINLOG EVENTS)"
//	@Success		200			{object}	CheckpointMoveResponse
//	@Failure		400			{object}	ErrorResponse	"invalid_request: a bad or missing parameter, a position the source does not have, or a password that does not open"
//	@Failure		401			{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403			{object}	ErrorResponse	"forbidden: your role does not allow updating the job, or Nomad refused this node's access"
//	@Failure		404			{object}	ErrorResponse	"not_found: no such dtle job"
//	@Failure		409			{object}	ErrorResponse	"conflict: the job is not paused, its tasks are still stopping, it never ran, or its full copy is not done"
//	@Failure		500			{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502			{object}	ErrorResponse	"mysql_error: the source or destination server cannot be reached or failed; kafka_error: the Kafka cluster of the job's destination cannot be reached or failed"
//	@Failure		503			{object}	ErrorResponse	"unavailable: the cluster's secret, which opens the job's passwords, cannot be read now; retry"
//	@Security		ApiToken
//	@Router			/v2/job/checkpoint [post]
func (s *Server) moveCheckpoint(c echo.Context) error {
	p, err := params(c)
	if err != nil {
		return err
	}
	id, err := required(p, "job_id")
	if err != nil {
		return err
	}
	gtidSet, file := strings.TrimSpace(p["gtid_set"]), strings.TrimSpace(p["binlog_file"])
	pos, err := binlogPosParam(p["binlog_pos"])
	if err != nil {
		return err
	}
	_, hasSet := p["gtid_set"]
	switch {
	case hasSet && (file != "" || pos != 0):
		return badRequest("gtid_set and binlog_file/binlog_pos: give one position, not both")
	case !hasSet && file == "" && pos == 0:
		return badRequest("give the position to move to: gtid_set, or binlog_file and binlog_pos")
	case !hasSet && (file == "" || pos == 0):
		return badRequest("binlog_file and binlog_pos: give both")
	}
	if file != "" {
		if err := config.CheckBinlogFile(file); err != nil {
			return badRequest("%w", err)
		}
	}
	js, err := s.positionJob(c, id, "update", true, true, nil)
	if err != nil {
		return err
	}
	defer js.close()
	ctx, cancel := js.context(c)
	defer cancel()
	var cp position.Checkpoint
	if js.kafka != nil {
		kcp, err := js.kafka.Read(ctx)
		if err != nil {
			return kafkaError(err)
		}
		cp = position.Checkpoint{Flavor: kcp.Flavor, Stage: kcp.Stage, GTIDSet: kcp.GTIDSet}
	} else if cp, err = position.Read(ctx, js.dest, id); err != nil {
		return positionError(err)
	}
	to := gtidSet
	if file != "" {
		if to, err = position.GTIDAt(ctx, js.source, cp.Flavor, file, pos); err != nil {
			return positionError(err)
		}
	}
	if err := position.CheckReachable(ctx, js.source, cp.Flavor, to); err != nil {
		return positionError(err)
	}
	var moved position.Moved
	if js.kafka != nil {
		if moved, err = js.kafka.Move(ctx, to); err != nil {
			return kafkaError(err)
		}
	} else if moved, err = position.Move(ctx, js.dest, id, to); err != nil {
		return positionError(err)
	}
	s.log.Info("job checkpoint moved", "job", id, "from_gtid_set", moved.From, "gtid_set", moved.To,
		"binlog_file", file, "binlog_pos", pos)
	return c.JSON(http.StatusOK, CheckpointMoveResponse{Message: MessageOK, JobID: id, FromGtidSet: moved.From,
		GtidSet: moved.To, BinlogFile: file, BinlogPos: pos})
}

// skipTransaction godoc
//
//	@Summary		Skip or replace a transaction the destination refused
//	@Description	On a Kafka destination (subscription jobs), skips the source transaction gtid at once: the job's position in its offsets topic gets that one GTID added (MySQL: any transaction the source has; MariaDB: only the next one of its domain after the position, as a MariaDB position keeps one sequence number per domain), and the skip is recorded there; once resumed, the job never emits it. sql and cancel are refused for a Kafka job. On a MySQL destination, records in the job's checkpoint tables (dtle.handle_error) that the source transaction gtid is to be skipped, or replaced with the statements of sql, as TiDB DM's handle-error does. When the paused job is resumed and its destination meets that transaction, it applies the statements instead (none: nothing), and commits the checkpoint past it and the request's done mark in one destination transaction: exactly that transaction, exactly once. The destination task emits "skipped transaction <gtid>" or "replaced transaction <gtid> ...". Each sql item is one statement, every table named with its schema: all row changes (INSERT, REPLACE, UPDATE, DELETE; they commit with the checkpoint) or all schema changes (each commits on its own, then the checkpoint). A request for a transaction not met yet replaces the one recorded before; cancel drops it. The destination task's failure names the transaction's GTID. The job must be paused and its tasks stopped. See docs/operate.md.
//	@Tags			job
//	@Accept			x-www-form-urlencoded,json
//	@Produce		json
//	@Param			job_id	formData	string	true	"job id"
//	@Param			gtid	formData	string	true	"the transaction's GTID: MariaDB domain-server-seq, MySQL uuid:number"
//	@Param			sql		formData	string	false	"statements to run instead: a JSON array of strings, one statement each (or one statement as text); absent: skip the transaction. MySQL destinations only"
//	@Param			cancel	formData	boolean	false	"drop the pending request for gtid instead"	default(false)
//	@Success		200		{object}	SkipResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a bad or missing parameter, a refused statement, a transaction already applied, sql or cancel for a job whose destination is Kafka, on Kafka a transaction the source does not have or (MariaDB) one that is not the next of its domain, or a password that does not open"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403		{object}	ErrorResponse	"forbidden: your role does not allow updating the job, or Nomad refused this node's access"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job, or (cancel) no pending request for gtid"
//	@Failure		409		{object}	ErrorResponse	"conflict: the job is not paused, its tasks are still stopping, it never ran, or its full copy is not done"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"mysql_error: the source or destination server cannot be reached or failed; kafka_error: the Kafka cluster of the job's destination cannot be reached or failed"
//	@Failure		503		{object}	ErrorResponse	"unavailable: the cluster's secret, which opens the job's passwords, cannot be read now; retry"
//	@Security		ApiToken
//	@Router			/v2/job/skip [post]
func (s *Server) skipTransaction(c echo.Context) error {
	if err := singleSQL(c); err != nil {
		return err
	}
	p, err := params(c)
	if err != nil {
		return err
	}
	id, err := required(p, "job_id")
	if err != nil {
		return err
	}
	gtid, err := required(p, "gtid")
	if err != nil {
		return err
	}
	stmts, err := sqlParam(p["sql"])
	if err != nil {
		return err
	}
	cancel := false
	if v := strings.TrimSpace(p["cancel"]); v != "" {
		if cancel, err = strconv.ParseBool(v); err != nil {
			return badRequest("cancel: must be true or false, got %q", v)
		}
	}
	if cancel && len(stmts) > 0 {
		return badRequest("cancel and sql: give one of them")
	}
	if _, err := position.CheckStatements(stmts); err != nil {
		return badRequest("sql: %w", err)
	}
	// A Kafka destination runs no SQL, and skips at once what is asked:
	// nothing replaces a transaction, nothing stays pending to cancel.
	refuseKafka := func() error {
		switch {
		case len(stmts) > 0:
			return badRequest("job_id %q writes to Kafka, which runs no SQL: a transaction of a Kafka job can be skipped "+
				"(leave sql out), not replaced", id)
		case cancel:
			return badRequest("job_id %q writes to Kafka: a skip moves its position at once and leaves nothing pending "+
				"to cancel; to emit a skipped transaction again, move the checkpoint back before it (POST /v2/job/checkpoint)", id)
		}
		return nil
	}
	js, err := s.positionJob(c, id, "update", true, false, refuseKafka)
	if err != nil {
		return err
	}
	defer js.close()
	if js.kafka != nil {
		return s.skipKafka(c, js, id, gtid)
	}
	ctx := c.Request().Context()
	if cancel {
		if err := position.Cancel(ctx, js.dest, id, gtid); err != nil {
			return positionError(err)
		}
		s.log.Info("request to skip or replace a transaction cancelled", "job", id, "gtid", gtid)
		return c.JSON(http.StatusOK, SkipResponse{Message: MessageOK, JobID: id,
			Request: SkipRequest{Gtid: gtid, Action: "skip", SQL: []string{}, State: "cancelled"}})
	}
	h, err := position.Record(ctx, js.dest, id, gtid, stmts)
	if err != nil {
		return positionError(err)
	}
	s.log.Info("transaction to skip or replace recorded; it is handled when the job is resumed", "job", id,
		"gtid", h.GTID, "action", h.Summary())
	return c.JSON(http.StatusOK, SkipResponse{Message: MessageOK, JobID: id, Request: skipRequest(&h)})
}

// listSkips godoc
//
//	@Summary		List a job's skipped and replaced transactions
//	@Description	Every request to skip or replace a transaction of the job recorded on its MySQL destination (dtle.handle_error), pending or done, oldest first; for a Kafka destination (subscription jobs), every transaction skipped, as recorded in the job's offsets topic (all done). It works whether the job runs or not.
//	@Tags			job
//	@Produce		json
//	@Param			job_id	query		string	true	"job id"
//	@Success		200		{object}	SkipListResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: job_id is missing, or a password does not open"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403		{object}	ErrorResponse	"forbidden: your role does not allow reading the job, or Nomad refused this node's access"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"mysql_error: the destination server cannot be reached or failed; kafka_error: the Kafka cluster of the job's destination cannot be reached or failed"
//	@Failure		503		{object}	ErrorResponse	"unavailable: the cluster's secret, which opens the job's passwords, cannot be read now; retry"
//	@Security		ApiToken
//	@Router			/v2/job/skip [get]
func (s *Server) listSkips(c echo.Context) error {
	p, err := params(c)
	if err != nil {
		return err
	}
	id, err := required(p, "job_id")
	if err != nil {
		return err
	}
	js, err := s.positionJob(c, id, "detail", false, false, nil)
	if err != nil {
		return err
	}
	defer js.close()
	if js.kafka != nil {
		ctx, cancel := js.context(c)
		defer cancel()
		sks, err := js.kafka.Skips(ctx)
		if err != nil {
			return kafkaError(err)
		}
		out := SkipListResponse{Message: MessageOK, JobID: id, Requests: make([]SkipRequest, len(sks))}
		for i := range sks {
			out.Requests[i] = kafkaSkipRequest(&sks[i])
		}
		return c.JSON(http.StatusOK, out)
	}
	hs, err := position.List(c.Request().Context(), js.dest, id)
	if err != nil {
		return positionError(err)
	}
	out := SkipListResponse{Message: MessageOK, JobID: id, Requests: make([]SkipRequest, len(hs))}
	for i := range hs {
		out.Requests[i] = skipRequest(&hs[i])
	}
	return c.JSON(http.StatusOK, out)
}

// skipKafka skips one transaction of a Kafka job: its position, in the
// offsets topic, gets that GTID added, once the source is known to have it.
func (s *Server) skipKafka(c echo.Context, js *jobServers, id, gtid string) error {
	ctx, cancel := js.context(c)
	defer cancel()
	cp, err := js.kafka.Read(ctx)
	if err != nil {
		return kafkaError(err)
	}
	to, err := kafka.SkipSet(cp.Flavor, cp.GTIDSet, gtid)
	if err != nil {
		return kafkaError(err)
	}
	if err := position.CheckReachable(ctx, js.source, cp.Flavor, to); err != nil {
		return positionError(err)
	}
	sk, err := js.kafka.Skip(ctx, gtid)
	if err != nil {
		return kafkaError(err)
	}
	s.log.Info("transaction skipped: the job's position in Kafka moved past it", "job", id, "gtid", sk.GTID,
		"from_gtid_set", sk.From, "gtid_set", sk.To)
	return c.JSON(http.StatusOK, SkipResponse{Message: MessageOK, JobID: id, Request: kafkaSkipRequest(&sk)})
}

// kafkaSkipRequest is a skip of a Kafka job: done when it was recorded.
func kafkaSkipRequest(sk *kafka.Skipped) SkipRequest {
	at := sk.At.UTC().Format(time.RFC3339Nano)
	return SkipRequest{Gtid: sk.GTID, Action: "skip", SQL: []string{}, State: "done", RecordedAt: at, DoneAt: at}
}

func skipRequest(h *position.Handle) SkipRequest {
	r := SkipRequest{Gtid: h.GTID, Action: h.Action(), SQL: h.Statements, State: "pending",
		RecordedAt: h.Created.UTC().Format(time.RFC3339Nano)}
	if r.SQL == nil {
		r.SQL = []string{}
	}
	if !h.Done.IsZero() {
		r.State, r.DoneAt = "done", h.Done.UTC().Format(time.RFC3339Nano)
	}
	return r
}

// positionJob looks job id up for its position control: the caller holds
// "<type>-<op>", and the job has a source and a MySQL or Kafka destination.
// refuseKafka, when given, refuses what a Kafka job cannot do, before
// anything else is checked. With stopped, the job must be paused and none
// of its tasks run (a running one would go on from the position it read
// before). It connects to the destination, and with source to the source,
// with the job's own credentials, opened as its tasks open them. A Kafka
// job's position changes only with stopped, and always needs the source
// then: what is skipped must be a transaction the source has.
func (s *Server) positionJob(c echo.Context, id, op string, stopped, source bool, refuseKafka func() error) (*jobServers, error) {
	job, err := s.lookupJob(c, id)
	if err != nil {
		return nil, err
	}
	if err := requireAction(c, jobType(job)+"-"+op); err != nil {
		return nil, err
	}
	src, dest, err := positionTasks(id, job)
	if err != nil {
		return nil, err
	}
	if dest.IsKafka() && refuseKafka != nil {
		if err := refuseKafka(); err != nil {
			return nil, err
		}
	}
	if stopped {
		if err := s.requireStopped(c, id, job); err != nil {
			return nil, err
		}
	}
	if err := s.openJobPasswords(c, id, src, dest); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), mysqlconn.DialTimeout+5*time.Second)
	defer cancel()
	js := &jobServers{}
	if dest.IsKafka() {
		// The job's key in Kafka is its id: the API serves Nomad's default
		// namespace only (pipeline.Key).
		if js.kafka, err = kafka.OpenPosition(id, dest); err != nil {
			return nil, &Error{Status: http.StatusBadGateway, Code: CodeKafka, Err: errorf("the job's destination: %w", err)}
		}
		source = stopped
	} else {
		if js.dest, err = mysqlconn.Open(ctx, dest.ConnectionConfig); err != nil {
			return nil, &Error{Status: http.StatusBadGateway, Code: CodeMySQL, Err: errorf("the job's destination: %w", err)}
		}
		js.dest.SetMaxOpenConns(2)
	}
	if !source {
		return js, nil
	}
	if js.source, err = mysqlconn.Open(ctx, src.ConnectionConfig); err != nil {
		js.close()
		return nil, &Error{Status: http.StatusBadGateway, Code: CodeMySQL, Err: errorf("the job's source: %w", err)}
	}
	js.source.SetMaxOpenConns(1)
	return js, nil
}

// requireStopped refuses (409) a job that is not paused, or whose tasks
// have not stopped yet.
func (s *Server) requireStopped(c echo.Context, id string, job *nomad.Job) error {
	if job.Meta[metaPaused] != "true" {
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Err: errorf("job_id %q is not paused: its tasks would "+
			"go on from the position they hold. Pause it (POST /v2/job/pause), retry, then resume it (POST /v2/job/resume)", id)}
	}
	q, cancel := s.query(c)
	defer cancel()
	allocs, _, err := s.nomad.Jobs().Allocations(id, false, q)
	if err != nil {
		return nomadError("allocations of "+id, err)
	}
	for _, a := range allocs {
		if a.ClientStatus == nomad.AllocClientStatusRunning || a.ClientStatus == nomad.AllocClientStatusPending {
			return &Error{Status: http.StatusConflict, Code: CodeConflict, Err: errorf("job_id %q is paused but its "+
				"allocation %s is still %s: retry once its tasks have stopped (a few seconds)", id, a.ID, a.ClientStatus)}
		}
	}
	return nil
}

// positionTasks are a job's source and MySQL or Kafka destination tasks,
// defaults filled in.
func positionTasks(id string, job *nomad.Job) (src, dest *config.Task, err error) {
	for _, tg := range job.TaskGroups {
		for _, t := range tg.Tasks {
			if t.Driver != driverName || (t.Name != config.RoleSource && t.Name != config.RoleDest) {
				continue
			}
			ct, err := taskFromNomad(t.Config)
			if err != nil {
				return nil, nil, err
			}
			ct.Defaults()
			if t.Name == config.RoleSource {
				src = ct
			} else {
				dest = ct
			}
		}
	}
	switch {
	case src == nil || dest == nil || src.ConnectionConfig == nil:
		return nil, nil, badRequest("job_id %q: it lacks its %s or %s task", id, config.RoleSource, config.RoleDest)
	case dest.IsKafka():
		return src, dest, nil
	case dest.ConnectionConfig == nil:
		return nil, nil, badRequest("job_id %q: its %s task has no mysql_connection_config", id, config.RoleDest)
	}
	return src, dest, nil
}

// jobServers holds connections to a job's source (when asked for) and
// destination: its MySQL server, or its position in Kafka.
type jobServers struct {
	source, dest *sql.DB
	kafka        *kafka.Position
}

// kafkaTimeout bounds the position control of a Kafka job: the Kafka client
// retries an unreachable broker until its context ends.
const kafkaTimeout = 60 * time.Second

// context is the request's context, bounded by kafkaTimeout for a Kafka
// job.
func (j *jobServers) context(c echo.Context) (context.Context, context.CancelFunc) {
	if j.kafka == nil {
		return context.WithCancel(c.Request().Context())
	}
	return context.WithTimeout(c.Request().Context(), kafkaTimeout)
}

func (j *jobServers) close() {
	for _, db := range []*sql.DB{j.source, j.dest} {
		if db != nil {
			_ = db.Close()
		}
	}
	if j.kafka != nil {
		j.kafka.Close()
	}
}

// positionError maps internal/position's errors to the API's.
func positionError(err error) error {
	switch {
	case errors.Is(err, position.ErrNoCheckpoint):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Err: errorf("%w: the job never ran against this "+
			"destination; to start a new job at a position, set gtid, or binlog_file and binlog_pos, in its src task", err)}
	case errors.Is(err, position.ErrNotReplicating):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Err: err}
	case errors.Is(err, position.ErrNoHandle):
		return notFound("%w", err)
	case position.IsPosition(err), errors.Is(err, position.ErrBadStatement), errors.Is(err, position.ErrAlreadyApplied):
		return badRequest("%w", err)
	}
	return &Error{Status: http.StatusBadGateway, Code: CodeMySQL, Err: err}
}

// kafkaError maps the errors of a Kafka job's position control: those about
// the position as positionError does, the others as the Kafka cluster's.
func kafkaError(err error) error {
	switch {
	case errors.Is(err, position.ErrNoCheckpoint), errors.Is(err, position.ErrNotReplicating),
		errors.Is(err, position.ErrAlreadyApplied), position.IsPosition(err):
		return positionError(err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusBadGateway, Code: CodeKafka, Err: errorf("the job's Kafka cluster did not answer "+
			"in time: %w; check kafka_broker_addrs of its dest task and that the brokers run, then retry", err)}
	}
	return &Error{Status: http.StatusBadGateway, Code: CodeKafka, Err: errorf("the job's Kafka cluster: %w", err)}
}

// binlogPosParam reads binlog_pos: a whole number (a JSON number arrives
// as text, possibly in exponent form); absent is 0.
func binlogPosParam(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, badRequest("binlog_pos: must be a whole number, got %q", v)
		}
		n = int64(f)
	}
	if n < 4 || n > config.MaxBinlogPos {
		return 0, badRequest("binlog_pos: must be between 4 and %d, got %d", int64(config.MaxBinlogPos), n)
	}
	return n, nil
}

// sqlParam reads sql: a JSON array of statements, or one statement.
func sqlParam(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	if !strings.HasPrefix(strings.TrimSpace(v), "[") {
		return []string{v}, nil
	}
	var stmts []string
	if err := json.Unmarshal([]byte(v), &stmts); err != nil {
		return nil, badRequest("sql: want a JSON array of strings, one statement each: %w", err)
	}
	return stmts, nil
}

// singleSQL refuses sql given more than once, as repeated form fields or
// query parameters: params keeps the first only, and a statement dropped
// unseen would change what replaces a transaction.
func singleSQL(c echo.Context) error {
	repeated := badRequest("sql: give several statements as one JSON array of strings, not as repeated fields")
	if len(c.QueryParams()["sql"]) > 1 {
		return repeated
	}
	media, err := mediaType(c)
	if err != nil {
		return err
	}
	var form url.Values
	switch media {
	case echo.MIMEApplicationForm:
		b, err := readBody(c)
		if err != nil {
			return err
		}
		c.Request().Body = io.NopCloser(bytes.NewReader(b)) // params reads it again
		form, _ = url.ParseQuery(string(b))
	case echo.MIMEMultipartForm:
		if form, err = c.FormParams(); err != nil {
			return malformedBody("multipart form body", err)
		}
	}
	if len(form["sql"]) > 1 {
		return repeated
	}
	return nil
}
