package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"
)

// nomadTimeout bounds each Nomad call of a request.
const nomadTimeout = 30 * time.Second

func (s *Server) query(c echo.Context) (*nomad.QueryOptions, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(c.Request().Context(), nomadTimeout)
	return (&nomad.QueryOptions{}).WithContext(ctx), cancel
}

func (s *Server) write(c echo.Context) (*nomad.WriteOptions, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(c.Request().Context(), nomadTimeout)
	return (&nomad.WriteOptions{}).WithContext(ctx), cancel
}

func checkJobType(t string) error {
	switch t {
	case JobTypeMigration, JobTypeSync, JobTypeSubscription:
		return nil
	}
	return notFound("job type %q: use migration, sync or subscription", t)
}

// createJob godoc
//
//	@Summary		Create or update a job
//	@Description	Registers a migration, sync or subscription job with Nomad. The body is the job config; the reply echoes it with every default filled in and passwords masked. job_id defaults to "<job_name>-<type>". Fields the API does not know are ignored (and logged at DEBUG), as dtle 3.x did; a known field of the wrong type is a 400. task_name also takes 3.x's "source" for src and "dst" or "destination" for dest. Updating a paused job keeps it paused. While no ready node has a healthy dtle driver (the first seconds after an agent starts) it answers 503 with Retry-After: retry then.
//	@Tags			job
//	@Accept			json
//	@Produce		json
//	@Param			type	path		string		true	"job type"	Enums(migration, sync, subscription)
//	@Param			job		body		JobConfig	true	"migration_job_config, sync_job_config or subscription_job_config"
//	@Success		200		{object}	CreateJobResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a bad or missing parameter, or a malformed body; the message names it"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403		{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such job type"
//	@Failure		408		{object}	ErrorResponse	"invalid_request: the body came too slowly"
//	@Failure		409		{object}	ErrorResponse	"conflict: a Nomad job that is not a dtle job has this id, or the job changed meanwhile"
//	@Failure		413		{object}	ErrorResponse	"invalid_request: the body is over the limit"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Failure		503		{object}	ErrorResponse	"unavailable: no ready node has a healthy dtle driver yet; retry after Retry-After"
//	@Security		ApiToken
//	@Router			/v2/job/{type} [post]
func (s *Server) createJob(c echo.Context) error {
	jt := c.Param("type")
	if err := checkJobType(jt); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var j JobConfig
	if err := s.decodeJobConfig(c, body, &j); err != nil {
		return err
	}
	if err := j.normalize(jt); err != nil {
		return badRequest("%w", err)
	}
	resp, err := s.register(c, &registration{jobType: jt, cfg: &j, mode: upsertJob})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, CreateJobResponse{Job: j.masked(), EvalCreateIndex: resp.EvalCreateIndex,
		JobModifyIndex: resp.JobModifyIndex, Message: MessageOK})
}

// checkNodeIDs checks that the node ids a job names are node ids.
func checkNodeIDs(ids ...string) error {
	for _, id := range ids {
		if id == "" {
			continue
		}
		if err := checkID("node_id", "node", id); err != nil {
			return badRequest("%w; GET /v2/nodes lists them", err)
		}
	}
	return nil
}

// nodesExist checks that the node ids a job names are among nodes.
func nodesExist(nodes []*nomad.NodeListStub, ids ...string) error {
	for _, id := range ids {
		if id != "" && !slices.ContainsFunc(nodes, func(n *nomad.NodeListStub) bool { return n.ID == id }) {
			return badRequest("node_id %q: no such Nomad node (GET /v2/nodes lists them)", id)
		}
	}
	return nil
}

// pause sets every group's count to 0, remembering it in the job's meta.
func pause(job *nomad.Job) {
	if job.Meta == nil {
		job.Meta = map[string]string{}
	}
	for _, tg := range job.TaskGroups {
		n := 1
		if tg.Count != nil && *tg.Count > 0 {
			n = *tg.Count
		}
		if _, ok := job.Meta[metaCountPfx+deref(tg.Name)]; !ok {
			job.Meta[metaCountPfx+deref(tg.Name)] = strconv.Itoa(n)
		}
		tg.Count = ptr(0)
	}
	job.Meta[metaPaused] = "true"
}

