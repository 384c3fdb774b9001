package api

import (
	"encoding/json"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/internal/config"
)

// orderByCreateTime is the one order_by of the 4.x job list (and its
// default): oldest first, then by job id.
const orderByCreateTime = "job_create_time"

// listFilter is what GET /v2/jobs/{type} keeps.
type listFilter struct {
	idPrefix, status   string
	srcHost, srcPort   string
	destHost, destPort string
}

func readListFilter(c echo.Context) (*listFilter, error) {
	f := &listFilter{idPrefix: c.QueryParam("filter_job_id"), status: c.QueryParam("filter_job_status"),
		srcHost: c.QueryParam("filter_job_src_ip"), srcPort: c.QueryParam("filter_job_src_port"),
		destHost: c.QueryParam("filter_job_dest_ip"), destPort: c.QueryParam("filter_job_dest_port")}
	for _, p := range [][2]string{{"filter_job_src_port", f.srcPort}, {"filter_job_dest_port", f.destPort}} {
		if n, err := strconv.Atoi(p[1]); p[1] != "" && (err != nil || n <= 0 || n > 65535) {
			return nil, badRequest("%s: must be a port number 1-65535, got %q", p[0], p[1])
		}
	}
	if o := c.QueryParam("order_by"); o != "" && o != orderByCreateTime {
		return nil, badRequest("order_by: %q is not supported; use %s", o, orderByCreateTime)
	}
	return f, nil
}

// keeps reports whether a job passes the filter: its id starts with
// filter_job_id, its status is filter_job_status, and one of its source
// (destination) addresses has the host and port asked for.
func (f *listFilter) keeps(it *JobListItemV2) bool {
	return strings.HasPrefix(it.JobID, f.idPrefix) && (f.status == "" || f.status == it.JobStatus) &&
		addrMatches(it.SrcAddrList, f.srcHost, f.srcPort) && addrMatches(it.DstAddrList, f.destHost, f.destPort)
}

// addrMatches reports whether one of addrs (host:port) has host and port,
// either of which may be empty for any.
func addrMatches(addrs []string, host, port string) bool {
	if host == "" && port == "" {
		return true
	}
	for _, a := range addrs {
		h, p, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		if (host == "" || strings.EqualFold(host, h)) && (port == "" || port == p) {
			return true
		}
	}
	return false
}

// listJobsV2 godoc
//
//	@Summary		List jobs of a type (4.x)
//	@Description	Every dtle job of the route's type (as GET /v2/jobs types them) with its addresses, status (Nomad's, or paused), its latest allocation's status per task group, its steps and when it was first registered. Filters: filter_job_id (a prefix of the job id), filter_job_status, filter_job_src_ip and filter_job_src_port, filter_job_dest_ip and filter_job_dest_port (a Kafka destination's are its brokers'). Ordered by job_create_time, oldest first. A step's schedule here is 0 or 100; the detail shows a running full copy's progress.
//	@Tags			job (4.x)
//	@Produce		json
//	@Param			filter_job_id			query		string	false	"job id prefix"
//	@Param			filter_job_src_ip		query		string	false	"source host"
//	@Param			filter_job_src_port		query		string	false	"source port"
//	@Param			filter_job_dest_ip		query		string	false	"destination host"
//	@Param			filter_job_dest_port	query		string	false	"destination port"
//	@Param			filter_job_status		query		string	false	"job status"	Enums(pending, running, dead, paused)
//	@Param			order_by				query		string	false	"order"			Enums(job_create_time)	default(job_create_time)
//	@Success		200						{object}	JobListRespV2
//	@Failure		400						{object}	ErrorResponse	"invalid_request: a bad parameter; the message names it"
//	@Failure		401						{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403						{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		500						{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502						{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/jobs/migration [get]
//	@Router			/v2/jobs/sync [get]
//	@Router			/v2/jobs/subscription [get]
func (s *Server) listJobsV2(c echo.Context) error {
	jt := routeJobType(c)
	f, err := readListFilter(c)
	if err != nil {
		return err
	}
	q, cancel := s.query(c)
	defer cancel()
	stubs, _, err := s.nomad.Jobs().ListOptions(&nomad.JobListOptions{Fields: &nomad.JobListFields{Meta: true}}, q)
	if err != nil {
		return nomadError("list jobs", err)
	}
	allocs, _, err := s.nomad.Allocations().List(q)
	if err != nil {
		return nomadError("list allocations", err)
	}
	sortAllocsNewestFirst(allocs)
	byJob := map[string][]*nomad.AllocationListStub{}
	for _, a := range allocs {
		byJob[a.JobID] = append(byJob[a.JobID], a)
	}
	out := JobListRespV2{Jobs: []JobListItemV2{}, Message: MessageOK}
	for _, j := range stubs {
		if !jobVisible(c, j.Meta) {
			continue
		}
		it, err := s.listItemV2(q, j, jt, byJob[j.ID])
		if err != nil {
			return err
		}
		if it != nil && f.keeps(it) {
			out.Jobs = append(out.Jobs, *it)
		}
	}
	sort.SliceStable(out.Jobs, func(a, b int) bool {
		x, y := out.Jobs[a], out.Jobs[b]
		if x.JobCreateTime != y.JobCreateTime {
			return x.JobCreateTime < y.JobCreateTime
		}
		return x.JobID < y.JobID
	})
	return c.JSON(http.StatusOK, out)
}

