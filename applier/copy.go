package applier

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// createTable makes the table ready for its chunks: creates schema and
// table unless told not to. A table an earlier attempt started is kept when
// the source resumes it by key (its later chunks replace what they overlap),
// and emptied otherwise. A table the job never started is not emptied: its
// rows belong to someone else, and the copy stops on a duplicate key.
func (a *Applier) createTable(ctx context.Context, m *change.Message) error {
	t := m.Table
	if a.stage == "" {
		a.setStage(change.StageFull)
		if err := saveCheckpoint(ctx, a.conn, a.cfg.JobID, m.Flavor, change.StageFull, ""); err != nil {
			return err
		}
		a.event("job_stage_full")
	}
	name := tableinfo.QuoteName(t.Schema, t.Name)
	var started bool
	err := a.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+CheckpointSchema+"`.`copy_progress` WHERE job_id = ? AND table_schema = ? AND table_name = ?",
		a.cfg.JobID, t.Schema, t.Name).Scan(&started)
	if err != nil {
		return &ApplyError{What: "read copy progress", Err: err}
	}
	run := func(stmts ...string) error {
		for _, q := range stmts {
			if _, err := a.conn.ExecContext(ctx, q); err != nil {
				return &ApplyError{What: fmt.Sprintf("prepare table %s.%s", t.Schema, t.Name), Err: err}
			}
		}
		return nil
	}
	if !m.SkipCreate {
		// Only when missing: CREATE DATABASE waits for any ALTER under way
		// in the schema, such as an index build (indexes.go).
		var schemaExists bool
		if err := a.conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?)",
			t.Schema).Scan(&schemaExists); err != nil {
			return &ApplyError{What: "look for schema " + t.Schema, Err: err}
		}
		if !schemaExists {
			if err := run("CREATE DATABASE IF NOT EXISTS " + tableinfo.Quote(t.Schema)); err != nil {
				return err
			}
		}
		if m.DropFirst && !started {
			if err := run("DROP TABLE IF EXISTS " + name); err != nil {
				return err
			}
		}
		create, err := a.createDeferred(ctx, m)
		if err != nil {
			return err
		}
		if err := run("USE "+tableinfo.Quote(t.Schema), create); err != nil {
			return err
		}
	}
	resumed := started && m.Resume
	if started && !resumed {
		if err := run("TRUNCATE TABLE " + name); err != nil {
			return err
		}
	}
	a.tables.forget(t.Schema, t.Name)
	a.resumed[t.Schema+"."+t.Name] = resumed
	plan, err := a.planLoad(ctx, t)
	if err != nil {
		return err
	}
	a.loads[t.Schema+"."+t.Name] = plan
	if resumed {
		// Keep the earliest snapshot; drop chunk records off the committed chain.
		return a.pruneChunks(ctx, t)
	}
	if _, err := a.conn.ExecContext(ctx, "DELETE FROM `"+CheckpointSchema+"`.`copy_chunks` WHERE job_id = ? AND table_schema = ? AND table_name = ?",
		a.cfg.JobID, t.Schema, t.Name); err != nil {
		return &ApplyError{What: "reset copied chunks", Err: err}
	}
	return saveTableProgress(ctx, a.conn, a.cfg.JobID, change.TableProgress{Schema: t.Schema, Table: t.Name, Pos: m.Pos})
}

func (a *Applier) pruneChunks(ctx context.Context, t *change.Table) error {
	_, keep, err := committedPrefix(ctx, a.conn, a.cfg.JobID, t.Schema, t.Name)
	if err != nil {
		return err
	}
	q := "DELETE FROM `" + CheckpointSchema + "`.`copy_chunks` WHERE job_id = ? AND table_schema = ? AND table_name = ?"
	args := []any{a.cfg.JobID, t.Schema, t.Name}
	if len(keep) > 0 {
		q += " AND id NOT IN (" + strings.TrimSuffix(strings.Repeat("?,", len(keep)), ",") + ")"
		for _, id := range keep {
			args = append(args, id)
		}
	}
	if _, err := a.conn.ExecContext(ctx, q, args...); err != nil {
		return &ApplyError{What: "prune copied chunks", Err: err}
	}
	return nil
}

