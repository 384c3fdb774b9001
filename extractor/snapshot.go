package extractor

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/mysqlconn"
)

// snapshotAt is where a consistent snapshot sits in the source's history:
// the GTID set it holds and, when the server reports them, its binlog
// coordinates.
type snapshotAt struct {
	GTIDSet string
	File    string
	Pos     uint64
}

// snapshot opens a connection inside a consistent snapshot and returns
// where the snapshot is.
func (e *Extractor) snapshot(ctx context.Context) (*sql.Conn, snapshotAt, error) {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, snapshotAt{}, fmt.Errorf("snapshot connection: %w", err)
	}
	fail := func(what string, err error) (*sql.Conn, snapshotAt, error) {
		_ = conn.Close()
		return nil, snapshotAt{}, fmt.Errorf("snapshot: %s: %w", what, err)
	}
	if _, err := conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return fail("isolation level", err)
	}
	var pos string
	if e.flavor == change.FlavorMariaDB {
		// MariaDB reports the binlog position of the snapshot itself: no lock.
		if _, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT"); err != nil {
			return fail("start", err)
		}
		at, err := mariaSnapshotPos(ctx, conn)
		if err != nil {
			return fail("snapshot position", err)
		}
		return conn, at, nil
	}
	// MySQL: hold a global read lock only while the snapshot opens.
	lock, err := e.db.Conn(ctx)
	if err != nil {
		return fail("lock connection", err)
	}
	defer func() { _ = lock.Close() }()
	if _, err := lock.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		return fail("FLUSH TABLES WITH READ LOCK (needs RELOAD)", err)
	}
	defer func() { _, _ = lock.ExecContext(context.WithoutCancel(ctx), "UNLOCK TABLES") }()
	if _, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT"); err != nil {
		return fail("start", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&pos); err != nil {
		return fail("gtid_executed", err)
	}
	at := snapshotAt{GTIDSet: strings.ReplaceAll(pos, "\n", "")}
	// Under the lock the binlog stands still: its end is the snapshot's.
	if at.File, at.Pos, err = mysqlconn.BinlogEnd(ctx, conn); err != nil {
		e.log.Debug("no binlog coordinates for the snapshot", "error", err)
	}
	return conn, at, nil
}

// mariaSnapshotPos reads where the session's snapshot is.
func mariaSnapshotPos(ctx context.Context, conn *sql.Conn) (snapshotAt, error) {
	at, err := mysqlconn.MariaDBSnapshot(ctx, conn)
	if err != nil {
		return snapshotAt{}, err
	}
	return snapshotAt{File: at.File, Pos: at.Pos, GTIDSet: at.GTIDPos}, nil
}
