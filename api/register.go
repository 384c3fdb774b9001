package api

import (
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/internal/config"
)

// registerMode says what a registration may do with a job that has its id.
type registerMode int

const (
	// upsertJob creates the job or replaces it (3.x POST /v2/job/{type}).
	upsertJob registerMode = iota
	// createJobOnly refuses a job id in use (4.x .../create).
	createJobOnly
	// updateJobOnly refuses a job id not in use (4.x .../update).
	updateJobOnly
)

// registration is one job to register with Nomad: a normalized job config
// and what the API generation that sent it adds.
type registration struct {
	jobType string
	cfg     *JobConfig
	mode    registerMode
	// restartAttempts is each task's restart attempts (4.x retry); 0 keeps
	// nomadJob's default.
	restartAttempts int
	// srcDBType and destDBType name the servers' kind in the job list
	// ("MySQL" when empty).
	srcDBType, destDBType string
	// meta is added to the job's meta.
	meta map[string]string
	// paused registers the job paused (a reverse job, until reverse_start).
	paused bool
	// tenant, for a new job, is the tenant it belongs to when not the
	// caller's (a reverse job belongs to the original job's tenant).
	tenant string
}

// register registers a job with Nomad the one way both API generations
// do: the node ids it names must exist and some node must have a healthy
// driver; an update keeps the stored passwords where it says "*" (only for
// the same server and user), keeps a pause, and only replaces the version
// it read; every password is stored sealed or encrypted, never in clear.
func (s *Server) register(c echo.Context, r *registration) (*nomad.JobRegisterResponse, error) {
	j := r.cfg
	src, dest := j.tasks()
	q, cancel := s.query(c)
	defer cancel()
	if err := checkNodeIDs(j.SrcTask.NodeID, j.DestTask.NodeID); err != nil {
		return nil, err
	}
	nodes, err := s.healthyNodes(c, q)
	if err != nil {
		return nil, err
	}
	if err := nodesExist(nodes, j.SrcTask.NodeID, j.DestTask.NodeID); err != nil {
		return nil, err
	}
	old, err := s.existingJob(q, r)
	if err != nil {
		return nil, err
	}
	tenant, err := ownerFor(c, r, old)
	if err != nil {
		return nil, err
	}
	if err := keepPasswords(old, map[string]*config.Task{config.RoleSource: src, config.RoleDest: dest}); err != nil {
		return nil, err
	}
	seal, err := s.sealer(c, j.JobID)
	if err != nil {
		return nil, err
	}
	if err := sealPasswords(s.cfg.RSAKey, seal, src, dest); err != nil {
		return nil, err
	}
	job, err := j.nomadJob(r.jobType, src, dest)
	if err != nil {
		return nil, err
	}
	if err := r.decorate(job, old, src, dest); err != nil {
		return nil, err
	}
	setJobTenant(c, job, old, tenant)
	var index uint64
	if old != nil {
		index = deref(old.JobModifyIndex)
		if old.Meta[metaPaused] == "true" {
			pause(job)
		}
	}
	if r.paused {
		pause(job)
	}
	w, wcancel := s.write(c)
	defer wcancel()
	resp, _, err := s.nomad.Jobs().EnforceRegister(job, index, w)
	if err != nil {
		return nil, nomadError("register job "+j.JobID, err)
	}
	s.log.Info("job registered", "job", j.JobID, "type", r.jobType)
	return resp, nil
}

// existingJob is the dtle job a registration replaces, nil for a new one,
// or why the registration may not go on.
func (s *Server) existingJob(q *nomad.QueryOptions, r *registration) (*nomad.Job, error) {
	id := r.cfg.JobID
	old, _, err := s.nomad.Jobs().Info(id, q)
	switch {
	case err == nil && !isDtleJob(old):
		return nil, &Error{Status: http.StatusConflict, Code: CodeConflict, Err: errorf("job_id %q: a Nomad job that is not a dtle job has this id", id)}
	case err == nil:
	case nomadError("", err).Status != http.StatusNotFound:
		return nil, nomadError("look up job "+id, err)
	default:
		old = nil
	}
	switch {
	case r.mode == createJobOnly && old != nil:
		return nil, &Error{Status: http.StatusConflict, Code: CodeConflict,
			Err: errorf("job_id %q: a job with this id exists; change it with /v2/job/%s/update", id, jobType(old))}
	case r.mode == updateJobOnly && old == nil:
		return nil, notFound("job_id %q: no such job; create it with /v2/job/%s/create", id, r.jobType)
	case r.mode != upsertJob && old != nil && jobType(old) != r.jobType:
		return nil, &Error{Status: http.StatusConflict, Code: CodeConflict,
			Err: errorf("job_id %q is a %s job; update it with /v2/job/%s/update", id, jobType(old), jobType(old))}
	}
	return old, nil
}

// Nomad job meta the API keeps beside the task configs.
const (
	// metaCreateTime is when the job was first registered (RFC 3339).
	metaCreateTime = "dtle_create_time"
	// metaSummary is the job's jobSummary as JSON, for the 4.x job list.
	metaSummary = "dtle_summary"
	// metaUIConfig is the 4.x body the job was last registered with,
	// defaults filled and passwords masked, as JSON.
	metaUIConfig = "dtle_ui_config"
	// metaUser is the user that registered the job (its tenant is
	// MetaTenant).
	metaUser = "dtle_user"
)

