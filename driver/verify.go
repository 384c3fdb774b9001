package driver

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/secret"
	"github.com/dtle-io/dtle/internal/verify"
)

// runVerifySchedule compares the job's tables on the source task's verify
// schedule until ctx ends: a run every interval after the last one ended.
// Each report is written to the job's Nomad Variable
// (api.VerifyReportPath), where the API reads it. A run that cannot start
// (the job still copying, the destination unknown) is reported too.
func (d *Driver) runVerifySchedule(ctx context.Context, h *taskHandle, client *nomad.Client) {
	sched := h.task.Verify
	if sched == nil {
		return
	}
	every := sched.Interval()
	log := h.logger.Named("verify")
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		id := rand.Text()
		rep, err := d.verifyOnce(ctx, h, client)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Warn("scheduled comparison failed", "verify_id", id, "error", err)
			if rep.State == "" {
				rep = verify.Report{JobID: h.cfg.JobID, State: verify.StateFailed, Error: err.Error(),
					Repair: sched.Repair, Started: time.Now(), Finished: time.Now(), Tables: []verify.TableReport{}}
			}
		} else {
			log.Info("scheduled comparison done", "verify_id", id, "differences", rep.Differences())
		}
		if err := writeVerifyReport(ctx, h, client, id, rep); err != nil {
			log.Warn("cannot keep the scheduled comparison's report in Nomad", "verify_id", id, "error", err)
		}
	}
}

// verifyOnce runs one comparison of the schedule; the report is empty when
// it could not start.
func (d *Driver) verifyOnce(ctx context.Context, h *taskHandle, client *nomad.Client) (verify.Report, error) {
	sched := h.task.Verify
	dest, err := d.destConnection(ctx, h, client)
	if err != nil {
		return verify.Report{}, err
	}
	cfg := verify.Config{JobID: h.cfg.JobID, Source: h.task, Dest: dest, Repair: sched.Repair,
		RowsPerSecond: sched.RowsPerSecond, Logger: h.logger.Named("verify")}
	for _, n := range sched.TableNames() {
		cfg.Tables = append(cfg.Tables, change.TableName{Schema: n[0], Table: n[1]})
	}
	v, err := verify.New(cfg)
	if err != nil {
		return verify.Report{}, err
	}
	return v.Run(ctx)
}

// destConnection reads the job's destination task from Nomad and opens its
// password as that task does.
func (d *Driver) destConnection(ctx context.Context, h *taskHandle, client *nomad.Client) (*config.MySQLConnection, error) {
	q := (&nomad.QueryOptions{Namespace: h.cfg.Namespace}).WithContext(ctx)
	job, _, err := client.Jobs().Info(h.cfg.JobID, q)
	if err != nil {
		return nil, fmt.Errorf("read job %s from nomad: %w", h.cfg.JobID, err)
	}
	_, dest, err := api.VerifyTasks(job)
	if err != nil {
		return nil, err
	}
	c := dest.ConnectionConfig
	switch {
	case dest.PasswordEncrypted:
		d.mu.RLock()
		key := d.rsaKey
		d.mu.RUnlock()
		if c.Password, err = secret.Decrypt(key, c.Password); err != nil {
			return nil, fmt.Errorf("the destination's mysql_password: %w", err)
		}
	case dest.PasswordSealed:
		key, err := d.secret.get(ctx, d.nodeConfig().nomadConn())
		if err != nil {
			return nil, fmt.Errorf("the cluster's secret, which opens the destination's mysql_password: %w", err)
		}
		b := secret.Binding{Namespace: h.cfg.Namespace, Job: h.cfg.JobID, Task: config.RoleDest, Host: c.Host, Port: c.Port, User: c.User}
		if c.Password, err = secret.Open(key, b, c.Password); err != nil {
			return nil, fmt.Errorf("the destination's mysql_password: %w", err)
		}
	}
	return c, nil
}

// writeVerifyReport keeps rep as the job's latest scheduled comparison.
func writeVerifyReport(ctx context.Context, h *taskHandle, client *nomad.Client, id string, rep verify.Report) error {
	ns := h.cfg.Namespace
	if ns == "" {
		ns = nomad.DefaultNamespace
	}
	v, err := api.ScheduledVerifyVariable(ns, h.cfg.JobID, id, rep)
	if err != nil {
		return err
	}
	w := (&nomad.WriteOptions{Namespace: nomad.DefaultNamespace}).WithContext(ctx)
	if _, _, err := client.Variables().Update(v, w); err != nil {
		return fmt.Errorf("write nomad variable %s: %w", v.Path, err)
	}
	return nil
}
