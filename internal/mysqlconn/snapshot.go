package mysqlconn

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SnapshotPos is where a MariaDB session's consistent snapshot (START
// TRANSACTION WITH CONSISTENT SNAPSHOT) stands in the binlog.
type SnapshotPos struct {
	File string
	Pos  uint64
	// GTIDPos is the GTID position of the snapshot.
	GTIDPos string
}

// MariaDBSnapshot reads where the session's snapshot is: its binlog file
// and offset, and its GTID position, binlog_snapshot_gtid_pos where the
// server has it, else the file and offset turned into one by
// BINLOG_GTID_POS.
func MariaDBSnapshot(ctx context.Context, conn *sql.Conn) (SnapshotPos, error) {
	rows, err := conn.QueryContext(ctx, "SHOW STATUS LIKE 'binlog_snapshot%'")
	if err != nil {
		return SnapshotPos{}, err
	}
	defer func() { _ = rows.Close() }()
	status := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return SnapshotPos{}, err
		}
		status[strings.ToLower(k)] = v
	}
	if err := rows.Err(); err != nil {
		return SnapshotPos{}, err
	}
	file, offset := status["binlog_snapshot_file"], status["binlog_snapshot_position"]
	at := SnapshotPos{File: file}
	at.Pos, _ = strconv.ParseUint(offset, 10, 64)
	if pos, ok := status["binlog_snapshot_gtid_pos"]; ok {
		at.GTIDPos = pos
		return at, nil
	}
	if file == "" {
		return SnapshotPos{}, errors.New("the server reports no binlog snapshot position (is log_bin on?)")
	}
	var pos sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", file, offset).Scan(&pos); err != nil {
		return SnapshotPos{}, fmt.Errorf("BINLOG_GTID_POS(%s, %s): %w", file, offset, err)
	}
	at.GTIDPos = pos.String
	return at, nil
}
