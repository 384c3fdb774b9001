package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/preflight"
)

// validateTimeout bounds the server checks of one validation.
const validateTimeout = 30 * time.Second

// validateJob godoc
//
//	@Summary		Validate a job config
//	@Description	Checks a job config without creating the job: the config itself (driver_config_validated, job_validation_error), then each MySQL task's server: connection, privileges, and for the source gtid_mode, server_id and binlog settings. The source's tables are matched against replicate_do_db and replicate_ignore_db: a rule that matches no table is a job_validation_warning, a column_map_from or where naming a column the table lacks a job_validation_error. A check that does not apply to a task is null. job_config is the body of POST /v2/job/{type}, given as a JSON body (bare or as {"job_config": ...}) or as the job_config query parameter.
//	@Tags			validation
//	@Accept			json
//	@Produce		json
//	@Param			job_config	query		string		false	"job config as JSON (instead of a body)"
//	@Param			job			body		JobConfig	false	"job config"
//	@Success		200			{object}	ValidateJobResponse
//	@Failure		400			{object}	ErrorResponse	"invalid_request: a bad or missing parameter, or a malformed body; the message names it"
//	@Failure		401			{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		408			{object}	ErrorResponse	"invalid_request: the body came too slowly"
//	@Failure		413			{object}	ErrorResponse	"invalid_request: the body is over the limit"
//	@Failure		500			{object}	ErrorResponse	"internal: see the plugin log"
//	@Security		ApiToken
//	@Router			/v2/validation/job [get]
//	@Router			/v2/validation/job [post]
func (s *Server) validateJob(c echo.Context) error {
	raw := []byte(c.QueryParam("job_config"))
	if len(raw) == 0 {
		b, err := readBody(c)
		if err != nil {
			return err
		}
		raw = b
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return badRequest("job_config: required, as a JSON body or the job_config query parameter")
	}
	var j JobConfig
	if err := s.decodeJobConfig(c, raw, &j); err != nil {
		return err
	}
	jt := JobTypeMigration
	if j.DestTask != nil && len(j.DestTask.KafkaBrokerAddrs) > 0 {
		jt = JobTypeSubscription
	}
	out := ValidateJobResponse{MysqlTaskValidationReport: []*TaskValidationReport{}, Message: MessageOK}
	if err := j.normalize(jt); err != nil {
		out.JobValidationError = err.Error()
		return c.JSON(http.StatusOK, out)
	}
	src, dest := j.tasks()
	if err := openPasswords(s.cfg.RSAKey, src, dest); err != nil {
		out.JobValidationError = err.Error()
		return c.JSON(http.StatusOK, out)
	}
	out.DriverConfigValidated = true
	out.JobValidationWarning = warnings(&j, s.cfg.RSAKey != nil)
	ctx, cancel := context.WithTimeout(c.Request().Context(), validateTimeout)
	defer cancel()
	checks := []func(context.Context, *config.Task) *preflight.Report{preflight.Source}
	tasks := []*config.Task{src}
	if !dest.IsKafka() {
		checks, tasks = append(checks, preflight.Dest), append(tasks, dest)
	}
	reports := make([]*preflight.Report, len(checks))
	var wg sync.WaitGroup
	for i := range checks {
		wg.Go(func() { reports[i] = checks[i](ctx, tasks[i]) })
	}
	wg.Wait()
	if src := reports[0]; len(src.RuleWarnings) > 0 || len(src.RuleErrors) > 0 {
		out.JobValidationWarning = joinNonEmpty("; ", append([]string{out.JobValidationWarning}, src.RuleWarnings...)...)
		out.JobValidationError = strings.Join(src.RuleErrors, "; ")
	}
	for _, r := range reports {
		out.MysqlTaskValidationReport = append(out.MysqlTaskValidationReport, &TaskValidationReport{
			TaskName: r.TaskName, ConnectionValidation: check(r.Connection), PrivilegesValidation: check(r.Privileges),
			GtidModeValidation: check(r.GtidMode), ServerIDValidation: check(r.ServerID), BinlogValidation: check(r.Binlog)})
	}
	return c.JSON(http.StatusOK, out)
}

func check(c *preflight.Check) *Check {
	if c == nil {
		return nil
	}
	return &Check{Validated: c.Validated, Error: c.Error}
}

// warnings lists what is allowed but probably not meant.
func warnings(j *JobConfig, nodeKey bool) string {
	var w []string
	if len(j.SrcTask.ReplicateDoDb) == 0 {
		w = append(w, "src_task.replicate_do_db is empty: every schema but the system ones is replicated")
	}
	if j.SrcTask.DropTableIfExists {
		w = append(w, "src_task.drop_table_if_exists: tables on the destination are dropped and re-created")
	}
	if !nodeKey && !j.IsMysqlPasswordEncrypted {
		w = append(w, "this node has no rsa_private_key_path: the Nomad job will hold the MySQL passwords in plaintext")
	}
	return strings.Join(w, "; ")
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}