// listItemV2 is a job as the 4.x list shows it, nil when it is not a dtle
// job of type jt (or is gone). A job registered through the API is listed
// from its meta; one run from a job file costs a read of the job.
func (s *Server) listItemV2(q *nomad.QueryOptions, j *nomad.JobListStub, jt string, allocs []*nomad.AllocationListStub) (*JobListItemV2, error) {
	var job *nomad.Job
	typ := j.Meta[metaJobType]
	if checkJobType(typ) != nil {
		var err error
		if job, err = s.jobIfExists(q, j.ID); err != nil || job == nil {
			return nil, err
		}
		typ = jobType(job)
	}
	if typ != jt {
		return nil, nil
	}
	sum, ok := summaryFromMeta(j.Meta)
	if !ok {
		if job == nil {
			var err error
			if job, err = s.jobIfExists(q, j.ID); err != nil || job == nil {
				return nil, err
			}
		}
		sum = jobSummaryOf(job)
	}
	created := j.Meta[metaCreateTime]
	if created == "" {
		created = time.Unix(0, j.SubmitTime).UTC().Format(time.RFC3339)
	}
	it := &JobListItemV2{JobID: j.ID, JobStatus: j.Status, JobCreateTime: created, AllocationStatus: map[string]string{},
		SrcAddrList: sum.SrcAddrs, DstAddrList: sum.DestAddrs, SrcDatabaseType: sum.SrcDBType, DstDatabaseType: sum.DestDBType,
		Topic: sum.Topic, User: jobOwner(j.Meta),
		JobSteps: jobSteps(sum.FullCopy, created, lastStage(allocs), DumpProgress{})}
	if j.Meta[metaPaused] == "true" {
		it.JobStatus = JobStatusPaused
	}
	for _, a := range allocs { // newest first
		if _, ok := it.AllocationStatus[a.TaskGroup]; !ok {
			it.AllocationStatus[a.TaskGroup] = a.ClientStatus
		}
	}
	return it, nil
}

// summaryFromMeta is the summary a registration left in a job's meta.
func summaryFromMeta(meta map[string]string) (jobSummary, bool) {
	var s jobSummary
	raw := meta[metaSummary]
	if raw == "" || json.Unmarshal([]byte(raw), &s) != nil || s.SrcAddrs == nil || s.DestAddrs == nil {
		return jobSummary{}, false
	}
	return s, true
}

// jobOwner is a job's owner as "tenant:user", its tenant alone when no
// user registered it (the api_token), "" without one.
func jobOwner(meta map[string]string) string {
	t, u := meta[MetaTenant], meta[metaUser]
	if u == "" {
		return t
	}
	return t + ":" + u
}

// jobIfExists reads a job; nil when it is gone.
func (s *Server) jobIfExists(q *nomad.QueryOptions, id string) (*nomad.Job, error) {
	job, _, err := s.nomad.Jobs().Info(id, q)
	if err != nil {
		if e := nomadError("job "+id, err); e.Status != http.StatusNotFound {
			return nil, e
		}
		return nil, nil
	}
	return job, nil
}

// jobPosition godoc
//
//	@Summary		Where a job's source reads (4.x)
//	@Description	The source task's current position, read from the plugin that runs it (on whichever node, as /v2/monitor/task does): its GTID set, or binlog "file:position" on a server without GTIDs; empty while it has not read the binlog yet. A job whose source is not running (paused, not started) is a 404.
//	@Tags			job (4.x)
//	@Produce		json
//	@Param			job_id	query		string	true	"job id"
//	@Success		200		{object}	JobPositionResp
//	@Failure		400		{object}	ErrorResponse	"invalid_request: job_id is missing"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403		{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such job, or its source task is not running"
//	@Failure		500		{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502		{object}	ErrorResponse	"unavailable (the API of the task's node failed or is not reachable) or nomad_unavailable"
//	@Security		ApiToken
//	@Router			/v2/job/position [get]
func (s *Server) jobPosition(c echo.Context) error {
	id := c.QueryParam("job_id")
	if id == "" {
		return badRequest("job_id: required")
	}
	alloc, err := s.runningAlloc(c, id, config.RoleSource)
	if err != nil {
		return err
	}
	q, cancel := s.query(c)
	defer cancel()
	m, err := s.figures(q.Context(), alloc, config.RoleSource, forwardAuthorization(c))
	if err != nil {
		return err
	}
	pos := ""
	if cc := m.CurrentCoordinates; cc != nil {
		pos = cc.GtidSet
		if pos == "" && cc.File != "" {
			pos = cc.File + ":" + strconv.FormatInt(cc.Position, 10)
		}
	}
	return c.JSON(http.StatusOK, JobPositionResp{Position: pos, Message: MessageOK})
}
