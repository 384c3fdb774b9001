package extractor

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
)

// snapshot opens a connection inside a consistent snapshot and returns the
// GTID set the snapshot holds.
func (e *Extractor) snapshot(ctx context.Context) (*sql.Conn, string, error) {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("snapshot connection: %w", err)
	}
	fail := func(what string, err error) (*sql.Conn, string, error) {
		_ = conn.Close()
		return nil, "", fmt.Errorf("snapshot: %s: %w", what, err)
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
		pos, err := mariaSnapshotPos(ctx, conn)
		if err != nil {
			return fail("snapshot position", err)
		}
		return conn, pos, nil
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
	return conn, strings.ReplaceAll(pos, "\n", ""), nil
}

// mariaSnapshotPos reads the GTID position of the session's snapshot:
// binlog_snapshot_gtid_pos where the server has it, else the snapshot's
// binlog file and offset turned into a GTID position by BINLOG_GTID_POS.
func mariaSnapshotPos(ctx context.Context, conn *sql.Conn) (string, error) {
	status, err := statusVars(ctx, conn, "binlog_snapshot%")
	if err != nil {
		return "", err
	}
	if pos, ok := status["binlog_snapshot_gtid_pos"]; ok {
		return pos, nil
	}
	file, offset := status["binlog_snapshot_file"], status["binlog_snapshot_position"]
	if file == "" {
		return "", fmt.Errorf("the server reports no binlog snapshot position (is log_bin on?)")
	}
	var pos sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", file, offset).Scan(&pos); err != nil {
		return "", fmt.Errorf("BINLOG_GTID_POS(%s, %s): %w", file, offset, err)
	}
	return pos.String, nil
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
