package extractor

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// maxChunkBytes caps a chunk message before compression, keyed or not.
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
	if err := foreignKeyRefs(ctx, conn, todo); err != nil {
		return "", err
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
	refs [][]string // the columns of each foreign key referring to the table
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
	resume := started && t.HasKey()
	var after change.Row
	if resume {
		if after, err = change.DecodeRow(resumeKey); err != nil {
			return fmt.Errorf("resume key of %s: %w", n, err)
		}
	}
	task := e.cfg.Task
	if err := e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindTable, Flavor: e.flavor, Table: t, Pos: pos,
		Resume: resume, DropFirst: task.DropTableIfExists, SkipCreate: task.SkipCreateDBTable, Referenced: refersToPlainIndex(src, it.refs)}); err != nil {
		return err
	}
	ref := &change.Table{Schema: t.Schema, Name: t.Name, Columns: t.Columns, Key: t.Key}
	r := chunkReader{e: e, conn: conn, t: ref, size: max(task.ChunkSize, 1), cols: sh.sourceColumns(),
		from: tableinfo.QuoteName(n.Schema, n.Table), kinds: make([]packKind, len(ref.Columns))}
	for i := range ref.Columns {
		r.kinds[i] = kindOf(&ref.Columns[i])
	}
	if w := it.tg.Where; w != nil {
		r.where = "(" + w.SQL() + ")"
	}
	if t.HasKey() {
		err = r.byKey(ctx, after)
	} else {
		err = r.whole(ctx)
	}
	if err != nil {
		return err
	}
	return e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindTableDone, Flavor: e.flavor, Table: ref, Pos: pos})
}

// foreignKeyRefs sets each item's refs: the columns each foreign key of a
// table the job copies refers to, in order. One query for the whole copy,
// limited to the copied tables' schemas.
func foreignKeyRefs(ctx context.Context, conn *sql.Conn, todo []copyItem) error {
	if len(todo) == 0 {
		return nil
	}
	copied := map[tableinfo.Name]bool{}
	var schemas []any
	for _, it := range todo {
		if !slices.Contains(schemas, any(it.n.Schema)) {
			schemas = append(schemas, it.n.Schema)
		}
		copied[it.n] = true
	}
	rows, err := conn.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, "+
		"CONSTRAINT_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "+
		"WHERE REFERENCED_TABLE_NAME IS NOT NULL AND TABLE_SCHEMA IN (?"+strings.Repeat(", ?", len(schemas)-1)+") "+
		"ORDER BY 1, 5, POSITION_IN_UNIQUE_CONSTRAINT", schemas...)
	if err != nil {
		return fmt.Errorf("foreign keys: %w", err)
	}
	defer func() { _ = rows.Close() }()
	refs := map[tableinfo.Name][][]string{}
	var lastFK string
	for rows.Next() {
		var child, n tableinfo.Name
		var fk, col string
		if err := rows.Scan(&child.Schema, &child.Table, &n.Schema, &n.Table, &fk, &col); err != nil {
			return fmt.Errorf("foreign keys: %w", err)
		}
		if !copied[child] {
			continue // not on the destination: it needs no index there
		}
		if fk = child.String() + "." + fk; fk != lastFK {
			refs[n] = append(refs[n], nil)
			lastFK = fk
		}
		last := len(refs[n]) - 1
		refs[n][last] = append(refs[n][last], col)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("foreign keys: %w", err)
	}
	for i := range todo {
		todo[i].refs = refs[todo[i].n]
	}
	return nil
}

