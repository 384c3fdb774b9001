package applier

import (
	"context"
	"fmt"

	"github.com/dtle-io/dtle/internal/change"
)

// The replayer's applied set (executed) is what the checkpoint says is
// applied. A commit writes the next one in its own transaction (writeNext)
// and adopts it once committed (adopt); a new session resumes from the one
// read back (resume), and the end of the full copy starts it (begin).

// resume adopts the checkpoint a new session starts from.
func (r *replayer) resume(cp *change.Checkpoint) error {
	r.flavor = cp.Flavor
	if cp.Stage == change.StageIncr {
		gs := cp.GTIDSet
		r.stats.GTIDSet.Store(&gs)
	}
	if cp.Flavor != "" && cp.Stage == change.StageIncr {
		var err error
		if r.executed, err = change.ParseGTIDSet(cp.Flavor, cp.GTIDSet); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	if err := r.setCopyPos(cp); err != nil {
		return err
	}
	r.tolerant = true
	return nil
}

// begin starts the binlog stage at start, once the full copy is done; cp
// holds the snapshots the tables were copied at.
func (r *replayer) begin(cp *change.Checkpoint, start change.GTIDSet) error {
	r.flavor, r.executed = cp.Flavor, start
	return r.setCopyPos(cp)
}

// setCopyPos records the snapshot each finished table was copied at, for
// skipping binlog events its rows already hold; positions the applied set
// has passed are left out.
func (r *replayer) setCopyPos(cp *change.Checkpoint) error {
	r.copies.Store(nil)
	if cp.Flavor == "" {
		return nil
	}
	s, err := change.NewCopySnapshots(cp.Flavor, cp.Tables, r.executed)
	if err != nil {
		return err
	}
	r.copies.Store(s)
	return nil
}

// writeNext writes, in ex's transaction, the applied set extended by txns
// and returns it; the caller adopts it once ex commits.
func (r *replayer) writeNext(ctx context.Context, ex execer, txns []change.Txn) (change.GTIDSet, error) {
	next, err := r.nextSet(txns)
	if err != nil {
		return nil, err
	}
	return next, writeCheckpoint(ctx, ex, r.job, r.flavor, change.StageIncr, next.String())
}

// nextSet is the applied set extended by txns.
func (r *replayer) nextSet(txns []change.Txn) (change.GTIDSet, error) {
	next := r.executed.Clone()
	for i := range txns {
		if err := next.Add(txns[i].GTID); err != nil {
			return nil, err
		}
	}
	return next, nil
}

// commitNext adds the checkpoint of the applied set extended by txns to
// s and commits it.
func (r *replayer) commitNext(ctx context.Context, s *txScript, txns []change.Txn) (change.GTIDSet, error) {
	next, err := r.nextSet(txns)
	if err != nil {
		return nil, err
	}
	q, args := checkpointSQL(r.job, r.flavor, change.StageIncr, next.String())
	if err := s.add(ctx, q, args...); err != nil {
		return nil, &ApplyError{What: groupWhat(txns), Err: err}
	}
	if err := s.commit(ctx); err != nil {
		return nil, &ApplyError{What: groupWhat(txns), Err: err}
	}
	return next, nil
}

// adopt makes a committed checkpoint the applied set. Once it holds the
// latest snapshot any table was copied at, no later event can be inside
// one, and the per-row snapshot check is dropped.
func (r *replayer) adopt(next change.GTIDSet, txns []change.Txn, rows int) {
	r.executed = next
	r.tolerant = false
	last := &txns[len(txns)-1]
	r.stats.Committed(int64(len(txns)), int64(rows), last.Timestamp, last.LogFile, last.LogPos, next.String)
	if s := r.copies.Load(); s != nil && s.PassedBy(next) {
		r.copies.Store(nil)
	}
}

// skip reports whether table was copied at a snapshot that already holds
// transaction gtid.
func (r *replayer) skip(gtid string, table change.TableName) (bool, error) {
	return r.copies.Load().Holds(table, gtid)
}