// resume restores the counts pause saved.
func resume(job *nomad.Job) {
	for _, tg := range job.TaskGroups {
		key := metaCountPfx + deref(tg.Name)
		n, err := strconv.Atoi(job.Meta[key])
		if err != nil || n <= 0 {
			n = 1
		}
		tg.Count = ptr(n)
		delete(job.Meta, key)
	}
	delete(job.Meta, metaPaused)
}

// lookupJob fetches a dtle job by id that the caller may see: a job of
// another tenant is the same 404 as one that does not exist
// (checkJobTenant), before anything else about it is told.
func (s *Server) lookupJob(c echo.Context, id string) (*nomad.Job, error) {
	q, cancel := s.query(c)
	defer cancel()
	job, _, err := s.nomad.Jobs().Info(id, q)
	if err != nil {
		if e := nomadError("job "+id, err); e.Status != http.StatusNotFound {
			return nil, e
		}
		return nil, notFound("job_id %q: no such job (GET /v2/jobs lists them)", id)
	}
	if !isDtleJob(job) {
		return nil, notFound("job_id %q: not a dtle job", id)
	}
	if err := checkJobTenant(c, job.Meta, id); err != nil {
		return nil, err
	}
	return job, nil
}

// jobParam reads the job_id parameter and looks the job up; with jt, the
// job must be of that type (a 4.x route names it).
func (s *Server) jobParam(c echo.Context, jt string) (string, *nomad.Job, error) {
	p, err := params(c)
	if err != nil {
		return "", nil, err
	}
	id, err := required(p, "job_id")
	if err != nil {
		return "", nil, err
	}
	job, err := s.lookupJob(c, id)
	if err == nil && jt != "" && jobType(job) != jt {
		got := jobType(job)
		return "", nil, notFound("job_id %q is a %s job; use the /v2/job/%s/ routes", id, got, got)
	}
	return id, job, err
}

// changeJob applies f to a job (of type jt, or any type for "") and
// registers it, unless it is already so. With places, the change starts
// tasks, so it needs a healthy dtle driver.
func (s *Server) changeJob(c echo.Context, jt string, f func(*nomad.Job) bool, verb string, places bool) error {
	id, job, err := s.jobParam(c, jt)
	if err != nil {
		return err
	}
	if err := requireAction(c, jobType(job)+"-"+verb); err != nil {
		return err
	}
	if deref(job.Stop) {
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Err: errorf("job_id %q is stopped; register it again to %s it", id, verb)}
	}
	if !f(job) {
		return c.JSON(http.StatusOK, MessageResponse{Message: MessageOK})
	}
	if places {
		q, cancel := s.query(c)
		err := s.requireHealthyDriver(c, q)
		cancel()
		if err != nil {
			return err
		}
	}
	w, cancel := s.write(c)
	defer cancel()
	if _, _, err := s.nomad.Jobs().EnforceRegister(job, deref(job.JobModifyIndex), w); err != nil {
		return nomadError(verb+" job "+id, err)
	}
	s.log.Info("job "+verb+"d", "job", id)
	return c.JSON(http.StatusOK, MessageResponse{Message: MessageOK})
}

// pauseJob godoc
//
//	@Summary		Pause a job
//	@Description	Stops the job's tasks: no data moves and no binlog connection stays open on the source. The job stays paused (also across restarts of Nomad) until resumed, and resume continues from the destination's checkpoint. Pausing a paused job does nothing.
//	@Tags			job
//	@Accept			x-www-form-urlencoded,json
//	@Produce		json
//	@Param			job_id	formData	string	true	"job id"
//	@Success		200		{object}	MessageResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a bad or missing parameter, or a malformed body; the message names it"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403		{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job"
//	@Failure		408		{object}	ErrorResponse	"invalid_request: the body came too slowly"
//	@Failure		409		{object}	ErrorResponse	"conflict: the job is stopped, or changed meanwhile"
//	@Failure		413		{object}	ErrorResponse	"invalid_request: the body is over the limit"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/job/pause [post]
func (s *Server) pauseJob(c echo.Context) error { return s.pauseJobOf(c, "") }

// pauseJobOf pauses the job_id of a request, which must be of type jt
// unless jt is "".
func (s *Server) pauseJobOf(c echo.Context, jt string) error {
	return s.changeJob(c, jt, func(job *nomad.Job) bool {
		if job.Meta[metaPaused] == "true" {
			return false
		}
		pause(job)
		return true
	}, "pause", false)
}

