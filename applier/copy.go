package applier

import (
	"context"
	"fmt"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// createTable makes the table ready for its chunks: creates schema and
// table unless told not to, and empties a table an earlier attempt left
// half copied. A table the job never started is not emptied: its rows
// belong to someone else, and the copy will stop on a duplicate key.
func (a *Applier) createTable(ctx context.Context, m *change.Message) error {
	t := m.Table
	if a.stage == "" {
		a.stage = change.StageFull
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
	var stmts []string
	if !m.SkipCreate {
		stmts = append(stmts, "CREATE DATABASE IF NOT EXISTS "+tableinfo.Quote(t.Schema))
		if m.DropFirst && !started {
			stmts = append(stmts, "DROP TABLE IF EXISTS "+name)
		}
		stmts = append(stmts, "USE "+tableinfo.Quote(t.Schema), createIfNotExists(t.CreateSQL))
	}
	if started {
		stmts = append(stmts, "TRUNCATE TABLE "+name)
	}
	for _, q := range stmts {
		if _, err := a.conn.ExecContext(ctx, q); err != nil {
			return &ApplyError{What: fmt.Sprintf("prepare table %s.%s", t.Schema, t.Name), Err: err}
		}
	}
	a.tables.forget(t.Schema, t.Name)
	return saveTableProgress(ctx, a.conn, a.cfg.JobID, change.TableProgress{Schema: t.Schema, Table: t.Name})
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
	a.chunkWG.Add(1)
	select {
	case a.chunks <- chunkJob{table: m.Table, rows: m.Rows}:
		return nil
	case <-ctx.Done():
		a.chunkWG.Done()
		return ctx.Err()
	}
}

// writeChunks is one chunk writer; each has its own connection.
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
	for job := range a.chunks {
		if a.copyError() == nil {
			stmts, args := batchInsert("INSERT", job.table, job.rows)
			for i, q := range stmts {
				err := retry(ctx, a.log, "copy chunk", func() error {
					_, err := conn.ExecContext(ctx, q, args[i]...)
					return err
				})
				if err != nil {
					a.setCopyError(&ApplyError{What: fmt.Sprintf("copy rows into %s.%s", job.table.Schema, job.table.Name), Err: err})
					break
				}
			}
			a.Stats.RowsCopied.Add(int64(len(job.rows)))
		}
		a.chunkWG.Done()
	}
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
	return saveTableProgress(ctx, a.conn, a.cfg.JobID,
		change.TableProgress{Schema: m.Table.Schema, Table: m.Table.Name, Done: true, Pos: m.Pos})
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
	a.flavor, a.stage, a.executed = m.Flavor, change.StageIncr, start
	for _, p := range cp.Tables {
		if set, err := change.ParseGTIDSet(m.Flavor, p.Pos); err == nil {
			a.copyPos[p.Schema+"."+p.Table] = set
		}
	}
	a.log.Info("full copy done", "binlog_from", start.String())
	a.event("job_stage_incr")
	return nil
}
