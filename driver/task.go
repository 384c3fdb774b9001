package driver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/preflight"
)

// preflightTimeout bounds the server checks a task runs before it starts.
const preflightTimeout = 30 * time.Second

// preflight runs the checks of the task's role. Failed checks are fatal (a
// setting to change); a server that cannot be reached is recoverable.
func (d *Driver) preflight(ctx context.Context, h *taskHandle) error {
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	var report *preflight.Report
	switch {
	case h.cfg.Name == config.RoleSource:
		report = preflight.Source(ctx, h.task)
	case h.task.IsKafka():
		// Kafka destinations are checked by the Kafka sink when it connects.
		return nil
	default:
		report = preflight.Dest(ctx, h.task)
	}
	if err := report.Err(); err != nil {
		if report.Connection != nil && !report.Connection.Validated {
			return retryablef("%w", err)
		}
		return fatalf("%w", err)
	}
	h.setAttr("server", report.Server.String())
	h.setAttr("server_version", report.Server.Version)
	d.emit(h, fmt.Sprintf("checks passed on %s", report.Server))
	h.logger.Info("checks passed", "server", report.Server.String())
	return nil
}

// work is what a running task does. checked says StartTask already ran the
// checks; a recovered task runs them again.
func (d *Driver) work(ctx context.Context, h *taskHandle, checked bool) error {
	if !checked {
		if err := d.openPassword(ctx, h, d.waitSecret); err != nil {
			return err
		}
		if err := d.preflight(ctx, h); err != nil {
			var se *StartError
			if errors.As(err, &se) {
				return se.Err
			}
			return err
		}
	}
	if h.cfg.Name == config.RoleSource {
		return d.runSource(ctx, h)
	}
	return d.runDest(ctx, h)
}

// emit sends a task event, shown by Nomad as a "Driver" event.
func (d *Driver) emit(h *taskHandle, msg string) {
	err := d.eventer.EmitEvent(&drivers.TaskEvent{
		TaskID:    h.cfg.ID,
		TaskName:  h.cfg.Name,
		AllocID:   h.cfg.AllocID,
		Timestamp: time.Now(),
		Message:   msg,
	})
	if err != nil {
		h.logger.Warn("emit task event", "error", err)
	}
}