// ownerFor checks that the caller may register r over old (nil: a new
// job) and returns the tenant the job is to belong to: a new job needs
// "<type>-create" and gets the caller's tenant (tenantForNewJob); an
// existing one must be the caller's tenant's (a job of another tenant is a
// 404 to an update, and a 409 to a create: its id is taken) and needs
// "<type>-update" of its type and of the type it becomes; it keeps its
// tenant.
func ownerFor(c echo.Context, r *registration, old *nomad.Job) (string, error) {
	if old == nil {
		if err := requireAction(c, r.jobType+"-create"); err != nil {
			return "", err
		}
		return tenantForNewJob(c, r.tenant)
	}
	id := r.cfg.JobID
	if err := checkJobTenant(c, old.Meta, id); err != nil {
		if r.mode == updateJobOnly {
			return "", err
		}
		return "", &Error{Status: http.StatusConflict, Code: CodeConflict, Err: errorf("job_id %q is in use: choose another", id)}
	}
	for _, jt := range []string{jobType(old), r.jobType} {
		if err := requireAction(c, jt+"-update"); err != nil {
			return "", err
		}
	}
	return jobTenant(old.Meta), nil
}

// setJobTenant is the one place where a registered job gets its owner:
// tenant (ownerFor's) goes into the job's meta as MetaTenant, and the user
// as metaUser: for a new job the caller (none for the api_token or an open
// route), for an update the one that registered the version it replaces.
func setJobTenant(c echo.Context, job, old *nomad.Job, tenant string) {
	job.Meta[MetaTenant] = tenant
	user := callerOf(c).username
	if old != nil {
		user = old.Meta[metaUser]
	}
	if user != "" {
		job.Meta[metaUser] = user
	}
}

// decorate adds to a job what the registration says beside its config:
// restart attempts, meta, the time of its first registration and its
// summary.
func (r *registration) decorate(job, old *nomad.Job, src, dest *config.Task) error {
	if r.restartAttempts > 0 {
		for _, tg := range job.TaskGroups {
			tg.RestartPolicy.Attempts = ptr(r.restartAttempts)
		}
	}
	maps.Copy(job.Meta, r.meta)
	job.Meta[metaCreateTime] = createTime(old, time.Now())
	sum := summarize(src, dest)
	if r.srcDBType != "" {
		sum.SrcDBType = r.srcDBType
	}
	if r.destDBType != "" && !dest.IsKafka() {
		sum.DestDBType = r.destDBType
	}
	b, err := json.Marshal(sum)
	if err != nil {
		return errorf("job summary: %w", err)
	}
	job.Meta[metaSummary] = string(b)
	return nil
}

// createTime is the first registration time of a job whose stored version
// is old (nil for a new job registered now).
func createTime(old *nomad.Job, now time.Time) string {
	if old != nil {
		if t := old.Meta[metaCreateTime]; t != "" {
			return t
		}
		if old.SubmitTime != nil {
			return time.Unix(0, *old.SubmitTime).UTC().Format(time.RFC3339)
		}
	}
	return now.UTC().Format(time.RFC3339)
}

// Kinds of server a job reads from or writes to, as the 4.x API names them.
const (
	dbTypeMySQL   = "MySQL"
	dbTypeMariaDB = "MariaDB"
	dbTypeKafka   = "Kafka"
)

// jobSummary is what the 4.x job list shows of a job's config.
type jobSummary struct {
	SrcAddrs   []string `json:"src_addrs"`
	DestAddrs  []string `json:"dest_addrs"`
	SrcDBType  string   `json:"src_database_type"`
	DestDBType string   `json:"dest_database_type"`
	Topic      string   `json:"topic,omitempty"`
	// FullCopy: the job copies the tables before it follows the binlog
	// (no gtid to start from).
	FullCopy bool `json:"full_copy"`
}

// summarize is the summary of a job's task configs.
func summarize(src, dest *config.Task) jobSummary {
	s := jobSummary{SrcAddrs: []string{}, DestAddrs: []string{}, SrcDBType: dbTypeMySQL, DestDBType: dbTypeMySQL,
		FullCopy: src == nil || src.Gtid == ""}
	if src != nil && src.ConnectionConfig != nil {
		s.SrcAddrs = append(s.SrcAddrs, hostPort(src.ConnectionConfig))
	}
	switch {
	case dest == nil:
	case dest.IsKafka():
		s.DestAddrs = append(s.DestAddrs, dest.KafkaBrokerAddrs...)
		s.DestDBType, s.Topic = dbTypeKafka, dest.KafkaTopic
	case dest.ConnectionConfig != nil:
		s.DestAddrs = append(s.DestAddrs, hostPort(dest.ConnectionConfig))
	}
	return s
}

// hostPort is a server's address as host:port, the port defaulted.
func hostPort(c *config.MySQLConnection) string {
	port := c.Port
	if port == 0 {
		port = config.DefaultMySQLPort
	}
	return joinHostPort(c.Host, port)
}

// jobSummaryOf reads a job's summary from its meta, or works it out from
// its task configs (a job run from a job file has no such meta).
func jobSummaryOf(job *nomad.Job) jobSummary {
	var s jobSummary
	if raw := job.Meta[metaSummary]; raw != "" && json.Unmarshal([]byte(raw), &s) == nil && s.SrcAddrs != nil {
		return s
	}
	src, dest := jobTasks(job)
	return summarize(src, dest)
}

// jobTasks are a job's dtle task configs, nil where missing.
func jobTasks(job *nomad.Job) (src, dest *config.Task) {
	for _, tg := range job.TaskGroups {
		for _, t := range tg.Tasks {
			if t.Driver != driverName {
				continue
			}
			ct, err := taskFromNomad(t.Config)
			if err != nil {
				continue
			}
			switch strings.ToLower(t.Name) {
			case config.RoleSource:
				src = ct
			case config.RoleDest:
				dest = ct
			}
		}
	}
	return src, dest
}

// joinHostPort is host:port.
func joinHostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
