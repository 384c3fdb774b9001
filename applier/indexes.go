package applier

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// Secondary indexes are built after a table's rows are in: a table the job
// creates gets its plain (non-unique) indexes once its copy is complete,
// sorted in one pass, instead of inserting every row into each of them as
// it arrives. For a 1M-row sysbench table that is a fifth less work for the
// destination server. Unique indexes stay, as the copy relies on them. The
// indexes to add are recorded in dtle.deferred_indexes before the table is
// created, so that a restart at any point still adds them, and only to
// tables the job created. They are built in the background, one table at a
// time on a connection of their own (an online ALTER: the copy of the next
// tables and the binlog go on), so that no message waits on a long build.

// deferIndexes splits SHOW CREATE TABLE text into the statement without its
// plain secondary indexes and those indexes' definitions. It defers nothing
// for a table with foreign keys (they need their indexes), or for text not
// laid out one definition per line as SHOW CREATE TABLE writes it; it keeps
// an index that leads with the AUTO_INCREMENT column, which InnoDB needs.
func deferIndexes(create string) (string, []string) {
	if strings.Contains(create, "FOREIGN KEY") || !strings.HasPrefix(create, "CREATE TABLE ") {
		return create, nil
	}
	lines := strings.Split(create, "\n")
	auto := ""
	for _, l := range lines {
		if strings.HasPrefix(l, "  `") && strings.Contains(l, " AUTO_INCREMENT") {
			auto, _ = quoted(l[2:])
		}
	}
	var keep, deferred []string
	for _, l := range lines {
		if strings.HasPrefix(l, "  KEY `") && !leadsWith(l, auto) {
			deferred = append(deferred, strings.TrimSuffix(strings.TrimPrefix(l, "  "), ","))
			continue
		}
		keep = append(keep, l)
	}
	if len(deferred) == 0 {
		return create, nil
	}
	// The definition before ") ENGINE=..." must not end with a comma now.
	for i := 1; i < len(keep); i++ {
		if strings.HasPrefix(keep[i], ")") {
			keep[i-1] = strings.TrimSuffix(keep[i-1], ",")
		}
	}
	return strings.Join(keep, "\n"), deferred
}

// createDeferred returns the statement creating a table the job is about
// to copy, its plain indexes recorded to be added when the copy is
// complete; all of them stay for a table foreign keys refer to.
func (a *Applier) createDeferred(ctx context.Context, m *change.Message) (string, error) {
	t := m.Table
	full := createIfNotExists(t.CreateSQL)
	if m.Referenced {
		return full, nil
	}
	create, deferred := deferIndexes(full)
	if len(deferred) == 0 {
		return full, nil
	}
	var exists, recorded bool
	if err := a.conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?), "+
		"EXISTS (SELECT 1 FROM `"+CheckpointSchema+"`.`deferred_indexes` WHERE job_id = ? AND table_schema = ? AND table_name = ?)",
		t.Schema, t.Name, a.cfg.JobID, t.Schema, t.Name).Scan(&exists, &recorded); err != nil {
		return "", &ApplyError{What: "look for table " + t.Schema + "." + t.Name, Err: err}
	}
	if exists && !recorded {
		return full, nil // someone else's table: left as it is
	}
	if _, err := a.conn.ExecContext(ctx, "REPLACE INTO `"+CheckpointSchema+"`.`deferred_indexes` (job_id, table_schema, table_name, definitions) VALUES (?, ?, ?, ?)",
		a.cfg.JobID, t.Schema, t.Name, strings.Join(deferred, "\n")); err != nil {
		return "", &ApplyError{What: "record deferred indexes", Err: err}
	}
	return create, nil
}

// addDeferred adds the indexes recorded for a table whose copy is complete,
// those it does not have yet, in one ALTER TABLE.
func (a *Applier) addDeferred(ctx context.Context, conn *sql.Conn, t tableinfo.Name) error {
	var defs string
	err := conn.QueryRowContext(ctx, "SELECT definitions FROM `"+CheckpointSchema+"`.`deferred_indexes` WHERE job_id = ? AND table_schema = ? AND table_name = ?",
		a.cfg.JobID, t.Schema, t.Table).Scan(&defs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return &ApplyError{What: "read deferred indexes", Err: err}
	}
	have, err := indexNames(ctx, conn, t.Schema, t.Table)
	if err != nil {
		return err
	}
	var adds []string
	for _, d := range strings.Split(defs, "\n") {
		if name, ok := indexName(d); ok && !have[strings.ToLower(name)] {
			adds = append(adds, "ADD "+d)
		}
	}
	if len(adds) > 0 {
		begin := time.Now()
		a.log.Info("building secondary indexes", "table", t.String(), "indexes", len(adds))
		if _, err := conn.ExecContext(ctx, "ALTER TABLE "+tableinfo.QuoteName(t.Schema, t.Table)+" "+strings.Join(adds, ", ")); err != nil {
			return &ApplyError{What: "add secondary indexes to " + t.String(), Err: err}
		}
		a.log.Info("secondary indexes built", "table", t.String(), "took", time.Since(begin).Round(time.Millisecond))
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM `"+CheckpointSchema+"`.`deferred_indexes` WHERE job_id = ? AND table_schema = ? AND table_name = ?",
		a.cfg.JobID, t.Schema, t.Table); err != nil {
		return &ApplyError{What: "clear deferred indexes", Err: err}
	}
	return nil
}

