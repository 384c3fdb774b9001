package extractor

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// maxChunkBytes caps a chunk message before compression.
const maxChunkBytes = 4 << 20

// fullCopy copies every replicated table the destination has not finished,
// from one consistent snapshot, and returns the snapshot's GTID set.
func (e *Extractor) fullCopy(ctx context.Context, cp *change.Checkpoint) (string, error) {
	done := map[string]bool{}
	for _, t := range cp.Tables {
		if t.Done {
			done[t.Schema+"."+t.Table] = true
		}
	}
	conn, pos, err := e.snapshot(ctx)
	if err != nil {
		return "", err
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		_ = conn.Close()
	}()
	all, err := tableinfo.ListTables(ctx, e.db)
	if err != nil {
		return "", err
	}
	var todo []tableinfo.Name
	for _, n := range all {
		if e.filter.table(n.Schema, n.Table) {
			todo = append(todo, n)
		}
	}
	e.Stats.TablesAll.Store(int64(len(todo)))
	e.log.Info("full copy", "snapshot", pos, "tables", len(todo), "already_done", len(done))
	for _, n := range todo {
		if done[n.String()] {
			e.Stats.TablesDone.Add(1)
			continue
		}
		if err := e.copyTable(ctx, conn, n, pos); err != nil {
			return "", err
		}
		e.Stats.TablesDone.Add(1)
	}
	return pos, nil
}

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
	if _, err := conn.ExecContext(ctx, "SET SESSION time_zone = '+00:00'"); err != nil {
		return fail("time zone", err)
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

// copyTable sends one table: its definition, its rows in chunks, and the
// snapshot it was read at.
func (e *Extractor) copyTable(ctx context.Context, conn *sql.Conn, n tableinfo.Name, pos string) error {
	t, err := tableinfo.Load(ctx, conn, n.Schema, n.Table)
	if err != nil {
		return err
	}
	if t.CreateSQL, err = tableinfo.ShowCreate(ctx, conn, n.Schema, n.Table); err != nil {
		return err
	}
	task := e.cfg.Task
	if err := e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindTable, Flavor: e.flavor, Table: t,
		DropFirst: task.DropTableIfExists, SkipCreate: task.SkipCreateDBTable}); err != nil {
		return err
	}
	ref := &change.Table{Schema: t.Schema, Name: t.Name, Columns: t.Columns, Key: t.Key}
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = tableinfo.Quote(c.Name)
	}
	rows, err := conn.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+tableinfo.QuoteName(n.Schema, n.Table))
	if err != nil {
		return fmt.Errorf("read %s: %w", n, err)
	}
	defer func() { _ = rows.Close() }()
	raw := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range raw {
		dest[i] = &raw[i]
	}
	chunkSize := max(task.ChunkSize, 1)
	chunk := make([]change.Row, 0, chunkSize)
	size := 0
	send := func() error {
		if len(chunk) == 0 {
			return nil
		}
		err := e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindChunk, Flavor: e.flavor, Table: ref, Rows: chunk})
		e.Stats.RowsRead.Add(int64(len(chunk)))
		chunk, size = make([]change.Row, 0, chunkSize), 0
		return err
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read %s: %w", n, err)
		}
		row := make(change.Row, len(raw))
		for i, b := range raw {
			switch {
			case b == nil:
				row[i] = nil
			case t.Columns[i].Binary:
				row[i] = append([]byte{}, b...)
				size += len(b)
			case t.Columns[i].DataType == "year":
				// As text, '0' would mean 2000; as a number it stays 0000.
				y, err := strconv.ParseInt(string(b), 10, 64)
				if err != nil {
					return fmt.Errorf("read %s: year %q: %w", n, b, err)
				}
				row[i] = y
			default:
				row[i] = string(b)
				size += len(b)
			}
		}
		chunk = append(chunk, row)
		if len(chunk) >= chunkSize || size >= maxChunkBytes {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", n, err)
	}
	if err := send(); err != nil {
		return err
	}
	return e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindTableDone, Flavor: e.flavor, Table: ref, Pos: pos})
}
