package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/internal/verify"
)

// A job whose source has a verify schedule (the task option verify) is
// compared by the plugin running that source; it keeps the latest report of
// those runs in a Nomad Variable, which every API node reads, so that GET
// /v2/job/verify and /v2/job/status show it when the node asked has no
// newer comparison of its own.
const (
	verifyReportItem = "report"
	verifyIDItem     = "verify_id"
)

// VerifyReportPath is the Nomad Variable of a job's latest scheduled
// comparison (in Nomad's default namespace).
func VerifyReportPath(namespace, job string) string {
	return "dtle/verify/" + pathToken(namespace) + "/" + pathToken(job)
}

// ScheduledVerifyVariable is the variable that holds a scheduled
// comparison's report.
func ScheduledVerifyVariable(namespace, job, verifyID string, rep verify.Report) (*nomad.Variable, error) {
	b, err := json.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("encode the verify report: %w", err)
	}
	return &nomad.Variable{Namespace: nomad.DefaultNamespace, Path: VerifyReportPath(namespace, job),
		Items: nomad.VariableItems{verifyReportItem: string(b), verifyIDItem: verifyID}}, nil
}

// scheduledVerify reads a job's latest scheduled comparison; nil when there
// is none.
func (s *Server) scheduledVerify(ctx context.Context, id string) (*VerifyResponse, error) {
	q := (&nomad.QueryOptions{Namespace: nomad.DefaultNamespace}).WithContext(ctx)
	v, _, err := s.nomad.Variables().Read(VerifyReportPath(nomad.DefaultNamespace, id), q)
	if errors.Is(err, nomad.ErrVariablePathNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rep verify.Report
	if err := json.Unmarshal([]byte(v.Items[verifyReportItem]), &rep); err != nil {
		return nil, fmt.Errorf("the verify report in Nomad variable %s: %w", v.Path, err)
	}
	out := verifyResponse(v.Items[verifyIDItem], rep)
	out.Scheduled = true
	return &out, nil
}

// latestVerify is the job's latest comparison: this node's own, or the
// scheduled one when it started later; nil when there is neither. A
// scheduled report that cannot be read is logged and left out.
func (s *Server) latestVerify(c echo.Context, id string) *VerifyResponse {
	var own *VerifyResponse
	if r := s.verify.latest(id); r != nil {
		v := verifyResponse(r.id, r.v.Report())
		own = &v
	}
	sched, err := s.scheduledVerify(c.Request().Context(), id)
	if err != nil {
		s.log.Warn("cannot read the job's scheduled comparison", "job", id, "error", err)
	}
	switch {
	case sched == nil:
		return own
	case own == nil || sched.StartedAt > own.StartedAt:
		return sched
	}
	return own
}
