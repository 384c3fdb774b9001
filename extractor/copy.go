package extractor

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/progress"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// fullCopy copies every replicated table the destination has not finished,
// from one consistent snapshot, and returns the snapshot's GTID set.
func (e *Extractor) fullCopy(ctx context.Context, cp *change.Checkpoint) (string, error) {
	done := map[change.TableName]bool{}
	started := map[change.TableName]change.TableProgress{}
	for _, t := range cp.Tables {
		if t.Done {
			done[t.Name()] = true
		} else {
			started[t.Name()] = t
		}
	}
	conn, at, err := e.snapshot(ctx)
	if err != nil {
		return "", err
	}
	pos := at.GTIDSet
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		_ = conn.Close()
	}()
	all, err := tableinfo.ListTables(ctx, e.db)
	if err != nil {
		return "", err
	}
	var todo []copyItem
	sources := map[change.TableName]tableinfo.Name{}
	for _, n := range all {
		tg := e.rules.Table(n.Schema, n.Table)
		if tg == nil {
			continue
		}
		dest := change.TableName{Schema: tg.Schema, Table: tg.Table}
		if other, ok := sources[dest]; ok {
			return "", fmt.Errorf("%w: %s and %s both land in %s (%s); merging tables is not supported, "+
				"give each its own table_rename", ErrBadRule, other, n, dest, tg.Rule)
		}
		sources[dest] = n
		todo = append(todo, copyItem{n: n, tg: tg, dest: dest})
	}
	if err := loadDefinitions(ctx, conn, todo); err != nil {
		return "", err
	}
	if err := foreignKeyRefs(ctx, conn, todo); err != nil {
		return "", err
	}
	if err := checkRules(ctx, conn, todo); err != nil {
		return "", err
	}
	if err := e.copySchemas(ctx, conn); err != nil {
		return "", err
	}
	e.Stats.TablesAll.Store(int64(len(todo)))
	e.startFigures(todo, done, e.estimateRows(ctx, todo, done))
	e.log.Info("full copy", "snapshot", pos, "tables", len(todo), "already_done", len(done))
	last := -1
	for i, it := range todo {
		if !done[it.dest] {
			last = i
		}
	}
	for i, it := range todo {
		if done[it.dest] {
			e.Stats.TablesDone.Add(1)
			continue
		}
		p, resume := started[it.dest]
		if err := e.copyTable(ctx, conn, it, at, p.CopiedUpTo, resume, i == last); err != nil {
			return "", err
		}
		e.Stats.TablesDone.Add(1)
		e.Stats.TableDone(it.dest.Schema, it.dest.Table)
	}
	return pos, nil
}

// copyItem is a source table to copy and its target; the destination's
// progress is kept under the target's name (dest).
type copyItem struct {
	n    tableinfo.Name
	tg   *filter.Target
	dest change.TableName
	refs [][]string    // the columns of each foreign key referring to the table
	def  *change.Table // its columns and keys, read with its schema's (loadDefinitions)
}

// loadDefinitions reads the definitions of the tables to copy, a schema at
// a time: two queries per schema, where one table at a time costs two per
// table, each of which opens tables on the server (tableinfo.LoadSchema).
// A table missing from its schema's (dropped meanwhile) is left without
// one; its copy then reads it alone and says why it cannot.
func loadDefinitions(ctx context.Context, conn *sql.Conn, todo []copyItem) error {
	schemas := map[string]map[string]*change.Table{}
	for i := range todo {
		it := &todo[i]
		defs, ok := schemas[it.n.Schema]
		if !ok {
			var err error
			if defs, err = tableinfo.LoadSchema(ctx, conn, it.n.Schema); err != nil {
				return err
			}
			schemas[it.n.Schema] = defs
		}
		it.def = defs[it.n.Table]
	}
	return nil
}

// definition is the table's definition, read with its schema's or, when
// it was not there, alone.
func (it *copyItem) definition(ctx context.Context, conn *sql.Conn) (*change.Table, error) {
	if it.def != nil {
		return it.def, nil
	}
	return tableinfo.Load(ctx, conn, it.n.Schema, it.n.Table)
}

