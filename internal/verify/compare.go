package verify

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// tableRun compares one table.
type tableRun struct {
	v        *Verifier
	src, dst *sql.DB
	flavor   string
	index    int // in Report.Tables
	throttle *throttle
	p        *plan
	s, d     side // the source's and the destination's
	// size is the rows of the next chunk (walk.go: resize).
	size int
	// suspects are rows not confirmed yet, by keyString; found the rows
	// confirmed to differ (narrow.go).
	suspects map[string]*suspect
	found    []rowDiff
}

// set changes the table's report under the lock.
func (r *tableRun) set(f func(t *TableReport)) {
	r.v.update(func(rep *Report) { f(&rep.Tables[r.index]) })
}

// compare compares the table, repairs it when asked, and records the
// outcome in its report; only ctx's end stops the comparison as a whole.
func (r *tableRun) compare(ctx context.Context, it item) {
	started := time.Now()
	r.set(func(t *TableReport) { t.State = TableRunning })
	state, err := r.run(ctx, it)
	r.set(func(t *TableReport) {
		t.Duration = time.Since(started)
		t.State = state
		if err != nil {
			t.State = TableFailed
			if t.Reason != "" {
				t.Reason += "; "
			}
			t.Reason += err.Error()
		}
	})
	rep := r.v.Report().Tables[r.index]
	log := r.v.log.With("table", it.n.String(), "state", rep.State, "chunks", rep.Chunks, "rows", rep.Rows,
		"missing", rep.Missing, "extra", rep.Extra, "different", rep.Different, "unsettled", rep.Unsettled,
		"repaired", rep.Repaired, "duration", rep.Duration)
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("table not compared", "error", err)
		return
	}
	log.Info("table compared")
}

// run compares the table and returns its state.
func (r *tableRun) run(ctx context.Context, it item) (string, error) {
	p, err := newPlan(ctx, r.src, r.dst, it.n, it.tg)
	if err != nil {
		return TableFailed, err
	}
	r.p = p
	r.s, r.d = newSides(p)
	r.set(func(t *TableReport) { t.Key = p.keyNames() })
	r.suspects = map[string]*suspect{}
	if err := r.walk(ctx); err != nil {
		return TableFailed, err
	}
	if len(r.found) == 0 {
		rep := r.v.Report().Tables[r.index]
		if rep.Unsettled > 0 {
			return TableUnsettled, nil
		}
		return TableSame, nil
	}
	if !r.v.cfg.Repair || p.key == nil {
		if r.v.cfg.Repair {
			r.set(func(t *TableReport) { t.Reason = joinReason(t.Reason, "not repaired: the table has no key") })
		}
		return TableDiffers, nil
	}
	return r.repairAll(ctx)
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
