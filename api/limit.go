package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/internal/config"
)

// A job's speed limit set at run time lives in a Nomad Variable, which the
// plugin running the job's source reads every few seconds: no task
// restarts, and it outlives them. Without it the job config's limit holds.
const speedLimitItem = "limit"

// SpeedLimitPath is the Nomad Variable of a job's run-time speed limit (in
// Nomad's default namespace). Characters a variable path cannot hold are
// written ~XX.
func SpeedLimitPath(namespace, job string) string {
	return "dtle/speed-limit/" + pathToken(namespace) + "/" + pathToken(job)
}

func pathToken(s string) string {
	var b strings.Builder
	for i := range len(s) {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "~%02x", c)
		}
	}
	return b.String()
}

// ParseSpeedLimit reads a run-time speed limit as the variable holds it.
func ParseSpeedLimit(v *nomad.Variable) (*config.SpeedLimit, error) {
	var l config.SpeedLimit
	if err := json.Unmarshal([]byte(v.Items[speedLimitItem]), &l); err != nil {
		return nil, fmt.Errorf("the speed limit in Nomad variable %s: %w", v.Path, err)
	}
	if err := l.Validate("speed_limit"); err != nil {
		return nil, fmt.Errorf("the speed limit in Nomad variable %s: %w", v.Path, err)
	}
	return &l, nil
}

// SpeedLimit caps how fast a job reads its source (config.SpeedLimit, in
// the API's models): rows and bytes a second for the full copy and the
// binlog stage, 0 for no cap, with windows of the day in a time zone.
type SpeedLimit struct {
	SpeedRates
	// TimeZone is the IANA zone of the windows' times; "" is UTC.
	TimeZone string `json:"time_zone,omitempty" example:"Asia/Shanghai"`
	// Windows set other caps between two times of the day ("HH:MM", to
	// exclusive; over midnight when to is before from); the first that
	// holds wins.
	Windows []*SpeedWindow `json:"windows,omitempty"`
}

// SpeedRates are caps a second; 0 is no cap.
type SpeedRates struct {
	CopyRowsPerSecond    int64 `json:"copy_rows_per_second" example:"0"`
	CopyBytesPerSecond   int64 `json:"copy_bytes_per_second" example:"2097152"`
	BinlogRowsPerSecond  int64 `json:"binlog_rows_per_second" example:"0"`
	BinlogBytesPerSecond int64 `json:"binlog_bytes_per_second" example:"0"`
}

// SpeedWindow is a time of the day with caps of its own.
type SpeedWindow struct {
	From string `json:"from" example:"09:00"`
	To   string `json:"to" example:"18:00"`
	SpeedRates
}

// sameJSON copies in into out, which have the same JSON form.
func sameJSON[T any](in any) *T {
	b, err := json.Marshal(in)
	if err != nil || string(b) == "null" {
		return nil
	}
	var out T
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return &out
}

func (l *SpeedLimit) config() *config.SpeedLimit {
	if l == nil {
		return nil
	}
	return sameJSON[config.SpeedLimit](l)
}

func speedLimitOf(l *config.SpeedLimit) *SpeedLimit {
	if l == nil {
		return nil
	}
	return sameJSON[SpeedLimit](l)
}

func ratesOf(r config.Rates) SpeedRates { return *sameJSON[SpeedRates](r) }

// SpeedLimitStatus is a task's speed limit, in the monitor.
type SpeedLimitStatus struct {
	// Limit is the limit the task runs under; null for none.
	Limit *SpeedLimit `json:"limit"`
	// SetBy is "job_config" or "api" (POST /v2/job/speed_limit).
	SetBy string `json:"set_by" example:"job_config"`
	// InForce are the caps now (a window's, or the limit's own); 0 is none.
	InForce SpeedRates `json:"in_force"`
}

// NewSpeedLimitStatus is the monitor's form of a task's limit.
func NewSpeedLimitStatus(l *config.SpeedLimit, setBy string, caps config.Rates) *SpeedLimitStatus {
	return &SpeedLimitStatus{Limit: speedLimitOf(l), SetBy: setBy, InForce: ratesOf(caps)}
}

// SpeedLimitRequest is the body of POST /v2/job/speed_limit.
type SpeedLimitRequest struct {
	JobID string `json:"job_id" example:"job1-sync"`
	// SpeedLimit replaces the job's limit while it runs; null with Reset.
	SpeedLimit *SpeedLimit `json:"speed_limit"`
	// Reset drops the limit set through the API: the job config's holds again.
	Reset bool `json:"reset"`
}

// SpeedLimitResponse says a job's limits: the job config's, the one set
// through the API, and the caps in force now.
type SpeedLimitResponse struct {
	JobID     string      `json:"job_id"`
	JobConfig *SpeedLimit `json:"job_config"`
	API       *SpeedLimit `json:"api"`
	// InForce are the caps of the limit that holds (the API's, else the job
	// config's) at this time; 0 is none.
	InForce SpeedRates `json:"in_force"`
	Message string     `json:"message" example:"ok"`
}

