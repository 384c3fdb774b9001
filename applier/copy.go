package applier

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/position"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// copier is the full-copy half of the applier: it prepares each table,
// hands its chunks to a pool of chunk writers (chunks.go), loads them with
// LOAD DATA where it can (load.go), and has a table's deferred indexes
// built once its copy is complete (indexes.go).
type copier struct {
	*dest
	writers int // how many chunk writers Run starts
	// resumed and loads are the listener's, per table prepared this session:
	// whether it resumed by key, and its LOAD DATA plan (nil: INSERT).
	resumed map[change.TableName]bool
	loads   map[change.TableName]*loadPlan
	// load is the destination's support, read at the first table.
	load        *loadSupport
	loadRefused atomic.Bool // the destination refused LOAD DATA LOCAL: INSERT from then on
	// chunks carries chunks to the writers; pending counts those not written.
	chunks  chan chunkJob
	pending *backlog
	indexes *indexBuilder
}

// chunkWriters is how many connections write full-copy chunks.
func chunkWriters(t *config.Task) int { return max(t.ParallelWorkers, 4) }

func newCopier(d *dest, writers int) *copier {
	return &copier{dest: d, writers: writers, resumed: map[change.TableName]bool{}, loads: map[change.TableName]*loadPlan{},
		chunks: make(chan chunkJob, 2*writers), pending: newBacklog(d.stop), indexes: newIndexBuilder(d)}
}

// start runs the chunk writers and the index builder in g until ctx ends.
func (c *copier) start(ctx context.Context, g *errgroup.Group) {
	g.Go(func() error { return c.indexes.run(ctx) })
	c.indexes.wake() // tables an earlier start copied may still wait
	for range c.writers {
		g.Go(func() error { return c.writeChunks(ctx) })
	}
}

// createTable makes the table ready for its chunks: creates schema and
// table unless told not to. A table an earlier attempt started is kept when
// the source resumes it by key (its later chunks replace what they overlap),
// and emptied otherwise. A table the job never started is not emptied: its
// rows belong to someone else, and the copy stops on a duplicate key.
func (c *copier) createTable(ctx context.Context, m *change.Message) error {
	t := m.Table
	name := t.TableName()
	var started bool
	err := c.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+CheckpointSchema+"`.`copy_progress` WHERE job_id = ? AND table_schema = ? AND table_name = ?",
		c.job, t.Schema, t.Name).Scan(&started)
	if err != nil {
		return &ApplyError{What: "read copy progress", Err: err}
	}
	if !m.SkipCreate {
		if err := c.create(ctx, m, started); err != nil {
			return err
		}
	}
	resumed := started && m.KeepRows
	if started && !resumed {
		if err := c.run(ctx, t, "TRUNCATE TABLE "+tableinfo.QuoteName(t.Schema, t.Name)); err != nil {
			return err
		}
	}
	c.tables.forget(name)
	c.resumed[name] = resumed
	plan, err := c.planLoad(ctx, t)
	if err != nil {
		return err
	}
	c.loads[name] = plan
	if resumed {
		// Keep the earliest snapshot; drop chunk records off the committed chain.
		return c.pruneChunks(ctx, name)
	}
	if _, err := c.conn.ExecContext(ctx, "DELETE FROM `"+CheckpointSchema+"`.`copy_chunks` WHERE job_id = ? AND table_schema = ? AND table_name = ?",
		c.job, t.Schema, t.Name); err != nil {
		return &ApplyError{What: "reset copied chunks", Err: err}
	}
	return writeTableProgress(ctx, c.conn, c.job, change.TableProgress{Schema: t.Schema, Table: t.Name, Snapshot: m.Snapshot})
}

// create creates the schema where missing, drops the table first when told
// to and the job never started it, and creates it.
func (c *copier) create(ctx context.Context, m *change.Message, started bool) error {
	t := m.Table
	// Only when missing: CREATE DATABASE waits for any ALTER under way
	// in the schema, such as an index build (indexes.go).
	var schemaExists bool
	if err := c.conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?)",
		t.Schema).Scan(&schemaExists); err != nil {
		return &ApplyError{What: "look for schema " + t.Schema, Err: err}
	}
	if !schemaExists {
		if err := c.run(ctx, t, "CREATE DATABASE IF NOT EXISTS "+tableinfo.Quote(t.Schema)); err != nil {
			return err
		}
	}
	if m.DropFirst && !started {
		if err := c.run(ctx, t, "DROP TABLE IF EXISTS "+tableinfo.QuoteName(t.Schema, t.Name)); err != nil {
			return err
		}
	}
	create, err := c.indexes.createDeferred(ctx, m)
	if err != nil {
		return err
	}
	if err := position.CheckDDL(create, t.Schema); err != nil {
		return &ApplyError{What: fmt.Sprintf("create table %s.%s", t.Schema, t.Name), Err: err}
	}
	return c.run(ctx, t, "USE "+tableinfo.Quote(t.Schema), create)
}

// run runs statements preparing table t on the listener's session for
// statements from the source, which takes one statement at a time.
func (c *copier) run(ctx context.Context, t *change.Table, stmts ...string) error {
	for _, q := range stmts {
		if _, err := c.ddl.ExecContext(ctx, q); err != nil {
			return &ApplyError{What: fmt.Sprintf("prepare table %s.%s", t.Schema, t.Name), Err: err}
		}
	}
	return nil
}

// pruneChunks drops the chunk records of a resumed table that are off its
// committed chain.
func (c *copier) pruneChunks(ctx context.Context, t change.TableName) error {
	_, keep, err := committedPrefix(ctx, c.conn, c.job, t)
	if err != nil {
		return err
	}
	q := "DELETE FROM `" + CheckpointSchema + "`.`copy_chunks` WHERE job_id = ? AND table_schema = ? AND table_name = ?"
	args := []any{c.job, t.Schema, t.Table}
	if len(keep) > 0 {
		q += " AND id NOT IN (" + strings.TrimSuffix(strings.Repeat("?,", len(keep)), ",") + ")"
		for _, id := range keep {
			args = append(args, id)
		}
	}
	if _, err := c.conn.ExecContext(ctx, q, args...); err != nil {
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

// queueChunk hands a chunk to the writers; it blocks while they are busy.
func (c *copier) queueChunk(ctx context.Context, m *change.Message) error {
	name := m.Table.TableName()
	job := chunkJob{table: m.Table, rows: m.Rows, replace: c.resumed[name], load: c.loads[name]}
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
	c.pending.add(0)
	select {
	case c.chunks <- job:
		return nil
	case <-ctx.Done():
		c.pending.done(1, 0)
		return ctx.Err()
	case <-c.stop.stopped():
		c.pending.done(1, 0)
		return c.stop.err()
	}
}

// waitChunks waits until every queued chunk is written; it returns why the
// background work stopped if it stops first.
func (c *copier) waitChunks() error { return c.pending.wait() }

// tableDone records a table as copied, once its chunks are written, and
// has its deferred indexes built.
func (c *copier) tableDone(ctx context.Context, m *change.Message) error {
	if err := c.waitChunks(); err != nil {
		return err
	}
	if err := markTableDone(ctx, c.conn, c.job, m.Table.TableName()); err != nil {
		return err
	}
	c.indexes.wake()
	return nil
}
