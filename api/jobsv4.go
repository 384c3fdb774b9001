package api

import (
	"encoding/json"
	"net/http"
	"strings"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"
)

// uiRoutes registers the routes of the 4.x UI's jobs and data sources. The
// job detail (/v2/job/{type}/detail), /v2/nodes and /v2/monitor/task serve
// both generations and are registered with the 3.x routes. Each job route
// is registered with its type in its path (not as a :type parameter), as
// the UI's routes are named; the handler reads the type from the route
// (routeJobType).
func (s *Server) uiRoutes(e *echo.Echo) {
	for _, jt := range []string{JobTypeMigration, JobTypeSync, JobTypeSubscription} {
		e.GET("/v2/jobs/"+jt, s.listJobsV2)
		e.POST("/v2/job/"+jt+"/pause", s.pauseJobV2)
		e.POST("/v2/job/"+jt+"/resume", s.resumeJobV2)
		e.POST("/v2/job/"+jt+"/delete", s.deleteJobV2)
		e.GET("/v2/job/"+jt+"/detail", s.jobDetailV2)
	}
	for _, jt := range []string{JobTypeMigration, JobTypeSync} {
		e.POST("/v2/job/"+jt+"/create", s.mysqlJobV2)
		e.POST("/v2/job/"+jt+"/update", s.mysqlJobV2)
	}
	e.POST("/v2/job/subscription/create", s.kafkaJobV2)
	e.POST("/v2/job/subscription/update", s.kafkaJobV2)
	e.GET("/v2/job/position", s.jobPosition)
	e.GET("/v2/database/schemas", s.listDatabaseSchemas)
	e.GET("/v2/database/columns", s.listDatabaseColumns)
	e.GET("/v2/database/instance_connection", s.databaseConnection)
	e.GET("/v2/mysql/columns", s.listMySQLColumns)
	e.GET("/v2/mysql/instance_connection", s.mysqlConnection)
}

// routeJobType is the job type of a 4.x job route: /v2/jobs/<type> or
// /v2/job/<type>/<operation>.
func routeJobType(c echo.Context) string {
	if parts := strings.Split(c.Path(), "/"); len(parts) > 3 {
		return parts[3]
	}
	return ""
}

// routeMode is what a create or update route may do with a job.
func routeMode(c echo.Context) registerMode {
	if strings.HasSuffix(c.Path(), "/create") {
		return createJobOnly
	}
	return updateJobOnly
}

