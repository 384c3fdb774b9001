package extractor

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// maxChunkBytes caps a chunk message before compression.
const maxChunkBytes = 4 << 20

// fullCopy copies every replicated table the destination has not finished,
// from one consistent snapshot, and returns the snapshot's GTID set.
func (e *Extractor) fullCopy(ctx context.Context, cp *change.Checkpoint) (string, error) {
	done := map[string]bool{}
	started := map[string]change.TableProgress{}
	for _, t := range cp.Tables {
		if t.Done {
			done[t.Schema+"."+t.Table] = true
		} else {
			started[t.Schema+"."+t.Table] = t
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
	var todo []copyItem
	sources := map[string]tableinfo.Name{}
	for _, n := range all {
		tg := e.rules.Table(n.Schema, n.Table)
		if tg == nil {
			continue
		}
		dest := tg.Schema + "." + tg.Table
		if other, ok := sources[dest]; ok {
			return "", fmt.Errorf("%w: %s and %s both land in %s (%s); merging tables is not supported, "+
				"give each its own table_rename", ErrBadRule, other, n, dest, tg.Rule)
		}
		sources[dest] = n
		todo = append(todo, copyItem{n: n, tg: tg, dest: dest})
	}
	if err := checkRules(ctx, conn, todo); err != nil {
		return "", err
	}
	e.Stats.TablesAll.Store(int64(len(todo)))
	e.estimateRows(ctx, todo, done)
	e.log.Info("full copy", "snapshot", pos, "tables", len(todo), "already_done", len(done))
	for _, it := range todo {
		if done[it.dest] {
			e.Stats.TablesDone.Add(1)
			continue
		}
		p, resume := started[it.dest]
		if err := e.copyTable(ctx, conn, it, pos, p.Resume, resume); err != nil {
			return "", err
		}
		e.Stats.TablesDone.Add(1)
	}
	return pos, nil
}

// copyItem is a source table to copy and its target; the destination's
// progress is kept under the target's name (dest).
type copyItem struct {
	n    tableinfo.Name
	tg   *filter.Target
	dest string
}

// checkRules checks the column maps and where filters against their tables
// before anything is copied.
func checkRules(ctx context.Context, conn *sql.Conn, todo []copyItem) error {
	var errs []error
	for _, it := range todo {
		if !it.tg.Reshapes() {
			continue
		}
		t, err := tableinfo.Load(ctx, conn, it.n.Schema, it.n.Table)
		if err != nil {
			return err
		}
		if err := it.tg.Check(t); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrBadRule, errors.Join(errs...))
	}
	return nil
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
// snapshot it was read at. A keyed table is read in key order, chunk by
// chunk, each bounded by keys, so an interrupted copy resumes after the last
// key the destination committed (resumeKey); a table without a key is read
// whole and, when interrupted, copied again.
func (e *Extractor) copyTable(ctx context.Context, conn *sql.Conn, it copyItem, pos string, resumeKey []byte, started bool) error {
	n := it.n
	src, err := tableinfo.Load(ctx, conn, n.Schema, n.Table)
	if err != nil {
		return err
	}
	if src.CreateSQL, err = tableinfo.ShowCreate(ctx, conn, n.Schema, n.Table); err != nil {
		return err
	}
	sh, err := newShape(src, it.tg)
	if err != nil {
		return err
	}
	t := sh.out
	after, err := change.DecodeRow(resumeKey)
	if err != nil {
		return fmt.Errorf("resume key of %s: %w", n, err)
	}
	resume := started && t.HasKey()
	task := e.cfg.Task
	if err := e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindTable, Flavor: e.flavor, Table: t, Pos: pos,
		Resume: resume, DropFirst: task.DropTableIfExists, SkipCreate: task.SkipCreateDBTable}); err != nil {
		return err
	}
	ref := &change.Table{Schema: t.Schema, Name: t.Name, Columns: t.Columns, Key: t.Key}
	r := chunkReader{e: e, conn: conn, t: ref, size: max(task.ChunkSize, 1), cols: sh.sourceColumns(),
		from: tableinfo.QuoteName(n.Schema, n.Table)}
	if w := it.tg.Where; w != nil {
		r.where = "(" + w.SQL() + ")"
	}
	if t.HasKey() {
		if !resume {
			after = nil
		}
		err = r.byKey(ctx, after)
	} else {
		err = r.whole(ctx)
	}
	if err != nil {
		return err
	}
	return e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindTableDone, Flavor: e.flavor, Table: ref, Pos: pos})
}

// chunkReader reads one table inside the snapshot and sends its chunks.
type chunkReader struct {
	e    *Extractor
	conn *sql.Conn
	t    *change.Table // as sent: destination names, the columns read
	size int
	// cols are the quoted source names of t's columns, from the source
	// table; where, when not empty, selects the rows.
	cols  []string
	from  string
	where string
}

// filtered joins the where filter to a condition.
func (r *chunkReader) filtered(cond string) string {
	switch {
	case r.where == "" && cond == "":
		return ""
	case r.where == "":
		return " WHERE " + cond
	case cond == "":
		return " WHERE " + r.where
	}
	return " WHERE " + r.where + " AND (" + cond + ")"
}

