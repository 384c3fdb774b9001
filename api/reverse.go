package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
)

// A reverse job replicates from a job's destination back to its source,
// from where the destination's binlog is when it is created (the data is
// there already: no copy). Both jobs get skip_dtle_applied naming each
// other, so with both running (two-way sync) what one applies is not sent
// back by the other.

// metaReverseOf, on a reverse job, is the id of the job it reverses.
const metaReverseOf = "dtle_reverse_of"

// ReverseJobReq is the body of POST /v2/job/{migration,sync}/reverse.
type ReverseJobReq struct {
	JobID string `json:"job_id" example:"job1-sync"`
	// ReverseConfig replaces the users and passwords of the reverse job;
	// absent: the job's own, swapped.
	ReverseConfig *ReverseConfig `json:"reverse_config,omitempty"`
}

// ReverseConfig is who the reverse job connects as: src_* for its source
// (the job's destination), dest_user and dst_pwd for its destination.
type ReverseConfig struct {
	SrcUser  string `json:"src_user,omitempty"`
	SrcPwd   string `json:"src_pwd,omitempty"`
	DestUser string `json:"dest_user,omitempty"`
	DstPwd   string `json:"dst_pwd,omitempty"`
	// IsMysqlPasswordEncrypted: src_pwd and dst_pwd are RSA encrypted
	// with the nodes' public key.
	IsMysqlPasswordEncrypted bool `json:"is_mysql_password_encrypted,omitempty"`
}

// ReverseJobResp is the reply of POST /v2/job/{migration,sync}/reverse.
type ReverseJobResp struct {
	Message string `json:"message" example:"ok"`
	// ReverseJobID is the reverse job's id: "reverse-" and the job's.
	ReverseJobID string `json:"reverse_job_id" example:"reverse-job1-sync"`
}

// ReverseStartRespV2 is the reply of the reverse_start routes.
type ReverseStartRespV2 struct {
	Message string `json:"message" example:"ok"`
}

// reverseJobID is the id of the reverse of job id.
func reverseJobID(id string) string { return "reverse-" + id }

// reverseJobV2 godoc
//
//	@Summary		Create the reverse of a migration or sync job
//	@Description	Registers, paused, the job "reverse-<job_id>" that replicates from the job's destination back to its source: connections swapped (reverse_config may name other users and passwords), schema and table renames inverted, starting from the destination's binlog position now, without a copy. The reverse job's source drops every transaction the job applied on its destination (skip_dtle_applied, skip_dtle_applied_by), and the job gets the same option naming the reverse job, so both may run at once (two-way sync) without sending a change back. The job's source task restarts to take the option; it resumes from its checkpoint. POST /v2/job/{type}/reverse_start starts the reverse job. Jobs with regex rules, column maps or where filters cannot be reversed (400).
//	@Tags			job (4.x)
//	@Accept			json
//	@Produce		json
//	@Param			reverse_config	body		ReverseJobReq	true	"the job to reverse"
//	@Success		200				{object}	ReverseJobResp
//	@Failure		400				{object}	ErrorResponse	"invalid_request: a bad body, a job that cannot be reversed, or a password that does not open"
//	@Failure		401				{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403				{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404				{object}	ErrorResponse	"not_found: no such dtle job of this type"
//	@Failure		409				{object}	ErrorResponse	"conflict: the reverse job exists, or the job changed meanwhile"
//	@Failure		500				{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502				{object}	ErrorResponse	"nomad_unavailable: Nomad failed, or the destination's position cannot be read"
//	@Failure		503				{object}	ErrorResponse	"unavailable: no ready node has a healthy dtle driver, or the cluster's secret cannot be read now"
//	@Security		ApiToken
//	@Router			/v2/job/migration/reverse [post]
//	@Router			/v2/job/sync/reverse [post]
func (s *Server) reverseJobV2(c echo.Context) error {
	jt := routeJobType(c)
	var req ReverseJobReq
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if err := s.decodeBody(c, body, &req); err != nil {
		return err
	}
	if req.JobID == "" {
		return badRequest("job_id: required")
	}
	job, err := s.lookupJob(c, req.JobID)
	if err != nil {
		return err
	}
	if jobType(job) != jt {
		return notFound("job_id %q: not a %s job", req.JobID, jt)
	}
	if err := requireAction(c, jt+"-reverse"); err != nil {
		return err
	}
	j, err := s.reverseConfig(c, job, req)
	if err != nil {
		return err
	}
	if _, err := s.register(c, &registration{jobType: jt, cfg: j, mode: createJobOnly,
		meta: map[string]string{metaReverseOf: req.JobID}, paused: true, tenant: jobTenant(job.Meta)}); err != nil {
		return err
	}
	if err := s.skipAppliedBy(c, job, j.JobID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ReverseJobResp{Message: MessageOK, ReverseJobID: j.JobID})
}

