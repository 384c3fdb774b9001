package driver

import (
	"context"
	"errors"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/throttle"
)

// speedLimitPoll is how often a source task reads its job's run-time speed
// limit (api.SpeedLimitPath) from Nomad.
const speedLimitPoll = 2 * time.Second

// speedLimit is a source task's limiter and where its limit came from.
type speedLimit struct {
	limiter *throttle.Limiter
	setBy   string // "job_config" or "api"
}

// watchSpeedLimit keeps the task's limiter on its job's speed limit: the one
// set through the API while there is one, else the job config's. It reads
// Nomad every speedLimitPoll until ctx ends; a read that fails keeps the
// limit in force.
func (d *Driver) watchSpeedLimit(ctx context.Context, h *taskHandle, client *nomad.Client) {
	ns := h.cfg.Namespace
	if ns == "" {
		ns = nomad.DefaultNamespace
	}
	path := api.SpeedLimitPath(ns, h.cfg.JobID)
	var applied uint64 // the variable's modify index in force; 0: the job config's
	for {
		q := (&nomad.QueryOptions{Namespace: nomad.DefaultNamespace}).WithContext(ctx)
		v, _, err := client.Variables().Read(path, q)
		switch {
		case err == nil && v.ModifyIndex != applied:
			l, perr := api.ParseSpeedLimit(v)
			if perr != nil {
				h.logger.Warn("run-time speed limit ignored", "error", perr)
				applied = v.ModifyIndex // said once, not every poll
				break
			}
			h.speed.limiter.Set(l)
			h.setSpeedLimitSource("api")
			applied = v.ModifyIndex
			h.logger.Info("speed limit set through the API", "limit", describeLimit(l))
			d.emit(h, "speed limit set through the API: "+describeLimit(l))
		case errors.Is(err, nomad.ErrVariablePathNotFound) && applied != 0:
			h.speed.limiter.Set(h.task.SpeedLimit)
			h.setSpeedLimitSource("job_config")
			applied = 0
			h.logger.Info("speed limit of the job config again", "limit", describeLimit(h.task.SpeedLimit))
			d.emit(h, "speed limit of the job config again: "+describeLimit(h.task.SpeedLimit))
		case err != nil && !errors.Is(err, nomad.ErrVariablePathNotFound) && ctx.Err() == nil:
			h.logger.Debug("cannot read the run-time speed limit; keeping the one in force", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(speedLimitPoll):
		}
	}
}

// describeLimit is a limit for logs and events.
func describeLimit(l *config.SpeedLimit) string {
	if l == nil {
		return "none"
	}
	return l.String()
}

// speedLimitStatus is the task's limit for the monitor; nil for a task
// without a limiter (a destination).
func (h *taskHandle) speedLimitStatus() *api.SpeedLimitStatus {
	if h.speed.limiter == nil {
		return nil
	}
	l, caps := h.speed.limiter.Limit()
	h.mu.RLock()
	defer h.mu.RUnlock()
	return api.NewSpeedLimitStatus(l, h.speed.setBy, caps)
}

func (h *taskHandle) setSpeedLimitSource(by string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.speed.setBy = by
}
