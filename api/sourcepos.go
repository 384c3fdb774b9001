package api

import (
	"context"
	"errors"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
)

// sourceTimeout bounds asking the source server for its position: an
// unreachable server costs the status at most this.
const sourceTimeout = 3 * time.Second

// sourcePosition asks the job's source server, with the job's account,
// where it is now, and returns its flavor ("" when unknown). What it cannot
// learn, it says in the reply's Error.
func (s *Server) sourcePosition(c echo.Context, job *nomad.Job) (*SourcePosition, string) {
	out := &SourcePosition{}
	src := sourceTask(job)
	if src == nil || src.ConnectionConfig == nil {
		out.Error = "the job has no src task with a mysql_connection_config"
		return out, ""
	}
	if err := s.openJobPasswords(c, deref(job.ID), src); err != nil {
		out.Error = "cannot open the source's password: " + err.Error()
		return out, ""
	}
	cc := src.ConnectionConfig
	ctx, cancel := context.WithTimeout(c.Request().Context(), sourceTimeout)
	defer cancel()
	db, err := mysqlconn.Open(ctx, cc)
	if err != nil {
		out.Error = sourceUnreachable(ctx, err)
		return out, ""
	}
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)
	srv, err := mysqlconn.Detect(ctx, db)
	if err != nil {
		out.Error = mysqlconn.Redact(err, cc).Error()
		return out, ""
	}
	out.Server = srv.String()
	set, err := mysqlconn.ExecutedGTIDs(ctx, db, string(srv.Flavor))
	if err != nil {
		out.Error = mysqlconn.Redact(err, cc).Error()
		return out, ""
	}
	out.GtidSet = set
	file, pos, err := mysqlconn.BinlogEnd(ctx, db)
	if err != nil {
		out.Error = "binlog file and position unknown: " + mysqlconn.Redact(err, cc).Error()
	}
	out.File, out.Position = file, int64(min(pos, 1<<62))
	return out, string(srv.Flavor)
}

// sourceUnreachable says why the source could not be reached.
func sourceUnreachable(ctx context.Context, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "the source did not answer within " + sourceTimeout.String() + ": " + err.Error()
	}
	return "the source cannot be reached: " + err.Error()
}

// sourceTask is a job's src task config, defaults filled in; nil when it
// has none that decodes.
func sourceTask(job *nomad.Job) *config.Task {
	for _, tg := range job.TaskGroups {
		for _, t := range tg.Tasks {
			if t.Driver != driverName || t.Name != config.RoleSource {
				continue
			}
			ct, err := taskFromNomad(t.Config)
			if err != nil {
				return nil
			}
			ct.Defaults()
			return ct
		}
	}
	return nil
}