// mysqlJobV2 godoc
//
//	@Summary		Create or update a migration or sync job (4.x)
//	@Description	.../create registers a new job (409 when the job_id is in use), .../update replaces one (404 when there is none). job_id gets "-<type>" when it lacks it. The job is the one POST /v2/job/{type} makes: the same checks, defaults, node placement and password handling (stored sealed or encrypted, never in clear; "*" keeps the stored password, for the same host, port and user only). sql_filter drops kinds of change from every replicated table (as ignore_event would). Options this dtle does without are accepted and ignored (binlog_relay, dump_entry_limit, use_my_sql_dependency, dependency_history_size, bulk_insert1/2, retry_tx_limit); turning on one it does not support is a 400 (Oracle, expand_syntax_support, auto_gtid, wait_on_job, two_way_sync_gtid, set_gtid_next, reverse: use /v2/job/{type}/reverse). two_way_sync sets the source's skip_dtle_applied: transactions any dtle job applied on the source are not replicated. The reply is the body with every default filled and passwords masked, at the top level and under "job". Updating a paused job keeps it paused.
//	@Tags			job (4.x)
//	@Accept			json
//	@Produce		json
//	@Param			job	body		CreateOrUpdateMysqlToMysqlJobParamV2	true	"the job (the UI sends it as migration_job_config or sync_job_config)"
//	@Success		200	{object}	CreateOrUpdateMysqlToMysqlJobRespV2
//	@Failure		400	{object}	ErrorResponse	"invalid_request: a bad or missing option, or a malformed body; the message names it"
//	@Failure		401	{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403	{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404	{object}	ErrorResponse	"not_found: update of a job that does not exist"
//	@Failure		408	{object}	ErrorResponse	"invalid_request: the body came too slowly"
//	@Failure		409	{object}	ErrorResponse	"conflict: create of a job id in use, a job of another type, or the job changed meanwhile"
//	@Failure		413	{object}	ErrorResponse	"invalid_request: the body is over the limit"
//	@Failure		500	{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502	{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Failure		503	{object}	ErrorResponse	"unavailable: no ready node has a healthy dtle driver yet; retry after Retry-After"
//	@Security		ApiToken
//	@Router			/v2/job/migration/create [post]
//	@Router			/v2/job/migration/update [post]
//	@Router			/v2/job/sync/create [post]
//	@Router			/v2/job/sync/update [post]
func (s *Server) mysqlJobV2(c echo.Context) error {
	jt, mode := routeJobType(c), routeMode(c)
	var p CreateOrUpdateMysqlToMysqlJobParamV2
	if err := s.decodeBodyV4(c, jt, &p); err != nil {
		return err
	}
	j, err := p.jobConfig()
	if err != nil {
		return badRequest("%w", err)
	}
	if err := j.normalize(jt); err != nil {
		return renameV4(badRequest("%w", err))
	}
	p.filled(j)
	resp, err := s.registerV4(c, &registration{jobType: jt, cfg: j, mode: mode, restartAttempts: p.Retry,
		srcDBType: p.SrcTask.ConnectionConfig.DatabaseType, destDBType: p.DestTask.ConnectionConfig.DatabaseType}, &p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, CreateOrUpdateMysqlToMysqlJobRespV2{CreateOrUpdateMysqlToMysqlJobParamV2: p, Job: &p,
		EvalCreateIndex: resp.EvalCreateIndex, JobModifyIndex: resp.JobModifyIndex, Message: MessageOK})
}

// kafkaJobV2 godoc
//
//	@Summary		Create or update a subscription job (4.x)
//	@Description	As for migration and sync jobs, with a Kafka destination: .../create registers a new job (409 when the job_id is in use), .../update replaces one (404 when there is none). kafka_date_time_zone is not supported (a value is a 400).
//	@Tags			job (4.x)
//	@Accept			json
//	@Produce		json
//	@Param			job	body		CreateOrUpdateMysqlToKafkaJobParamV2	true	"the job (the UI sends it as subscription_job_config)"
//	@Success		200	{object}	CreateOrUpdateMysqlToKafkaJobRespV2
//	@Failure		400	{object}	ErrorResponse	"invalid_request: a bad or missing option, or a malformed body; the message names it"
//	@Failure		401	{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403	{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404	{object}	ErrorResponse	"not_found: update of a job that does not exist"
//	@Failure		408	{object}	ErrorResponse	"invalid_request: the body came too slowly"
//	@Failure		409	{object}	ErrorResponse	"conflict: create of a job id in use, a job of another type, or the job changed meanwhile"
//	@Failure		413	{object}	ErrorResponse	"invalid_request: the body is over the limit"
//	@Failure		500	{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502	{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Failure		503	{object}	ErrorResponse	"unavailable: no ready node has a healthy dtle driver yet; retry after Retry-After"
//	@Security		ApiToken
//	@Router			/v2/job/subscription/create [post]
//	@Router			/v2/job/subscription/update [post]
func (s *Server) kafkaJobV2(c echo.Context) error {
	mode := routeMode(c)
	var p CreateOrUpdateMysqlToKafkaJobParamV2
	if err := s.decodeBodyV4(c, JobTypeSubscription, &p); err != nil {
		return err
	}
	j, err := p.jobConfig()
	if err != nil {
		return badRequest("%w", err)
	}
	if err := j.normalize(JobTypeSubscription); err != nil {
		return renameV4(badRequest("%w", err))
	}
	p.filled(j)
	resp, err := s.registerV4(c, &registration{jobType: JobTypeSubscription, cfg: j, mode: mode, restartAttempts: p.Retry,
		srcDBType: p.SrcTask.ConnectionConfig.DatabaseType}, &p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, CreateOrUpdateMysqlToKafkaJobRespV2{CreateOrUpdateMysqlToKafkaJobParamV2: p, Job: &p,
		EvalCreateIndex: resp.EvalCreateIndex, JobModifyIndex: resp.JobModifyIndex, Message: MessageOK})
}