// resumeJob godoc
//
//	@Summary		Resume a paused job
//	@Description	Starts the job's tasks again; they continue exactly where the destination's checkpoint says. Resuming a running job does nothing. While no ready node has a healthy dtle driver it answers 503 with Retry-After.
//	@Tags			job
//	@Accept			x-www-form-urlencoded,json
//	@Produce		json
//	@Param			job_id	formData	string	true	"job id"
//	@Success		200		{object}	MessageResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a bad or missing parameter, or a malformed body; the message names it"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403		{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job"
//	@Failure		408		{object}	ErrorResponse	"invalid_request: the body came too slowly"
//	@Failure		409		{object}	ErrorResponse	"conflict: the job is stopped, or changed meanwhile"
//	@Failure		413		{object}	ErrorResponse	"invalid_request: the body is over the limit"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Failure		503		{object}	ErrorResponse	"unavailable: no ready node has a healthy dtle driver yet; retry after Retry-After"
//	@Security		ApiToken
//	@Router			/v2/job/resume [post]
func (s *Server) resumeJob(c echo.Context) error { return s.resumeJobOf(c, "") }

// resumeJobOf resumes the job_id of a request, which must be of type jt
// unless jt is "".
func (s *Server) resumeJobOf(c echo.Context, jt string) error {
	return s.changeJob(c, jt, func(job *nomad.Job) bool {
		if job.Meta[metaPaused] != "true" {
			return false
		}
		resume(job)
		return true
	}, "resume", true)
}

// deleteJob godoc
//
//	@Summary		Delete a job
//	@Description	Stops the job and removes it from Nomad. Data already on the destination stays, with its checkpoint tables. Only the version this request stopped is purged: a job registered again meanwhile is kept, with a 409.
//	@Tags			job
//	@Accept			x-www-form-urlencoded,json
//	@Produce		json
//	@Param			job_id	formData	string	true	"job id"
//	@Success		200		{object}	MessageResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a bad or missing parameter, or a malformed body; the message names it"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403		{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job"
//	@Failure		408		{object}	ErrorResponse	"invalid_request: the body came too slowly"
//	@Failure		409		{object}	ErrorResponse	"conflict: the job was registered again while being deleted; it is kept"
//	@Failure		413		{object}	ErrorResponse	"invalid_request: the body is over the limit"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Failure		504		{object}	ErrorResponse	"nomad_unavailable: the job is stopped but its evaluations did not finish; delete it again"
//	@Security		ApiToken
//	@Router			/v2/job/delete [post]
func (s *Server) deleteJob(c echo.Context) error { return s.deleteJobOf(c, "") }

// deleteJobOf deletes the job_id of a request, which must be of type jt
// unless jt is "".
func (s *Server) deleteJobOf(c echo.Context, jt string) error {
	id, job, err := s.jobParam(c, jt)
	if err != nil {
		return err
	}
	if err := requireAction(c, jobType(job)+"-delete"); err != nil {
		return err
	}
	// Stop first and purge once no evaluation of the job is in flight:
	// Nomad 1.11's planner crashes when a job is purged under a plan. Each
	// step has its own nomadTimeout.
	stopped, err := s.stopJob(c, id)
	if err != nil {
		return nomadError("stop job "+id, err)
	}
	job, err = s.settledJob(c, id)
	switch {
	case err != nil:
		return err
	case job == nil:
		// Purged meanwhile, by another delete.
		s.log.Info("job deleted", "job", id)
		return c.JSON(http.StatusOK, MessageResponse{Message: MessageOK})
	case !deref(job.Stop) || deref(job.JobModifyIndex) != stopped:
		// Registered again (or stopped again) since this request stopped
		// it: that version is not the one to remove.
		return &Error{Status: http.StatusConflict, Code: CodeConflict,
			Err: errorf("job_id %q was registered or changed again while it was being deleted; it is kept: check it and delete it again", id)}
	}
	// Nomad's purge takes no index to check, so a registration between the
	// read above and the purge (a few milliseconds) would still be lost.
	if err := s.purgeJob(c, id); err != nil {
		return nomadError("delete job "+id, err)
	}
	// Its speed limit set at run time goes with it: a new job of the same
	// id must not inherit it.
	w, wcancel := s.write(c)
	defer wcancel()
	if _, err := s.nomad.Variables().Delete(SpeedLimitPath(nomad.DefaultNamespace, id), w); err != nil &&
		!errors.Is(err, nomad.ErrVariablePathNotFound) {
		s.log.Warn("the deleted job's speed limit was not dropped", "job", id, "error", err)
	}
	s.log.Info("job deleted", "job", id)
	return c.JSON(http.StatusOK, MessageResponse{Message: MessageOK})
}

