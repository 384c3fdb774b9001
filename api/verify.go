package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/secret"
	"github.com/dtle-io/dtle/internal/tableinfo"
	"github.com/dtle-io/dtle/internal/verify"
)

// VerifyStartResponse is the reply of POST /v2/job/verify.
type VerifyStartResponse struct {
	Message  string `json:"message" example:"ok"`
	JobID    string `json:"job_id" example:"job1-migration"`
	VerifyID string `json:"verify_id" example:"KQ4CVNUBZ3Q6XGBJ2OYKTAFM4B"`
}

// VerifyResponse is the latest comparison of a job: the latest this node
// ran, or the latest of the job's verify schedule when that started later.
type VerifyResponse struct {
	Message  string `json:"message" example:"ok"`
	JobID    string `json:"job_id" example:"job1-migration"`
	VerifyID string `json:"verify_id" example:"KQ4CVNUBZ3Q6XGBJ2OYKTAFM4B"`
	// Scheduled says the comparison ran on the job's verify schedule (its
	// source task's verify option), in the plugin running the source.
	Scheduled bool `json:"scheduled" example:"false"`
	// State is running, done (every table compared; see each table's
	// state) or failed (Error says why).
	State  string `json:"state" enums:"running,done,failed" example:"done"`
	Error  string `json:"error,omitempty"`
	Repair bool   `json:"repair"`
	// StartedAt and FinishedAt are RFC 3339 times; FinishedAt is empty
	// while it runs.
	StartedAt  string `json:"started_at" example:"2025-01-02T03:04:05Z"`
	FinishedAt string `json:"finished_at,omitempty" example:"2025-01-02T03:09:05Z"`
	// Differences is the rows that differ, in every table.
	Differences int64         `json:"differences" example:"0"`
	Tables      []VerifyTable `json:"tables"`
}

// VerifyTable is the comparison of one table.
type VerifyTable struct {
	SourceSchema string `json:"source_schema" example:"db1"`
	SourceTable  string `json:"source_table" example:"t1"`
	// DestSchema and DestTable are the names after the job's renames.
	DestSchema string `json:"dest_schema" example:"db1"`
	DestTable  string `json:"dest_table" example:"t1"`
	// State: waiting, running, same, differs (rows differ), repaired (they
	// differed and were rewritten), unsettled (none found to differ, but
	// some kept changing on the source: compare again) or failed (Reason
	// says why).
	State  string `json:"state" enums:"waiting,running,same,differs,repaired,unsettled,failed" example:"same"`
	Reason string `json:"reason,omitempty"`
	// Key names the key columns (destination names) the chunks are bounded
	// by, and each listed key's values; empty: the table has no key and is
	// compared whole.
	Key []string `json:"key,omitempty" example:"id"`
	// Chunks and Rows compared; Rechecked counts the chunks compared row by
	// row because their checksums differed.
	Chunks    int64 `json:"chunks" example:"500"`
	Rows      int64 `json:"rows" example:"1000000"`
	Rechecked int64 `json:"rechecked" example:"0"`
	// Missing (on the source, not the destination), Extra (on the
	// destination only) and Different count the rows that differ; the
	// *_keys lists hold the first of their keys.
	Missing       int64      `json:"missing" example:"0"`
	Extra         int64      `json:"extra" example:"0"`
	Different     int64      `json:"different" example:"0"`
	MissingKeys   [][]string `json:"missing_keys,omitempty"`
	ExtraKeys     [][]string `json:"extra_keys,omitempty"`
	DifferentKeys [][]string `json:"different_keys,omitempty"`
	// Unsettled counts rows the source kept changing through every attempt
	// to compare them.
	Unsettled int64 `json:"unsettled" example:"0"`
	// Repaired counts the rows rewritten on the destination.
	Repaired        int64   `json:"repaired" example:"0"`
	DurationSeconds float64 `json:"duration_seconds" example:"12.5"`
}

// verifyRuns are the comparisons this node started: the latest per job.
// The zero value is ready.
type verifyRuns struct {
	mu   sync.Mutex
	runs map[string]*verifyRun
	wg   sync.WaitGroup
}

type verifyRun struct {
	id     string
	v      *verify.Verifier
	cancel context.CancelFunc
	done   chan struct{}
}