// checkRules checks the column maps and where filters against their tables
// before anything is copied.
func checkRules(ctx context.Context, conn *sql.Conn, todo []copyItem) error {
	var errs []error
	for _, it := range todo {
		if !it.tg.Reshapes() {
			continue
		}
		t, err := it.definition(ctx, conn)
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

// copyTable sends one table: its definition, its rows in chunks, and the
// snapshot it was read at. A keyed table is read in key order, chunk by
// chunk, each bounded by keys, so an interrupted copy resumes after the last
// key the destination committed (resumeKey); a table without a key is read
// whole and, when interrupted, copied again. last says no table follows.
func (e *Extractor) copyTable(ctx context.Context, conn *sql.Conn, it copyItem, at snapshotAt, resumeKey []byte, started, last bool) error {
	pos := at.GTIDSet
	n := it.n
	src, err := it.definition(ctx, conn)
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
	if err := e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindTable, Flavor: e.flavor, Table: t, Snapshot: pos,
		KeepRows: resume, DropFirst: task.DropTableIfExists, SkipCreate: task.SkipCreateDBTable, Referenced: refersToPlainIndex(src, it.refs),
		SnapshotFile: at.File, SnapshotPos: at.Pos}); err != nil {
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
	return e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindTableDone, Flavor: e.flavor, Table: ref, Snapshot: pos, LastTable: last})
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
	type fkName struct {
		child tableinfo.Name
		name  string
	}
	var lastFK fkName
	for rows.Next() {
		var child, n tableinfo.Name
		var fk, col string
		if err := rows.Scan(&child.Schema, &child.Table, &n.Schema, &n.Table, &fk, &col); err != nil {
			return fmt.Errorf("foreign keys: %w", err)
		}
		if !copied[child] {
			continue // not on the destination: it needs no index there
		}
		if key := (fkName{child, fk}); key != lastFK {
			lastFK = key
			refs[n] = append(refs[n], nil)
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

// startFigures publishes the tables of the copy, in order, with the
// server's estimate of their rows.
func (e *Extractor) startFigures(todo []copyItem, done map[change.TableName]bool, estimates map[tableinfo.Name]int64) {
	tables := make([]progress.TableCopy, len(todo))
	for i, it := range todo {
		tables[i] = progress.TableCopy{Schema: it.dest.Schema, Table: it.dest.Table, SourceSchema: it.n.Schema,
			SourceTable: it.n.Table, Estimate: estimates[it.n], Done: done[it.dest]}
	}
	e.Stats.CopyTables(tables)
}

// estimateRows publishes the server's estimate of the rows left to copy,
// for progress and ETA (without one, progress counts tables), and returns
// each table's.
func (e *Extractor) estimateRows(ctx context.Context, todo []copyItem, done map[change.TableName]bool) map[tableinfo.Name]int64 {
	rows, err := e.db.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COALESCE(TABLE_ROWS, 0) "+
		"FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE'")
	if err != nil {
		e.log.Debug("no row estimate", "error", err)
		return nil
	}
	defer func() { _ = rows.Close() }()
	want := map[change.TableName]bool{}
	for _, it := range todo {
		want[it.n] = !done[it.dest]
	}
	var total int64
	each := map[tableinfo.Name]int64{}
	for rows.Next() {
		var n tableinfo.Name
		var count int64
		if rows.Scan(&n.Schema, &n.Table, &count) != nil {
			continue
		}
		if left, ok := want[n]; ok {
			each[n] = count
			if left {
				total += count
			}
		}
	}
	if rows.Err() == nil {
		e.Stats.RowsEstimate.Store(total)
	}
	return each
}

// copySchemas sends every replicated schema, with its default character
// set and collation, so that the destination has it even when it holds no
// table yet (a job started on an empty schema, before the application's
// migrations create its tables).
func (e *Extractor) copySchemas(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "+
		"FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")
	if err != nil {
		return fmt.Errorf("list schemas: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var msgs []*change.Message
	for rows.Next() {
		var name, charset, collation string
		if err := rows.Scan(&name, &charset, &collation); err != nil {
			return fmt.Errorf("list schemas: %w", err)
		}
		if tableinfo.SystemSchemas[strings.ToLower(name)] {
			continue
		}
		tg := e.rules.Schema(name)
		if tg == nil {
			continue
		}
		msgs = append(msgs, &change.Message{Kind: change.KindSchema, Flavor: e.flavor, Table: &change.Table{Schema: tg.Schema},
			Charset: charset, Collation: collation, SkipCreate: e.cfg.Task.SkipCreateDBTable})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list schemas: %w", err)
	}
	for _, m := range msgs {
		if err := e.cfg.Sender.Send(ctx, m); err != nil {
			return err
		}
	}
	return nil
}