// indexName reads the name of "KEY `name` (...)".
func indexName(def string) (string, bool) {
	rest, ok := strings.CutPrefix(def, "KEY ")
	if !ok {
		return "", false
	}
	name, _ := quoted(rest)
	return name, name != ""
}

// quoted reads the `name` s starts with, and returns what follows it; ""
// when s does not start with one.
func quoted(s string) (name, rest string) {
	if !strings.HasPrefix(s, "`") {
		return "", s
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] == '`' {
			if i+1 < len(s) && s[i+1] == '`' { // a doubled backtick inside the name
				b.WriteByte('`')
				i++
				continue
			}
			return b.String(), s[i+1:]
		}
		b.WriteByte(s[i])
	}
	return "", s
}

// leadsWith reports whether an index line's first column is col.
func leadsWith(line, col string) bool {
	_, rest := quoted(strings.TrimPrefix(line, "  KEY "))
	first, _ := quoted(strings.TrimPrefix(rest, " ("))
	return col != "" && first == col
}

// buildIndexes runs until ctx ends, building the deferred indexes of the
// copied tables whenever woken (wakeIndexBuilder); a failure fails the task,
// and the next start builds what is left.
func (a *Applier) buildIndexes(ctx context.Context) {
	var conn *sql.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.indexWake:
		}
		var err error
		if conn == nil {
			conn, err = a.session(ctx)
		}
		if err == nil {
			err = a.buildPending(ctx, conn)
		}
		if err != nil && ctx.Err() == nil {
			a.fail(err)
		}
	}
}

// wakeIndexBuilder tells the builder that a table may wait for its indexes.
func (a *Applier) wakeIndexBuilder() {
	select {
	case a.indexWake <- struct{}{}:
	default: // already woken
	}
}

// buildPending adds the deferred indexes of every table whose copy is done,
// or of those among only ("schema.table") when only is not empty. Builds run
// one at a time: a DDL calls it first for its tables, so it waits for a
// build of one of them under way and finds the table with every index it
// should have; a DDL on other tables does not wait.
func (a *Applier) buildPending(ctx context.Context, conn *sql.Conn, only ...string) error {
	if len(only) > 0 {
		names, err := a.pendingIndexes(ctx, conn, only)
		if err != nil || len(names) == 0 {
			return err
		}
	}
	a.indexMu.Lock()
	defer a.indexMu.Unlock()
	names, err := a.pendingIndexes(ctx, conn, only)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := retry(ctx, a.log, "index build", func() error { return a.addDeferred(ctx, conn, n) }); err != nil {
			return err
		}
	}
	return nil
}

// pendingIndexes lists the copied tables whose deferred indexes wait, of
// only those among only when it is not empty (names compared without
// regard to case: building one too many is harmless).
func (a *Applier) pendingIndexes(ctx context.Context, conn *sql.Conn, only []string) ([]tableinfo.Name, error) {
	rows, err := conn.QueryContext(ctx, "SELECT d.table_schema, d.table_name FROM `"+CheckpointSchema+"`.`deferred_indexes` d "+
		"JOIN `"+CheckpointSchema+"`.`copy_progress` p ON p.job_id = d.job_id AND p.table_schema = d.table_schema AND p.table_name = d.table_name "+
		"WHERE d.job_id = ? AND p.done = 1", a.cfg.JobID)
	if err != nil {
		return nil, &ApplyError{What: "read deferred indexes", Err: err}
	}
	defer func() { _ = rows.Close() }()
	var names []tableinfo.Name
	for rows.Next() {
		var n tableinfo.Name
		if err := rows.Scan(&n.Schema, &n.Table); err != nil {
			return nil, &ApplyError{What: "read deferred indexes", Err: err}
		}
		if len(only) == 0 || slices.ContainsFunc(only, func(s string) bool { return strings.EqualFold(s, n.String()) }) {
			names = append(names, n)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, &ApplyError{What: "read deferred indexes", Err: err}
	}
	return names, nil
}

func indexNames(ctx context.Context, q querier, schema, table string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, table)
	if err != nil {
		return nil, &ApplyError{What: "read indexes", Err: err}
	}
	defer func() { _ = rows.Close() }()
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, &ApplyError{What: "read indexes", Err: err}
		}
		have[strings.ToLower(n)] = true
	}
	return have, rows.Err()
}
