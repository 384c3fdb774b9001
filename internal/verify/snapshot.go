package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/position"
	"github.com/dtle-io/dtle/internal/retry"
)

// snap is one read-only transaction in a consistent snapshot.
type snap struct {
	conn *sql.Conn
	// low holds only transactions the snapshot sees (nil on MariaDB unless
	// asked for: exactSourceSnapshot); high every transaction it sees.
	low, high change.GTIDSet
}

// close ends the transaction and returns the connection to its pool, also
// once ctx has ended.
func (s *snap) close(ctx context.Context) {
	_, _ = s.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	_ = s.conn.Close()
}

// begin opens conn's consistent snapshot.
func begin(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return fmt.Errorf("isolation level: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return fmt.Errorf("start snapshot: %w", err)
	}
	return nil
}

// sourceSnapshot opens a read-only snapshot on the source and finds its
// high GTID set. No lock is taken. On MariaDB, gtid_binlog_pos read once
// the snapshot is open holds every transaction it sees: each is in the
// binlog before it commits. On MySQL the snapshot holds at least
// gtid_executed read before it opened (its low set), and its high set is
// completed by finish once its reads are done. A high set that holds more
// than the snapshot sees costs a chunk read again, never a false report:
// a destination ahead of the snapshot differs the way one behind does.
func sourceSnapshot(ctx context.Context, db *sql.DB, flavor string) (*snap, error) {
	return openSource(ctx, db, flavor, false)
}

// exactSourceSnapshot is sourceSnapshot with a sound low set on MariaDB
// too: the snapshot's own binlog position turned into a GTID position by
// BINLOG_GTID_POS, which reads the binlog file up to it (a tenth of a
// second for 400 MB), so only repair asks for it.
func exactSourceSnapshot(ctx context.Context, db *sql.DB, flavor string) (*snap, error) {
	return openSource(ctx, db, flavor, true)
}

func openSource(ctx context.Context, db *sql.DB, flavor string, exact bool) (*snap, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("source connection: %w", err)
	}
	s := &snap{conn: conn}
	fail := func(err error) (*snap, error) {
		s.close(ctx)
		return nil, fmt.Errorf("source snapshot: %w", err)
	}
	if flavor == change.FlavorMySQL {
		if s.low, err = gtidExecuted(ctx, conn); err != nil {
			return fail(err)
		}
	}
	if err := begin(ctx, conn); err != nil {
		return fail(err)
	}
	if flavor != change.FlavorMariaDB {
		return s, nil
	}
	var pos string
	if exact {
		at, err := mysqlconn.MariaDBSnapshot(ctx, conn)
		if err != nil {
			return fail(err)
		}
		pos = at.GTIDPos
	} else if err := conn.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&pos); err != nil {
		return fail(fmt.Errorf("gtid_binlog_pos: %w", err))
	}
	set, err := change.ParseGTIDSet(flavor, pos)
	if err != nil {
		return fail(err)
	}
	if exact {
		s.low = set
	}
	s.high = set
	return s, nil
}

// finish completes the snapshot's high set once its reads are done (MySQL:
// every transaction the snapshot sees has its GTID in gtid_executed by
// then) and ends the transaction.
func (s *snap) finish(ctx context.Context) error {
	defer s.close(ctx)
	if s.high != nil {
		return nil
	}
	var err error
	s.high, err = gtidExecuted(ctx, s.conn)
	return err
}

func gtidExecuted(ctx context.Context, conn *sql.Conn) (change.GTIDSet, error) {
	set, err := mysqlconn.ExecutedGTIDs(ctx, conn, change.FlavorMySQL)
	if err != nil {
		return nil, err
	}
	return change.ParseGTIDSet(change.FlavorMySQL, set)
}

// checkpoint is the job's row of dtle.checkpoint.
type checkpoint struct {
	flavor, stage string
	set           change.GTIDSet
}

// readCheckpoint reads the job's checkpoint (position.ReadRow), under a
// lock with forUpdate. ErrNotReplicating without one, or in the full copy.
func readCheckpoint(ctx context.Context, q position.QueryRower, job string, forUpdate bool) (checkpoint, error) {
	row, err := position.ReadRow(ctx, q, job, forUpdate)
	if errors.Is(err, position.ErrNoCheckpoint) || errors.Is(err, position.ErrNotReplicating) {
		return checkpoint{}, fmt.Errorf("%w: %w", ErrNotReplicating, err)
	}
	if err != nil {
		return checkpoint{}, err
	}
	cp := checkpoint{flavor: row.Flavor, stage: row.Stage}
	if cp.set, err = change.ParseGTIDSet(cp.flavor, row.GTIDSet); err != nil {
		return cp, fmt.Errorf("checkpoint of job %q: %w", job, err)
	}
	return cp, nil
}

// waitApplied polls the destination's checkpoint until it holds want, for
// at most timeout.
func waitApplied(ctx context.Context, db *sql.DB, job string, want change.GTIDSet, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	b := retry.New(5*time.Millisecond, 200*time.Millisecond)
	for {
		cp, err := readCheckpoint(ctx, db, job, false)
		if err != nil {
			return err
		}
		if cp.set.ContainsSet(want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: after %s it has applied %s, not yet %s (is the job running?)", ErrBehind, timeout, cp.set, want)
		}
		if err := b.Wait(ctx); err != nil {
			return err
		}
	}
}

// destSnapshot waits until the destination has applied want, then opens a
// read-only snapshot there.
func destSnapshot(ctx context.Context, db *sql.DB, job string, want change.GTIDSet, timeout time.Duration) (*snap, error) {
	if err := waitApplied(ctx, db, job, want, timeout); err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("destination connection: %w", err)
	}
	if err := begin(ctx, conn); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("destination snapshot: %w", err)
	}
	return &snap{conn: conn}, nil
}