// setSpeedLimit godoc
//
//	@Summary		Set a job's speed limit while it runs
//	@Description	Replaces the speed limit of a job (rows and bytes a second, for the full copy and the binlog stage, with windows of the day in a time zone) without restarting its tasks: the source takes it within a few seconds, and keeps it across restarts. reset=true drops it, and the job config's limit holds again. 0 is no cap.
//	@Tags			job
//	@Accept			json
//	@Produce		json
//	@Param			body	body		SpeedLimitRequest	true	"the job and its limit"
//	@Success		200		{object}	SpeedLimitResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_argument: a bad limit, named by field"
//	@Failure		401		{object}	ErrorResponse	"unauthorized"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable"
//	@Security		ApiToken
//	@Router			/v2/job/speed_limit [post]
func (s *Server) setSpeedLimit(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var req SpeedLimitRequest
	if _, err := decodeJSON(body, &req); err != nil {
		return badRequest("%w", err)
	}
	switch {
	case strings.TrimSpace(req.JobID) == "":
		return badRequest("job_id: required")
	case req.Reset && req.SpeedLimit != nil:
		return badRequest("speed_limit and reset: give one of them")
	case !req.Reset && req.SpeedLimit == nil:
		return badRequest("speed_limit: required (or reset: true to drop the one set through the API)")
	}
	limit := req.SpeedLimit.config()
	if err := limit.Validate("speed_limit"); err != nil {
		return badRequest("%w", err)
	}
	job, err := s.lookupJob(c, req.JobID)
	if err != nil {
		return err
	}
	if err := requireAction(c, jobType(job)+"-update"); err != nil {
		return err
	}
	w, cancel := s.write(c)
	defer cancel()
	path := SpeedLimitPath(nomad.DefaultNamespace, req.JobID)
	if req.Reset {
		if _, err := s.nomad.Variables().Delete(path, w); err != nil && !errors.Is(err, nomad.ErrVariablePathNotFound) {
			return nomadError("drop the speed limit of "+req.JobID, err)
		}
	} else {
		b, _ := json.Marshal(limit)
		v := &nomad.Variable{Namespace: nomad.DefaultNamespace, Path: path, Items: nomad.VariableItems{speedLimitItem: string(b)}}
		if _, _, err := s.nomad.Variables().Update(v, w); err != nil {
			return nomadError("set the speed limit of "+req.JobID, err)
		}
	}
	s.log.Info("job speed limit set", "job", req.JobID, "reset", req.Reset)
	return c.JSON(http.StatusOK, s.speedLimits(job, limit))
}

// getSpeedLimit godoc
//
//	@Summary		A job's speed limit
//	@Description	The job config's speed limit, the one set through the API (which holds while set), and the caps in force now.
//	@Tags			job
//	@Produce		json
//	@Param			job_id	query		string	true	"job id"
//	@Success		200		{object}	SpeedLimitResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_argument"
//	@Failure		401		{object}	ErrorResponse	"unauthorized"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such dtle job"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable"
//	@Security		ApiToken
//	@Router			/v2/job/speed_limit [get]
func (s *Server) getSpeedLimit(c echo.Context) error {
	id := strings.TrimSpace(c.QueryParam("job_id"))
	if id == "" {
		return badRequest("job_id: required")
	}
	job, err := s.lookupJob(c, id)
	if err != nil {
		return err
	}
	if err := requireAction(c, jobType(job)+"-detail"); err != nil {
		return err
	}
	q, cancel := s.query(c)
	defer cancel()
	var set *config.SpeedLimit
	v, _, err := s.nomad.Variables().Read(SpeedLimitPath(nomad.DefaultNamespace, id), q)
	switch {
	case err == nil:
		if set, err = ParseSpeedLimit(v); err != nil {
			return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Err: err}
		}
	case !errors.Is(err, nomad.ErrVariablePathNotFound):
		return nomadError("read the speed limit of "+id, err)
	}
	return c.JSON(http.StatusOK, s.speedLimits(job, set))
}

// speedLimits is the reply for a job whose limit set through the API is set
// (nil: none).
func (s *Server) speedLimits(job *nomad.Job, set *config.SpeedLimit) SpeedLimitResponse {
	out := SpeedLimitResponse{JobID: deref(job.ID), API: speedLimitOf(set), Message: MessageOK}
	var jobConfig *config.SpeedLimit
	for _, tg := range job.TaskGroups {
		for _, t := range tg.Tasks {
			if t.Name != config.RoleSource || t.Driver != driverName {
				continue
			}
			if task, err := taskFromNomad(t.Config); err == nil {
				jobConfig = task.SpeedLimit
			}
		}
	}
	out.JobConfig = speedLimitOf(jobConfig)
	holds := jobConfig
	if set != nil {
		holds = set
	}
	caps, _ := holds.At(time.Now())
	out.InForce = ratesOf(caps)
	return out
}