// createIfNotExists turns "CREATE TABLE `t`" into "CREATE TABLE IF NOT EXISTS `t`".
func createIfNotExists(create string) string {
	const head = "CREATE TABLE "
	if len(create) > len(head) && create[:len(head)] == head {
		return head + "IF NOT EXISTS " + create[len(head):]
	}
	return create
}

func (a *Applier) queueChunk(ctx context.Context, m *change.Message) error {
	key := m.Table.Schema + "." + m.Table.Name
	job := chunkJob{table: m.Table, rows: m.Rows, replace: a.resumed[key], load: a.loads[key]}
	if m.Hi != nil {
		var err error
		if job.lo, err = change.EncodeRow(m.Lo); err != nil {
			return err
		}
		if job.hi, err = change.EncodeRow(m.Hi); err != nil {
			return err
		}
		if job.lo == nil {
			job.lo = []byte{}
		}
	}
	a.chunkWG.Add(1)
	select {
	case a.chunks <- job:
		return nil
	case <-ctx.Done():
		a.chunkWG.Done()
		return ctx.Err()
	}
}

// Chunk groups: a writer commits the chunks queued when it is free, up to
// these limits, in one destination transaction.
const (
	maxGroupChunks = 8
	maxGroupBytes  = 8 << 20
)

// writeChunks is one chunk writer; each has its own connection. A keyed
// chunk commits together with its record in copy_chunks.
func (a *Applier) writeChunks(ctx context.Context) {
	conn, err := a.session(ctx)
	if err != nil {
		a.setCopyError(err)
		for range a.chunks {
			a.chunkWG.Done()
		}
		return
	}
	defer func() { _ = conn.Close() }()
	src := newLoadSource()
	defer src.close()
	for job := range a.chunks {
		group := takeQueued(job, a.chunks, maxGroupChunks, func(j *chunkJob) int { return len(j.rows.Data) }, maxGroupBytes)
		if a.copyError() == nil {
			if err := a.writeGroup(ctx, conn, src, group); err != nil {
				a.setCopyError(err)
			} else {
				for _, j := range group {
					a.Stats.RowsCopied.Add(int64(j.rows.N))
				}
			}
		}
		for range group {
			a.chunkWG.Done()
		}
	}
}

// chunkSQL is a chunk rendered for writing: INSERT statements, or the
// stream of a LOAD DATA statement.
type chunkSQL struct {
	stmts []string
	load  string // the LOAD DATA statement; data is its stream
	data  []byte
}

// writeGroup writes chunks in one transaction, with their copy_chunks
// records; a transient failure is retried. A destination that refuses LOAD
// DATA LOCAL gets the group, and every chunk after it, as INSERT.
func (a *Applier) writeGroup(ctx context.Context, conn *sql.Conn, src *loadSource, group []chunkJob) error {
	err := a.writeRendered(ctx, conn, src, group)
	if err == nil || !loadRefused(err) {
		return err
	}
	if !a.loadRefused.Swap(true) {
		a.log.Warn("the destination refuses LOAD DATA LOCAL INFILE (local_infile is off): the full copy writes INSERT, which costs the destination more", "error", err)
	}
	return a.writeRendered(ctx, conn, src, group)
}

func (a *Applier) writeRendered(ctx context.Context, conn *sql.Conn, src *loadSource, group []chunkJob) error {
	rendered := make([]chunkSQL, len(group))
	for i, job := range group {
		var err error
		if rendered[i], err = a.renderChunk(job, src); err != nil {
			return &ApplyError{What: fmt.Sprintf("copy rows into %s.%s", job.table.Schema, job.table.Name), Err: err}
		}
	}
	return retry(ctx, a.log, "copy chunk", func() error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		for i, job := range group {
			if err := a.writeChunk(ctx, tx, src, job, &rendered[i]); err != nil {
				return &ApplyError{What: fmt.Sprintf("copy rows into %s.%s", job.table.Schema, job.table.Name), Err: err}
			}
		}
		return tx.Commit()
	})
}