// listJobs godoc
//
//	@Summary		List jobs
//	@Description	Lists every dtle job (every Nomad job with a task on the dtle driver, also one run with "nomad job run") with Nomad's status, or "paused". job_type is the job's meta job_type (the API and the example job files set it); a job without it is a subscription when a dtle task has kafka_broker_addrs, else a migration (only the meta tells a sync job from a migration).
//	@Tags			job
//	@Produce		json
//	@Param			filter_job_type	query		string	false	"only jobs of this type"	Enums(migration, sync, subscription)
//	@Success		200				{object}	JobListResponse
//	@Failure		400				{object}	ErrorResponse	"invalid_request: a bad or missing parameter, or a malformed body; the message names it"
//	@Failure		401				{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403				{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		500				{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502				{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/jobs [get]
func (s *Server) listJobs(c echo.Context) error {
	filter := c.QueryParam("filter_job_type")
	if filter != "" {
		if err := checkJobType(filter); err != nil {
			return badRequest("filter_job_type: %w", err)
		}
	}
	q, cancel := s.query(c)
	defer cancel()
	stubs, _, err := s.nomad.Jobs().ListOptions(&nomad.JobListOptions{Fields: &nomad.JobListFields{Meta: true}}, q)
	if err != nil {
		return nomadError("list jobs", err)
	}
	out := JobListResponse{Jobs: []JobListItem{}, Message: MessageOK}
	for _, j := range stubs {
		if !jobVisible(c, j.Meta) {
			continue
		}
		jt := j.Meta[metaJobType]
		if checkJobType(jt) != nil {
			// Run from a job file without job_type: the list does not
			// tell whether a task runs on dtle, the job does.
			if jt, err = s.inferJobType(q, j.ID); err != nil {
				return err
			}
		}
		if jt == "" || (filter != "" && jt != filter) || !callerOf(c).can(jt+"-list") {
			continue
		}
		status := j.Status
		if j.Meta[metaPaused] == "true" {
			status = JobStatusPaused
		}
		out.Jobs = append(out.Jobs, JobListItem{JobID: j.ID, JobName: j.Name, JobType: jt, JobStatus: status,
			JobStatusDescription: j.StatusDescription})
	}
	sort.Slice(out.Jobs, func(a, b int) bool { return out.Jobs[a].JobID < out.Jobs[b].JobID })
	return c.JSON(http.StatusOK, out)
}

// jobDetail godoc
//
//	@Summary		Show a job
//	@Description	The job's config (passwords masked) and, per task, its allocations with their Nomad task events (job_stage_full, job_stage_incr, ...), start and finish times and status. The same reply carries the 4.x detail beside the 3.x fields: basic_task_profile (the configuration as last sent, passwords masked; where the tasks run; the stage, steps, delay and full-copy progress, read from the running tasks) and task_logs (each allocation of each task with its Nomad task events).
//	@Tags			job
//	@Produce		json
//	@Param			type	path		string	true	"job type"	Enums(migration, sync, subscription)
//	@Param			job_id	query		string	true	"job id"
//	@Success		200		{object}	JobDetailResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a bad or missing parameter, or a malformed body; the message names it"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403		{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such job type or dtle job, or the job is of another type"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/job/{type}/detail [get]
func (s *Server) jobDetail(c echo.Context) error { return s.detailOf(c, c.Param("type")) }

// detailOf answers a detail route for a job of type jt.
func (s *Server) detailOf(c echo.Context, jt string) error {
	if err := checkJobType(jt); err != nil {
		return err
	}
	id := c.QueryParam("job_id")
	if id == "" {
		return badRequest("job_id: required")
	}
	job, err := s.lookupJob(c, id)
	if err != nil {
		return err
	}
	if got := jobType(job); got != jt {
		return notFound("job_id %q is a %s job; use /v2/job/%s/detail", id, got, got)
	}
	cfg, err := jobConfigFromNomad(job)
	if err != nil {
		return err
	}
	q, cancel := s.query(c)
	defer cancel()
	allocs, _, err := s.nomad.Jobs().Allocations(id, true, q)
	if err != nil {
		return nomadError("allocations of "+id, err)
	}
	sortAllocsNewestFirst(allocs)
	out := JobDetailResponse{JobID: id, JobName: deref(job.Name), Failover: *cfg.Failover, JobStatus: deref(job.Status),
		SrcTaskDetail:  SrcTaskDetail{Allocations: allocDetails(allocs, "src"), TaskConfig: cfg.SrcTask},
		DestTaskDetail: DestTaskDetail{Allocations: allocDetails(allocs, "dest"), TaskConfig: cfg.DestTask},
		Message:        MessageOK}
	if job.Meta[metaPaused] == "true" {
		out.JobStatus = JobStatusPaused
	}
	out.BasicTaskProfile, out.TaskLogs = s.profile(c, job, cfg, allocs, out.JobStatus)
	return c.JSON(http.StatusOK, out)
}

