package applier

import (
	"context"

	"github.com/dtle-io/dtle/internal/change"
)

// A job goes through stages: none yet, the full copy (change.StageFull),
// then the binlog (change.StageIncr). The copier works in the first, the
// replayer in the second; the steps between them are here.

// setStage changes the stage, for the applier and its readers.
func (a *Applier) setStage(s string) {
	a.stage = s
	a.Stats.Stage.Store(&s)
}

// startCopy enters the full copy at its first table.
func (a *Applier) startCopy(ctx context.Context, flavor string) error {
	if a.stage != "" {
		return nil
	}
	a.setStage(change.StageFull)
	if err := writeCheckpoint(ctx, a.conn, a.job, flavor, change.StageFull, ""); err != nil {
		return err
	}
	a.notify("job_stage_full")
	return nil
}

// copyDone starts the binlog stage at the earliest snapshot any table was
// copied at; events a table already holds are skipped by its own snapshot.
func (a *Applier) copyDone(ctx context.Context, m *change.Message) error {
	if err := a.copier.waitChunks(); err != nil {
		return err
	}
	cp, err := readCheckpoint(ctx, a.db, a.job)
	if err != nil {
		return err
	}
	start, err := change.BinlogStart(m.Flavor, m.Snapshot, cp.Tables)
	if err != nil {
		return err
	}
	if err := writeCheckpoint(ctx, a.conn, a.job, m.Flavor, change.StageIncr, start.String()); err != nil {
		return err
	}
	a.setStage(change.StageIncr)
	cp.Flavor = m.Flavor
	if err := a.replayer.begin(cp, start); err != nil {
		return err
	}
	a.log.Info("full copy done", "binlog_from", start.String())
	a.notify("job_stage_incr")
	return nil
}