// reverseConfig is the config of the reverse of job: its tasks' servers
// swapped, passwords opened (register seals them anew for the reverse job),
// rules inverted, starting at the destination's position now.
func (s *Server) reverseConfig(c echo.Context, job *nomad.Job, req ReverseJobReq) (*JobConfig, error) {
	id := req.JobID
	src, dest := jobTasks(job)
	if src == nil || dest == nil || src.ConnectionConfig == nil || dest.ConnectionConfig == nil || dest.IsKafka() {
		return nil, badRequest("job_id %q: only a job from MySQL to MySQL can be reversed", id)
	}
	src.Defaults()
	dest.Defaults()
	if err := s.openJobPasswords(c, id, src, dest); err != nil {
		return nil, err
	}
	if rc := req.ReverseConfig; rc != nil {
		// The reverse job's source is the job's destination.
		if err := s.override(dest.ConnectionConfig, rc.SrcUser, rc.SrcPwd, rc.IsMysqlPasswordEncrypted); err != nil {
			return nil, err
		}
		if err := s.override(src.ConnectionConfig, rc.DestUser, rc.DstPwd, rc.IsMysqlPasswordEncrypted); err != nil {
			return nil, err
		}
	}
	orig, err := jobConfigFromNomad(job)
	if err != nil {
		return nil, errorf("read job %s: %w", id, err)
	}
	rules, err := invertRules(src.ReplicateDoDB)
	if err != nil {
		return nil, badRequest("job_id %q: %w", id, err)
	}
	if len(src.ReplicateIgnoreDB) > 0 && slices.ContainsFunc(src.ReplicateDoDB, renames) {
		return nil, badRequest("job_id %q: replicate_ignore_db with renames cannot be reversed", id)
	}
	pos, err := currentPosition(c.Request().Context(), dest.ConnectionConfig)
	if err != nil {
		return nil, &Error{Status: http.StatusBadGateway, Code: CodeNomadUnavailable, Err: errorf("destination of job %s: %w", id, err)}
	}
	o := orig.SrcTask
	rev := &JobConfig{JobID: reverseJobID(id), Failover: orig.Failover,
		SrcTask: &SrcTaskConfig{TaskName: config.RoleSource, NodeID: orig.DestTask.NodeID, Gtid: pos,
			GroupMaxSize: o.GroupMaxSize, GroupTimeout: o.GroupTimeout, ChunkSize: o.ChunkSize,
			ReplChanBufferSize: o.ReplChanBufferSize, ReplicateDoDb: rules, ReplicateIgnoreDb: o.ReplicateIgnoreDb,
			MysqlConnectionConfig: connFromTask(dest.ConnectionConfig), SkipDtleApplied: true, SkipDtleAppliedBy: id},
		DestTask: &DestTaskConfig{TaskName: config.RoleDest, NodeID: orig.SrcTask.NodeID,
			ParallelWorkers: orig.DestTask.ParallelWorkers, MysqlConnectionConfig: connFromTask(src.ConnectionConfig)},
	}
	// The checks and defaults of a create: a job name, above all.
	if err := rev.normalize(jobType(job)); err != nil {
		return nil, badRequest("job_id %q: its reverse job: %w", id, err)
	}
	return rev, nil
}

// override sets a connection's user and password where given.
func (s *Server) override(cc *config.MySQLConnection, user, pw string, encrypted bool) error {
	if user != "" {
		cc.User = user
	}
	if pw == "" {
		return nil
	}
	t := &config.Task{ConnectionConfig: &config.MySQLConnection{Password: pw}, PasswordEncrypted: encrypted}
	if err := openPasswords(s.cfg.RSAKey, t); err != nil {
		return err
	}
	cc.Password = t.ConnectionConfig.Password
	return nil
}

// renames says a rule renames a schema or a table.
func renames(r *config.ReplicateDB) bool {
	if r.TableSchemaRename != "" && r.TableSchemaRename != r.TableSchema {
		return true
	}
	return slices.ContainsFunc(r.Tables, func(t *config.Table) bool { return t.TableRename != "" && t.TableRename != t.TableName })
}

// invertRules are the do rules that select on the destination what rules
// wrote there, renamed back.
func invertRules(rules []*config.ReplicateDB) ([]*ReplicateDB, error) {
	var out []*ReplicateDB
	for _, r := range rules {
		if r.TableSchemaRegex != "" {
			return nil, fmt.Errorf("table_schema_regex %q cannot be reversed", r.TableSchemaRegex)
		}
		schema := r.TableSchema
		if r.TableSchemaRename != "" {
			schema = r.TableSchemaRename
		}
		inv := &ReplicateDB{TableSchema: schema, TableSchemaRename: ptr(r.TableSchema)}
		for _, t := range r.Tables {
			if t.TableRegex != "" || len(t.ColumnMapFrom) > 0 || len(t.ColumnMapTo) > 0 || t.Where != "" {
				return nil, fmt.Errorf("%s.%s: regex, column maps and where filters cannot be reversed", r.TableSchema, t.TableName)
			}
			name := t.TableName
			if t.TableRename != "" {
				name = t.TableRename
			}
			inv.Tables = append(inv.Tables, &Table{TableName: name, TableRename: t.TableName})
		}
		out = append(out, inv)
	}
	return out, nil
}