// refersToPlainIndex reports whether one of the foreign keys referring to t
// (their columns: refs) does not refer to exactly one of its unique keys: it
// then needs one of t's plain indexes, which the destination must not build
// late.
func refersToPlainIndex(t *change.Table, refs [][]string) bool {
	for _, cols := range refs {
		unique := false
		for _, u := range t.Uniques {
			same := len(u) == len(cols)
			for i := 0; same && i < len(u); i++ {
				same = strings.EqualFold(t.Columns[u[i]].Name, cols[i])
			}
			unique = unique || same
		}
		if !unique {
			return true
		}
	}
	return false
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
	kinds []packKind // how each column is packed (kindOf)
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

// byKey reads the table in key order after key after, r.size rows a query,
// and sends them in chunks bounded by keys: each chunk's Lo is the Hi of
// the one before.
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
		n, err := r.stream(ctx, q, args, func(chunk change.PackedRows, hi change.Row) error {
			if err := r.send(ctx, chunk, after, hi); err != nil {
				return err
			}
			after = hi
			return nil
		})
		if err != nil || n < r.size {
			return err
		}
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

// whole reads a table without a key in one query, sent in chunks.
func (r *chunkReader) whole(ctx context.Context) error {
	_, err := r.stream(ctx, "SELECT "+strings.Join(r.cols, ", ")+" FROM "+r.from+r.filtered(""), nil,
		func(chunk change.PackedRows, _ change.Row) error { return r.send(ctx, chunk, nil, nil) })
	return err
}

// stream runs a query and hands its rows to emit in chunks of at most
// r.size rows and about maxChunkBytes (a message must stay under the
// transport's limit however wide the rows), with the key of each chunk's
// last row; it returns how many rows it read. Rows come in the text
// protocol and are packed as they arrive, each column as kindOf says.
func (r *chunkReader) stream(ctx context.Context, q string, args []any, emit func(change.PackedRows, change.Row) error) (int, error) {
	rows, err := r.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", r.from, err)
	}
	defer func() { _ = rows.Close() }()
	raw := make([]sql.RawBytes, len(r.t.Columns))
	dest := make([]any, len(raw))
	for i := range raw {
		dest[i] = &raw[i]
	}
	var p change.RowPacker
	lastRow := 0 // where the last row packed starts
	flush := func() error {
		chunk := p.Take()
		// The chunk's Hi is its last row's key, as the destination will read it.
		last, err := change.PackedRows{N: 1, Data: chunk.Data[lastRow:]}.Unpack()
		if err != nil {
			return err
		}
		hi := make(change.Row, len(r.t.Key))
		for i, k := range r.t.Key {
			hi[i] = last[0][k]
		}
		return emit(chunk, hi)
	}
	n, inChunk := 0, 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, fmt.Errorf("read %s: %w", r.from, err)
		}
		lastRow = p.Size()
		p.Row(len(raw))
		for i, b := range raw {
			pack(&p, r.kinds[i], b)
		}
		n++
		if inChunk++; inChunk >= r.size || p.Size() >= maxChunkBytes {
			if err := flush(); err != nil {
				return n, err
			}
			inChunk = 0
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read %s: %w", r.from, err)
	}
	if inChunk > 0 {
		return n, flush()
	}
	return n, nil
}

// packKind is how a column's text-protocol values are packed.
type packKind byte

const (
	packText   packKind = iota
	packBytes           // binary strings, BIT
	packYear            // YEAR: as a number, its zero in four digits
	packNumber          // integers and decimals, written unquoted
)

func kindOf(c *change.Column) packKind {
	switch {
	case c.Binary:
		return packBytes
	case c.DataType == "year":
		return packYear
	case change.NumericType(c.DataType):
		return packNumber
	}
	return packText
}

// pack appends one column of a scanned row.
func pack(p *change.RowPacker, k packKind, b sql.RawBytes) {
	switch {
	case b == nil:
		p.Null()
	case k == packBytes:
		p.Bytes(b)
	case k == packNumber:
		p.Number(b)
	case k == packYear && string(b) == "0":
		// The server writes year zero as "0", which as text (a quoted
		// literal, a LOAD DATA field) means 2000.
		p.Number([]byte("0000"))
	case k == packYear:
		p.Number(b)
	default:
		p.Text(b)
	}
}

func (r *chunkReader) send(ctx context.Context, rows change.PackedRows, lo, hi change.Row) error {
	err := r.e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindChunk, Flavor: r.e.flavor, Table: r.t,
		Rows: rows, Lo: lo, Hi: hi})
	r.e.Stats.RowsRead.Add(int64(rows.N))
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