// inferJobType reads a job without a job_type meta and returns its type,
// "" when it has no dtle task or is gone.
func (s *Server) inferJobType(q *nomad.QueryOptions, id string) (string, error) {
	job, _, err := s.nomad.Jobs().Info(id, q)
	if err != nil {
		if e := nomadError("job "+id, err); e.Status != http.StatusNotFound {
			return "", e
		}
		return "", nil
	}
	return jobType(job), nil
}

func allocDetails(allocs []*nomad.AllocationListStub, task string) []AllocationDetail {
	out := []AllocationDetail{}
	for _, a := range allocs {
		st, ok := a.TaskStates[task]
		if !ok {
			if a.TaskGroup != task {
				continue
			}
			st = &nomad.TaskState{State: a.ClientStatus}
		}
		ts := TaskStatus{TaskEvents: taskEvents(st), StartedAt: st.StartedAt.UTC(), FinishedAt: st.FinishedAt.UTC(), Status: st.State}
		out = append(out, AllocationDetail{NodeID: a.NodeID, AllocationID: a.ID, TaskStatus: ts})
	}
	return out
}

// taskEvents are a task's Nomad events, oldest first.
func taskEvents(st *nomad.TaskState) []TaskEvent {
	out := []TaskEvent{}
	for _, ev := range st.Events {
		out = append(out, TaskEvent{EventType: ev.Type, SetupError: ev.SetupError, Message: eventMessage(ev),
			Time: time.Unix(0, ev.Time).UTC().Format(time.RFC3339)})
	}
	return out
}

// eventMessage is what a task event says.
func eventMessage(ev *nomad.TaskEvent) string {
	switch {
	case ev.DisplayMessage != "":
		return ev.DisplayMessage
	case ev.Message != "":
		return ev.Message
	}
	return ev.DriverMessage
}

// stopJob stops a job and returns the JobModifyIndex of the stopped
// version, which Nomad's client does not pass on from the reply.
func (s *Server) stopJob(c echo.Context, id string) (uint64, error) {
	w, cancel := s.write(c)
	defer cancel()
	var resp nomad.JobDeregisterResponse
	if _, err := s.nomad.Raw().Delete("/v1/job/"+url.PathEscape(id)+"?purge=false", &resp, w); err != nil {
		return 0, err
	}
	return resp.JobModifyIndex, nil
}

// purgeJob removes a stopped job.
func (s *Server) purgeJob(c echo.Context, id string) error {
	w, cancel := s.write(c)
	defer cancel()
	_, _, err := s.nomad.Jobs().Deregister(id, true, w)
	return err
}

// settledJob waits until every evaluation of a job has finished, then reads
// the job again: nil when it is gone.
func (s *Server) settledJob(c echo.Context, id string) (*nomad.Job, error) {
	q, cancel := s.query(c)
	defer cancel()
	for {
		evals, _, err := s.nomad.Jobs().Evaluations(id, q)
		if err != nil {
			return nil, nomadError("evaluations of "+id, err)
		}
		busy := false
		for _, e := range evals {
			switch e.Status {
			case "complete", "failed", "canceled":
			default:
				busy = true
			}
		}
		if !busy {
			break
		}
		select {
		case <-q.Context().Done():
			return nil, &Error{Status: http.StatusGatewayTimeout, Code: CodeNomadUnavailable,
				Err: errorf("job %s is stopped but its evaluations did not finish; delete it again", id)}
		case <-time.After(100 * time.Millisecond):
		}
	}
	job, _, err := s.nomad.Jobs().Info(id, q)
	if err != nil {
		if e := nomadError("job "+id, err); e.Status != http.StatusNotFound {
			return nil, e
		}
		return nil, nil
	}
	return job, nil
}