// start runs v in the background as job's latest comparison, unless one
// of the job is running; it outlives ctx (the request's), not stop.
func (vr *verifyRuns) start(ctx context.Context, job string, v *verify.Verifier) (string, bool) {
	vr.mu.Lock()
	defer vr.mu.Unlock()
	if r := vr.runs[job]; r != nil {
		select {
		case <-r.done:
		default:
			return r.id, false
		}
	}
	if vr.runs == nil {
		vr.runs = map[string]*verifyRun{}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &verifyRun{id: rand.Text(), v: v, cancel: cancel, done: make(chan struct{})}
	vr.runs[job] = r
	vr.wg.Add(1)
	go func() {
		defer vr.wg.Done()
		defer close(r.done)
		defer cancel()
		_, _ = v.Run(ctx) // the report holds the outcome
	}()
	return r.id, true
}

// latest is job's latest comparison, nil if none.
func (vr *verifyRuns) latest(job string) *verifyRun {
	vr.mu.Lock()
	defer vr.mu.Unlock()
	return vr.runs[job]
}

// stop cancels every running comparison and waits for them to end.
func (vr *verifyRuns) stop() {
	vr.mu.Lock()
	for _, r := range vr.runs {
		r.cancel()
	}
	vr.mu.Unlock()
	vr.wg.Wait()
}

// startVerify godoc
//
//	@Summary		Compare a job's source and destination
//	@Description	Starts, in the background on this API node, a comparison of the tables a running migration or sync job replicates (its renames, column maps and where filters honoured): chunk checksums computed by each server, chunks that differ narrowed down to rows by key, each compared at a point the destination has applied, so a live workload raises no false alarm. With repair, the rows that differ are rewritten on the destination without pausing the job (tables without a key are not repaired). GET /v2/job/verify reports it. The job must be replicating its binlog; one comparison per job runs at a time on a node. See docs/operate.md.
//	@Tags			job
//	@Accept			x-www-form-urlencoded,json
//	@Produce		json
//	@Param			job_id			formData	string	true	"job id"
//	@Param			tables			formData	string	false	"source tables to compare, schema.table, comma-separated or a JSON array; default: every table the job replicates"
//	@Param			repair			formData	boolean	false	"rewrite the rows that differ on the destination"	default(false)
//	@Param			chunk_size		formData	integer	false	"rows per chunk; default: chunks sized to take about 0.1 s on the source, from the job's chunk_size up to 50000 rows"
//	@Param			rows_per_second	formData	integer	false	"at most this many source rows read per second; 0: no limit"	default(0)
//	@Success		200				{object}	VerifyStartResponse
//	@Failure		400				{object}	ErrorResponse	"invalid_request: a bad or missing parameter, a job whose destination is Kafka, or a password that does not open"
//	@Failure		401				{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403				{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404				{object}	ErrorResponse	"not_found: no such dtle job"
//	@Failure		408				{object}	ErrorResponse	"invalid_request: the body came too slowly"
//	@Failure		409				{object}	ErrorResponse	"conflict: a comparison of this job is running on this node"
//	@Failure		413				{object}	ErrorResponse	"invalid_request: the body is over the limit"
//	@Failure		500				{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502				{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Failure		503				{object}	ErrorResponse	"unavailable: the cluster's secret, which opens the job's passwords, cannot be read now; retry"
//	@Security		ApiToken
//	@Router			/v2/job/verify [post]
func (s *Server) startVerify(c echo.Context) error {
	p, err := params(c)
	if err != nil {
		return err
	}
	id, err := required(p, "job_id")
	if err != nil {
		return err
	}
	cfg := verify.Config{JobID: id, Logger: s.log.Named("verify")}
	if cfg.Tables, err = verifyTables(p["tables"]); err != nil {
		return err
	}
	if v := p["repair"]; v != "" {
		if cfg.Repair, err = strconv.ParseBool(v); err != nil {
			return badRequest("repair: must be true or false, got %q", v)
		}
	}
	if cfg.ChunkSize, err = intParam(p, "chunk_size", 1); err != nil {
		return err
	}
	if cfg.RowsPerSecond, err = intParam(p, "rows_per_second", 0); err != nil {
		return err
	}
	job, err := s.lookupJob(c, id)
	if err != nil {
		return err
	}
	if err := requireAction(c, jobType(job)+"-update"); err != nil {
		return err
	}
	src, dest, err := VerifyTasks(job)
	if err != nil {
		return err
	}
	if err := s.openJobPasswords(c, id, src, dest); err != nil {
		return err
	}
	cfg.Source, cfg.Dest = src, dest.ConnectionConfig
	v, err := verify.New(cfg)
	if err != nil {
		return badRequest("%w", err)
	}
	vid, started := s.verify.start(c.Request().Context(), id, v)
	if !started {
		return &Error{Status: http.StatusConflict, Code: CodeConflict,
			Err: errorf("a comparison of job_id %q (%s) is running on this node: GET /v2/job/verify follows it", id, vid)}
	}
	s.log.Info("job comparison started", "job", id, "verify_id", vid, "repair", cfg.Repair)
	return c.JSON(http.StatusOK, VerifyStartResponse{Message: MessageOK, JobID: id, VerifyID: vid})
}

// verifyStatus godoc
//
//	@Summary		Report a job's comparison
//	@Description	The latest comparison of the job, running or ended: the latest this API node ran (POST /v2/job/verify), or the latest run of the job's verify schedule (its source task's verify option; scheduled is true) when that started later. Per table: the chunks and rows compared, the rows that differ by kind (missing on the destination, extra there, different) with the first of their keys, the rows repaired and the time taken. Each node keeps the comparisons it ran until it restarts; the schedule's latest report is kept in Nomad.
//	@Tags			job
//	@Produce		json
//	@Param			job_id	query		string	true	"job id"
//	@Success		200		{object}	VerifyResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: job_id is missing"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		404		{object}	ErrorResponse	"not_found: neither this node nor the job's verify schedule ran a comparison of the job"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Security		ApiToken
//	@Router			/v2/job/verify [get]
func (s *Server) verifyStatus(c echo.Context) error {
	p, err := params(c)
	if err != nil {
		return err
	}
	id, err := required(p, "job_id")
	if err != nil {
		return err
	}
	if err := s.checkJobAccess(c, id, "detail"); err != nil {
		return err
	}
	r := s.latestVerify(c, id)
	if r == nil {
		return notFound("job_id %q: this node ran no comparison of it, and its verify schedule none yet (POST /v2/job/verify starts one; each API node keeps its own)", id)
	}
	return c.JSON(http.StatusOK, r)
}

func verifyResponse(id string, rep verify.Report) VerifyResponse {
	out := VerifyResponse{Message: MessageOK, JobID: rep.JobID, VerifyID: id, State: rep.State, Error: rep.Error,
		Repair: rep.Repair, StartedAt: rep.Started.UTC().Format(time.RFC3339), Differences: rep.Differences(),
		Tables: make([]VerifyTable, len(rep.Tables))}
	if !rep.Finished.IsZero() {
		out.FinishedAt = rep.Finished.UTC().Format(time.RFC3339)
	}
	for i, t := range rep.Tables {
		out.Tables[i] = VerifyTable{SourceSchema: t.Source.Schema, SourceTable: t.Source.Table, DestSchema: t.Dest.Schema,
			DestTable: t.Dest.Table, State: t.State, Reason: t.Reason, Key: t.Key, Chunks: t.Chunks, Rows: t.Rows,
			Rechecked: t.Rechecked, Missing: t.Missing, Extra: t.Extra, Different: t.Different, MissingKeys: t.MissingKeys,
			ExtraKeys: t.ExtraKeys, DifferentKeys: t.DifferentKeys, Unsettled: t.Unsettled, Repaired: t.Repaired,
			DurationSeconds: t.Duration.Seconds()}
	}
	return out
}

// verifyTables reads the tables parameter: schema.table names,
// comma-separated or as a JSON array; "" for every table.
func verifyTables(v string) ([]tableinfo.Name, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	var names []string
	if strings.HasPrefix(v, "[") {
		if err := json.Unmarshal([]byte(v), &names); err != nil {
			return nil, badRequest("tables: want schema.table names, comma-separated or a JSON array of strings: %w", err)
		}
	} else {
		names = strings.Split(v, ",")
	}
	out := make([]tableinfo.Name, 0, len(names))
	for _, n := range names {
		schema, table, ok := strings.Cut(strings.TrimSpace(n), ".")
		if !ok || schema == "" || table == "" {
			return nil, badRequest("tables: %q is not schema.table", n)
		}
		out = append(out, tableinfo.Name{Schema: schema, Table: table})
	}
	return out, nil
}

// intParam reads an optional integer parameter of at least least; absent
// is 0.
func intParam(p map[string]string, name string, least int) (int, error) {
	v := strings.TrimSpace(p[name])
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		return 0, badRequest("%s: must be a whole number of at least %d, got %q", name, least, v)
	}
	return n, nil
}

