package extractor

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
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
	if at.File, at.Pos, err = binlogEnd(ctx, conn); err != nil {
		e.log.Debug("no binlog coordinates for the snapshot", "error", err)
	}
	return conn, at, nil
}

// binlogEnd reads the current binlog file and offset: SHOW MASTER STATUS,
// or SHOW BINARY LOG STATUS where MySQL (8.4) has only that.
func binlogEnd(ctx context.Context, conn *sql.Conn) (string, uint64, error) {
	var err error
	for _, q := range []string{"SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"} {
		var file string
		var pos uint64
		if file, pos, err = firstFileAndPos(ctx, conn, q); err == nil {
			return file, pos, nil
		}
	}
	return "", 0, err
}

// firstFileAndPos reads the first two columns of q's first row.
func firstFileAndPos(ctx context.Context, conn *sql.Conn, q string) (string, uint64, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", q, err)
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil || len(cols) < 2 {
		return "", 0, fmt.Errorf("%s: %d columns (%w)", q, len(cols), err)
	}
	if !rows.Next() {
		return "", 0, fmt.Errorf("%s: no row (is log_bin on?): %w", q, rows.Err())
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return "", 0, fmt.Errorf("%s: %w", q, err)
	}
	pos, err := strconv.ParseUint(string(vals[1]), 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%s: position %q: %w", q, vals[1], err)
	}
	return string(vals[0]), pos, nil
}

// mariaSnapshotPos reads where the session's snapshot is: its binlog file
// and offset, and its GTID position, binlog_snapshot_gtid_pos where the
// server has it, else the file and offset turned into one by
// BINLOG_GTID_POS.
func mariaSnapshotPos(ctx context.Context, conn *sql.Conn) (snapshotAt, error) {
	status, err := statusVars(ctx, conn, "binlog_snapshot%")
	if err != nil {
		return snapshotAt{}, err
	}
	file, offset := status["binlog_snapshot_file"], status["binlog_snapshot_position"]
	at := snapshotAt{File: file}
	at.Pos, _ = strconv.ParseUint(offset, 10, 64)
	if pos, ok := status["binlog_snapshot_gtid_pos"]; ok {
		at.GTIDSet = pos
		return at, nil
	}
	if file == "" {
		return snapshotAt{}, fmt.Errorf("the server reports no binlog snapshot position (is log_bin on?)")
	}
	var pos sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", file, offset).Scan(&pos); err != nil {
		return snapshotAt{}, fmt.Errorf("BINLOG_GTID_POS(%s, %s): %w", file, offset, err)
	}
	at.GTIDSet = pos.String
	return at, nil
}

// statusVars reads SHOW STATUS LIKE pattern, names lowercased.
func statusVars(ctx context.Context, conn *sql.Conn, pattern string) (map[string]string, error) {
	rows, err := conn.QueryContext(ctx, "SHOW STATUS LIKE ?", pattern)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	status := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		status[strings.ToLower(k)] = v
	}
	return status, rows.Err()
}
