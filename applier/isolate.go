package applier

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
)

// Transactions are applied in groups, and a group that fails for good
// (not a deadlock or a lost connection, which are retried) fails as a
// whole: its statements are the rows' final states, and name no
// transaction. isolate then applies the group's transactions one by one,
// each committed with its checkpoint, so that the one the destination
// refuses is the one the task fails with (TxnError), and everything before
// it is applied. An operator can then skip it by its GTID.

// applyGroup writes batch in one destination transaction, with its
// checkpoint, and adopts the new applied set once committed.
func (r *replayer) applyGroup(ctx context.Context, conn *sql.Conn, batch []change.Txn) error {
	ops, rows, err := r.batchOps(ctx, conn, batch)
	if err != nil {
		return err
	}
	s := beginScript(conn)
	defer s.rollback(ctx)
	if err := s.addOps(ctx, ops); err != nil {
		return &ApplyError{What: groupWhat(batch), Err: err}
	}
	next, err := r.commitNext(ctx, s, batch)
	if err != nil {
		return err
	}
	r.adopt(next, batch, rows)
	return nil
}

// isolate applies batch, whose group failed with groupErr, one transaction
// at a time; the first that fails is the TxnError returned. nil: each
// applied alone. The caller holds the commit turn.
func (r *replayer) isolate(ctx context.Context, conn *sql.Conn, batch []change.Txn, groupErr error) error {
	if ctx.Err() != nil || connLost(groupErr) {
		return groupErr
	}
	if len(batch) == 1 {
		return txnFailed(batch[0].GTID, groupErr)
	}
	r.log.Info("a group of transactions failed; applying them one by one to find the one that fails",
		"from", batch[0].GTID, "to", batch[len(batch)-1].GTID, "error", groupErr)
	for i := range batch {
		one := batch[i : i+1]
		err := retryTransient(ctx, r.log, "transaction "+one[0].GTID, func() error { return r.applyGroup(ctx, conn, one) })
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			return txnFailed(one[0].GTID, err)
		}
	}
	return nil
}

// groupWhat names what a group's statements apply, for their errors: the
// tables of one transaction, the span of several.
func groupWhat(batch []change.Txn) string {
	if len(batch) == 1 {
		return "changes to " + tablesOf(&batch[0])
	}
	return fmt.Sprintf("transactions %s to %s", batch[0].GTID, batch[len(batch)-1].GTID)
}

// tablesOf names the tables a transaction changes, for its errors.
func tablesOf(t *change.Txn) string {
	var names []string
	seen := map[change.TableName]bool{}
	for i := range t.Changes {
		n := t.Changes[i].Name()
		if seen[n] {
			continue
		}
		seen[n] = true
		if len(names) == 5 {
			names = append(names, "...")
			break
		}
		names = append(names, n.String())
	}
	return strings.Join(names, ", ")
}