// byKey reads chunks of r.size rows in key order, after key after.
func (r *chunkReader) byKey(ctx context.Context, after change.Row) error {
	keyCols := make([]string, len(r.t.Key))
	for i, k := range r.t.Key {
		keyCols[i] = r.cols[k]
	}
	base := "SELECT " + strings.Join(r.cols, ", ") + " FROM " + r.from
	order := " ORDER BY " + strings.Join(keyCols, ", ") + " LIMIT " + strconv.Itoa(r.size)
	for {
		q, args := base+r.filtered("")+order, []any(nil)
		if after != nil {
			cond, wargs := afterKey(keyCols, after)
			q, args = base+r.filtered(cond)+order, wargs
		}
		rows, err := r.read(ctx, q, args...)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		hi := make(change.Row, len(r.t.Key))
		for i, k := range r.t.Key {
			hi[i] = rows[len(rows)-1][k]
		}
		if err := r.send(ctx, rows, after, hi); err != nil {
			return err
		}
		if len(rows) < r.size {
			return nil
		}
		after = hi
	}
}

// afterKey is the condition "key > after" spelled out column by column,
// which every server plans as a range on the key.
func afterKey(cols []string, after change.Row) (string, []any) {
	var ors []string
	var args []any
	for i := range cols {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, cols[j]+" = ?")
			args = append(args, after[j])
		}
		ands = append(ands, cols[i]+" > ?")
		args = append(args, after[i])
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return strings.Join(ors, " OR "), args
}

// whole streams a table without a key in chunks of r.size rows.
func (r *chunkReader) whole(ctx context.Context) error {
	rows, err := r.conn.QueryContext(ctx, "SELECT "+strings.Join(r.cols, ", ")+" FROM "+r.from+r.filtered(""))
	if err != nil {
		return fmt.Errorf("read %s: %w", r.from, err)
	}
	defer func() { _ = rows.Close() }()
	var chunk []change.Row
	size := 0
	for rows.Next() {
		row, n, err := r.scan(rows)
		if err != nil {
			return err
		}
		chunk = append(chunk, row)
		size += n
		if len(chunk) >= r.size || size >= maxChunkBytes {
			if err := r.send(ctx, chunk, nil, nil); err != nil {
				return err
			}
			chunk, size = nil, 0
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", r.from, err)
	}
	if len(chunk) > 0 {
		return r.send(ctx, chunk, nil, nil)
	}
	return nil
}

// read runs a chunk query and returns its rows.
func (r *chunkReader) read(ctx context.Context, q string, args ...any) ([]change.Row, error) {
	rows, err := r.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", r.from, err)
	}
	defer func() { _ = rows.Close() }()
	out := make([]change.Row, 0, r.size)
	for rows.Next() {
		row, _, err := r.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", r.from, err)
	}
	return out, nil
}

// scan reads one row in the text protocol: bytes for binary columns,
// numbers for YEAR ('0' as text would mean 2000), text for the rest.
func (r *chunkReader) scan(rows *sql.Rows) (change.Row, int, error) {
	raw := make([]sql.RawBytes, len(r.t.Columns))
	dest := make([]any, len(raw))
	for i := range raw {
		dest[i] = &raw[i]
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", r.from, err)
	}
	row := make(change.Row, len(raw))
	size := 0
	for i, b := range raw {
		c := &r.t.Columns[i]
		size += len(b)
		switch {
		case b == nil:
			row[i] = nil
		case c.Binary:
			row[i] = append([]byte{}, b...)
		case c.DataType == "year":
			y, err := strconv.ParseInt(string(b), 10, 64)
			if err != nil {
				return nil, 0, fmt.Errorf("read %s: year %q: %w", r.from, b, err)
			}
			row[i] = y
		default:
			row[i] = string(b)
		}
	}
	return row, size, nil
}

func (r *chunkReader) send(ctx context.Context, rows []change.Row, lo, hi change.Row) error {
	err := r.e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindChunk, Flavor: r.e.flavor, Table: r.t,
		Rows: rows, Lo: lo, Hi: hi})
	r.e.Stats.RowsRead.Add(int64(len(rows)))
	return err
}

// estimateRows publishes the server's estimate of the rows left to copy,
// for progress and ETA; without one, progress counts tables.
func (e *Extractor) estimateRows(ctx context.Context, todo []copyItem, done map[string]bool) {
	rows, err := e.db.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COALESCE(TABLE_ROWS, 0) "+
		"FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE'")
	if err != nil {
		e.log.Debug("no row estimate", "error", err)
		return
	}
	defer func() { _ = rows.Close() }()
	want := map[string]bool{}
	for _, it := range todo {
		if !done[it.dest] {
			want[it.n.String()] = true
		}
	}
	var total int64
	for rows.Next() {
		var n tableinfo.Name
		var count int64
		if rows.Scan(&n.Schema, &n.Table, &count) == nil && want[n.String()] {
			total += count
		}
	}
	if rows.Err() == nil {
		e.Stats.RowsEstimate.Store(total)
	}
}
