package applier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

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
// tables the job created.

// deferIndexes splits SHOW CREATE TABLE text into the statement without its
// plain secondary indexes and those indexes' definitions. It defers nothing
// for a table with foreign keys (they need their indexes), or for text not
// laid out one definition per line as SHOW CREATE TABLE writes it.
func deferIndexes(create string) (string, []string) {
	if strings.Contains(create, "FOREIGN KEY") || !strings.HasPrefix(create, "CREATE TABLE ") {
		return create, nil
	}
	lines := strings.Split(create, "\n")
	var keep, deferred []string
	for _, l := range lines {
		if strings.HasPrefix(l, "  KEY `") {
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

// createDeferred creates a table the job is about to copy, its plain
// indexes recorded to be added when the copy is complete.
func (a *Applier) createDeferred(ctx context.Context, t *change.Table) (string, error) {
	create, deferred := deferIndexes(createIfNotExists(t.CreateSQL))
	if len(deferred) == 0 {
		return create, nil
	}
	var exists int
	if err := a.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		t.Schema, t.Name).Scan(&exists); err != nil {
		return "", &ApplyError{What: "look for table " + t.Schema + "." + t.Name, Err: err}
	}
	var recorded int
	if err := a.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+CheckpointSchema+"`.`deferred_indexes` WHERE job_id = ? AND table_schema = ? AND table_name = ?",
		a.cfg.JobID, t.Schema, t.Name).Scan(&recorded); err != nil {
		return "", &ApplyError{What: "read deferred indexes", Err: err}
	}
	if exists > 0 && recorded == 0 {
		return createIfNotExists(t.CreateSQL), nil // someone else's table: left as it is
	}
	if _, err := a.conn.ExecContext(ctx, "REPLACE INTO `"+CheckpointSchema+"`.`deferred_indexes` (job_id, table_schema, table_name, definitions) VALUES (?, ?, ?, ?)",
		a.cfg.JobID, t.Schema, t.Name, strings.Join(deferred, "\n")); err != nil {
		return "", &ApplyError{What: "record deferred indexes", Err: err}
	}
	return create, nil
}

// addDeferred adds the indexes recorded for a table whose copy is complete,
// those it does not have yet, in one ALTER TABLE.
func (a *Applier) addDeferred(ctx context.Context, t *change.Table) error {
	var defs string
	err := a.conn.QueryRowContext(ctx, "SELECT definitions FROM `"+CheckpointSchema+"`.`deferred_indexes` WHERE job_id = ? AND table_schema = ? AND table_name = ?",
		a.cfg.JobID, t.Schema, t.Name).Scan(&defs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return &ApplyError{What: "read deferred indexes", Err: err}
	}
	have, err := indexNames(ctx, a.conn, t.Schema, t.Name)
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
		a.log.Info("adding the secondary indexes", "table", t.Schema+"."+t.Name, "indexes", len(adds))
		if _, err := a.conn.ExecContext(ctx, "ALTER TABLE "+tableinfo.QuoteName(t.Schema, t.Name)+" "+strings.Join(adds, ", ")); err != nil {
			return &ApplyError{What: fmt.Sprintf("add secondary indexes to %s.%s", t.Schema, t.Name), Err: err}
		}
		a.tables.forget(t.Schema, t.Name)
	}
	if _, err := a.conn.ExecContext(ctx, "DELETE FROM `"+CheckpointSchema+"`.`deferred_indexes` WHERE job_id = ? AND table_schema = ? AND table_name = ?",
		a.cfg.JobID, t.Schema, t.Name); err != nil {
		return &ApplyError{What: "clear deferred indexes", Err: err}
	}
	return nil
}

// indexName reads the name of "KEY `name` (...)".
func indexName(def string) (string, bool) {
	rest, ok := strings.CutPrefix(def, "KEY `")
	if !ok {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		if rest[i] == '`' {
			if i+1 < len(rest) && rest[i+1] == '`' { // a doubled backtick inside the name
				b.WriteByte('`')
				i++
				continue
			}
			return b.String(), true
		}
		b.WriteByte(rest[i])
	}
	return "", false
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