func (a *Applier) renderChunk(job chunkJob, src *loadSource) (chunkSQL, error) {
	if job.load != nil && !a.loadRefused.Load() {
		data, err := packedLoad(job.table, job.rows)
		return chunkSQL{load: job.load.statement(src.name, job.replace), data: data}, err
	}
	verb := "INSERT"
	if job.replace {
		verb = "REPLACE"
	}
	stmts, err := packedInsert(verb, job.table, job.rows)
	return chunkSQL{stmts: stmts}, err
}

// writeChunk writes one chunk and its copy_chunks record.
func (a *Applier) writeChunk(ctx context.Context, tx *sql.Tx, src *loadSource, job chunkJob, c *chunkSQL) error {
	for _, q := range c.stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if c.load != "" {
		src.data = c.data
		res, err := tx.ExecContext(ctx, c.load)
		src.data = nil
		if err != nil {
			return err
		}
		// LOCAL skips rows whose key exists, where INSERT would fail: a
		// short count is that failure.
		if n, err := res.RowsAffected(); err == nil && !job.replace && n != int64(job.rows.N) {
			return fmt.Errorf("%d of the chunk's %d rows were written: the others have keys that already exist on the destination", n, job.rows.N)
		}
	}
	if job.hi == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO `"+CheckpointSchema+"`.`copy_chunks` (job_id, table_schema, table_name, lo, hi) VALUES (?, ?, ?, ?, ?)",
		a.cfg.JobID, job.table.Schema, job.table.Name, job.lo, job.hi)
	return err
}

func (a *Applier) setCopyError(err error) { a.copyErr.CompareAndSwap(nil, &err) }

func (a *Applier) copyError() error {
	if p := a.copyErr.Load(); p != nil {
		return *p
	}
	return nil
}

// waitChunks waits until every queued chunk is written.
func (a *Applier) waitChunks() error {
	a.chunkWG.Wait()
	return a.copyError()
}

func (a *Applier) tableDone(ctx context.Context, m *change.Message) error {
	if err := a.waitChunks(); err != nil {
		return err
	}
	if err := markTableDone(ctx, a.conn, a.cfg.JobID, m.Table.Schema, m.Table.Name); err != nil {
		return err
	}
	a.wakeIndexBuilder()
	return nil
}

// copyDone starts the binlog stage at the earliest snapshot any table was
// copied at; events a table already holds are skipped by its own snapshot.
func (a *Applier) copyDone(ctx context.Context, m *change.Message) error {
	if err := a.waitChunks(); err != nil {
		return err
	}
	cp, err := loadCheckpoint(ctx, a.db, a.cfg.JobID)
	if err != nil {
		return err
	}
	start, err := change.ParseGTIDSet(m.Flavor, m.Pos)
	if err != nil {
		return fmt.Errorf("copy done: %w", err)
	}
	for _, p := range cp.Tables {
		set, err := change.ParseGTIDSet(m.Flavor, p.Pos)
		if err != nil {
			return fmt.Errorf("copy progress of %s.%s: %w", p.Schema, p.Table, err)
		}
		if change.Before(set, start) {
			start = set
		}
	}
	if err := saveCheckpoint(ctx, a.conn, a.cfg.JobID, m.Flavor, change.StageIncr, start.String()); err != nil {
		return err
	}
	a.flavor, a.executed = m.Flavor, start
	a.setStage(change.StageIncr)
	cp.Flavor = m.Flavor
	if err := a.setCopyPos(cp); err != nil {
		return err
	}
	a.log.Info("full copy done", "binlog_from", start.String())
	a.event("job_stage_incr")
	return nil
}