// decodeBodyV4 decodes a 4.x job body, bare or wrapped as the UI sends it
// ({"<type>_job_config": {...}}).
func (s *Server) decodeBodyV4(c echo.Context, jt string, v any) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var w map[string]json.RawMessage
	if json.Unmarshal(body, &w) == nil {
		if raw, ok := w[jt+"_job_config"]; ok {
			body = raw
		}
	}
	return s.decodeBody(c, body, v)
}

// registerV4 registers a job converted from a 4.x body; the job's meta
// keeps the body (defaults filled, passwords masked) for the detail. The
// errors name the 4.x fields.
func (s *Server) registerV4(c echo.Context, r *registration, body any) (*nomad.JobRegisterResponse, error) {
	stored, err := json.Marshal(body)
	if err != nil {
		return nil, errorf("store the job's 4.x config: %w", err)
	}
	r.meta = map[string]string{metaUIConfig: string(stored)}
	resp, err := s.register(c, r)
	return resp, renameV4(err)
}

// pauseJobV2 godoc
//
//	@Summary		Pause a job (4.x)
//	@Description	As POST /v2/job/pause, for a job of the route's type (another type is a 404).
//	@Tags			job (4.x)
//	@Accept			x-www-form-urlencoded,json
//	@Produce		json
//	@Param			job_id	formData	string	true	"job id"
//	@Success		200		{object}	MessageResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a bad or missing parameter, or a malformed body; the message names it"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403		{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job of this type"
//	@Failure		409		{object}	ErrorResponse	"conflict: the job is stopped, or changed meanwhile"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/job/migration/pause [post]
//	@Router			/v2/job/sync/pause [post]
//	@Router			/v2/job/subscription/pause [post]
func (s *Server) pauseJobV2(c echo.Context) error { return s.pauseJobOf(c, routeJobType(c)) }

// resumeJobV2 godoc
//
//	@Summary		Resume a paused job (4.x)
//	@Description	As POST /v2/job/resume, for a job of the route's type (another type is a 404).
//	@Tags			job (4.x)
//	@Accept			x-www-form-urlencoded,json
//	@Produce		json
//	@Param			job_id	formData	string	true	"job id"
//	@Success		200		{object}	MessageResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a bad or missing parameter, or a malformed body; the message names it"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403		{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job of this type"
//	@Failure		409		{object}	ErrorResponse	"conflict: the job is stopped, or changed meanwhile"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Failure		503		{object}	ErrorResponse	"unavailable: no ready node has a healthy dtle driver yet; retry after Retry-After"
//	@Security		ApiToken
//	@Router			/v2/job/migration/resume [post]
//	@Router			/v2/job/sync/resume [post]
//	@Router			/v2/job/subscription/resume [post]
func (s *Server) resumeJobV2(c echo.Context) error { return s.resumeJobOf(c, routeJobType(c)) }

// deleteJobV2 godoc
//
//	@Summary		Delete a job (4.x)
//	@Description	As POST /v2/job/delete, for a job of the route's type (another type is a 404).
//	@Tags			job (4.x)
//	@Accept			x-www-form-urlencoded,json
//	@Produce		json
//	@Param			job_id	formData	string	true	"job id"
//	@Success		200		{object}	MessageResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a bad or missing parameter, or a malformed body; the message names it"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403		{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job of this type"
//	@Failure		409		{object}	ErrorResponse	"conflict: the job was registered again while being deleted; it is kept"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Failure		504		{object}	ErrorResponse	"nomad_unavailable: the job is stopped but its evaluations did not finish; delete it again"
//	@Security		ApiToken
//	@Router			/v2/job/migration/delete [post]
//	@Router			/v2/job/sync/delete [post]
//	@Router			/v2/job/subscription/delete [post]
func (s *Server) deleteJobV2(c echo.Context) error { return s.deleteJobOf(c, routeJobType(c)) }