// verifyTasks are a job's source and MySQL destination tasks, defaults
// filled in.
func VerifyTasks(job *nomad.Job) (src, dest *config.Task, err error) {
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
	id := deref(job.ID)
	switch {
	case src == nil || dest == nil || src.ConnectionConfig == nil:
		return nil, nil, badRequest("job_id %q: a comparison needs the job's %s and %s tasks", id, config.RoleSource, config.RoleDest)
	case dest.IsKafka() || dest.ConnectionConfig == nil:
		return nil, nil, badRequest("job_id %q writes to Kafka: only a MySQL destination can be compared", id)
	}
	return src, dest, nil
}

// openJobPasswords opens the tasks' passwords as their tasks do: RSA
// encrypted ones with the node's key, sealed ones with the cluster's secret
// and the binding they were sealed for (job, task, server, user).
func (s *Server) openJobPasswords(c echo.Context, jobID string, tasks ...*config.Task) error {
	if err := openPasswords(s.cfg.RSAKey, tasks...); err != nil {
		return err
	}
	var key []byte
	for i, t := range tasks {
		cc := t.ConnectionConfig
		if cc == nil || !t.PasswordSealed {
			continue
		}
		if key == nil {
			if s.cfg.ClusterSecret == nil {
				return unavailable(errors.New("the job's passwords are sealed with the cluster's secret, which this node cannot read"))
			}
			var err error
			if key, err = s.cfg.ClusterSecret(c.Request().Context()); err != nil {
				s.log.Warn("cannot open the job's passwords", "error", err)
				return unavailable(errors.New("the cluster's secret, which opens the job's passwords, cannot be read from Nomad now; see the plugin log, and retry"))
			}
		}
		pw, err := secret.Open(key, secret.Binding{Namespace: nomad.DefaultNamespace, Job: jobID, Task: taskRole(i),
			Host: cc.Host, Port: cc.Port, User: cc.User}, cc.Password)
		if err != nil {
			return badRequest("%s.mysql_connection_config.mysql_password: %w", taskField(i), err)
		}
		cc.Password, t.PasswordSealed = pw, false
	}
	return nil
}