// currentPosition is the GTID set a server has written to its binlog.
func currentPosition(ctx context.Context, cc *config.MySQLConnection) (string, error) {
	db, err := mysqlconn.Open(ctx, cc)
	if err != nil {
		return "", err
	}
	defer func() { _ = db.Close() }()
	srv, err := mysqlconn.Detect(ctx, db)
	if err != nil {
		return "", err
	}
	return mysqlconn.ExecutedGTIDs(ctx, db, string(srv.Flavor))
}

// skipAppliedBy gives job's source skip_dtle_applied for what the job
// peer applies, unless it has it; Nomad restarts the task with it.
func (s *Server) skipAppliedBy(c echo.Context, job *nomad.Job, peer string) error {
	changed := false
	for _, tg := range job.TaskGroups {
		for _, t := range tg.Tasks {
			if t.Driver != driverName || t.Name != config.RoleSource {
				continue
			}
			if t.Config["skip_dtle_applied"] == true && t.Config["skip_dtle_applied_by"] == peer {
				continue
			}
			t.Config["skip_dtle_applied"], t.Config["skip_dtle_applied_by"] = true, peer
			changed = true
		}
	}
	if !changed {
		return nil
	}
	w, cancel := s.write(c)
	defer cancel()
	if _, _, err := s.nomad.Jobs().EnforceRegister(job, deref(job.JobModifyIndex), w); err != nil {
		return nomadError("set skip_dtle_applied on job "+deref(job.ID), err)
	}
	return nil
}

// reverseStartV2 godoc
//
//	@Summary		Start a reverse job
//	@Description	Resumes a job that POST /v2/job/{type}/reverse created ("reverse-<job_id>"; the original job's id also finds it). Starting a running one does nothing. The original job may keep running: neither sends back what the other applied.
//	@Tags			job (4.x)
//	@Accept			x-www-form-urlencoded,json
//	@Produce		json
//	@Param			job_id	formData	string	true	"the reverse job's id, or the id of the job it reverses"
//	@Success		200		{object}	ReverseStartRespV2
//	@Failure		400		{object}	ErrorResponse	"invalid_request: job_id is missing, or names no reverse job"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403		{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job (of this type)"
//	@Failure		409		{object}	ErrorResponse	"conflict: the job is stopped, or changed meanwhile"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Failure		503		{object}	ErrorResponse	"unavailable: no ready node has a healthy dtle driver yet; retry after Retry-After"
//	@Security		ApiToken
//	@Router			/v2/job/migration/reverse_start [post]
//	@Router			/v2/job/sync/reverse_start [post]
//	@Router			/v2/job/reverse_start [post]
func (s *Server) reverseStartV2(c echo.Context) error {
	jt := routeJobType(c)
	if jt == "reverse_start" {
		jt = "" // /v2/job/reverse_start: any type
	}
	id, job, err := s.jobParam(c, jt)
	if err != nil {
		return err
	}
	if job.Meta[metaReverseOf] == "" {
		if job, err = s.lookupJob(c, reverseJobID(id)); err != nil || job.Meta[metaReverseOf] != id {
			return badRequest("job_id %q: not a reverse job, and it has none (POST /v2/job/%s/reverse creates it)", id, jobTypeOr(jt))
		}
		id = reverseJobID(id)
	}
	if err := requireAction(c, jobType(job)+"-reverse_start"); err != nil {
		return err
	}
	if deref(job.Stop) {
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Err: errorf("job_id %q is stopped; register it again to start it", id)}
	}
	if job.Meta[metaPaused] == "true" {
		q, cancel := s.query(c)
		err := s.requireHealthyDriver(c, q)
		cancel()
		if err != nil {
			return err
		}
		resume(job)
		w, wcancel := s.write(c)
		defer wcancel()
		if _, _, err := s.nomad.Jobs().EnforceRegister(job, deref(job.JobModifyIndex), w); err != nil {
			return nomadError("start reverse job "+id, err)
		}
		s.log.Info("reverse job started", "job", id)
	}
	return c.JSON(http.StatusOK, ReverseStartRespV2{Message: MessageOK})
}

func jobTypeOr(jt string) string {
	if jt == "" {
		return "{type}"
	}
	return jt
}

// reverseRoutes registers the routes of reverse jobs.
func (s *Server) reverseRoutes(e *echo.Echo) {
	for _, jt := range []string{JobTypeMigration, JobTypeSync} {
		e.POST("/v2/job/"+jt+"/reverse", s.reverseJobV2)
		e.POST("/v2/job/"+jt+"/reverse_start", s.reverseStartV2)
	}
	e.POST("/v2/job/reverse_start", s.reverseStartV2)
}
