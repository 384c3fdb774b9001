package applier

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
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
//
// The listener waits on none of this per table: a copy of many small tables
// would otherwise pay a round trip to the destination server for each step
// of each table, one table after the other. Tables are prepared (created,
// their progress recorded) by a pool of preparers while the source reads
// the next ones; a table's chunks wait for its preparation in the writers;
// and a table is recorded as done by the marker once its chunks are
// committed, several tables in one transaction.
type copier struct {
	*dest
	writers int // how many chunk writers Run starts
	// copies are the listener's: the tables prepared this session, by name.
	copies map[change.TableName]*tableCopy
	// load is the destination's support, read at the first table.
	load        *loadSupport
	loadOnce    sync.Once
	loadRefused atomic.Bool // the destination refused LOAD DATA LOCAL: INSERT from then on
	// preps carries tables to the preparers, chunks chunks to the writers;
	// pending counts the preparations, chunks and done marks not finished.
	preps   chan *tableCopy
	chunks  chan chunkJob
	pending *backlog
	marks   *marker
	indexes *indexBuilder
}

// tableCopy is one table's copy in this session: its preparation, and what
// must happen before it may be recorded as done.
type tableCopy struct {
	m *change.Message // the KindTable message
	// ready closes once the table is prepared; resumed (it resumed by key)
	// and load (its LOAD DATA plan, nil: INSERT) are set then, err when the
	// preparation failed.
	ready   chan struct{}
	resumed bool
	load    *loadPlan
	err     error

	mu sync.Mutex
	// open counts the preparation and the chunks not yet committed; ended
	// says the source sent the table's end. When both say the table is
	// complete, it is handed to the marker.
	open  int
	ended bool
}

// chunkWriters is how many connections write full-copy chunks.
func chunkWriters(t *config.Task) int { return max(t.ParallelWorkers, 4) }

// tablePreparers is how many connections prepare tables: CREATE TABLE waits
// on the server's files more than on its CPU, so a few overlap well.
const tablePreparers = 4

func newCopier(d *dest, writers int) *copier {
	c := &copier{dest: d, writers: writers, copies: map[change.TableName]*tableCopy{},
		preps: make(chan *tableCopy, 2*tablePreparers), chunks: make(chan chunkJob, 2*writers), pending: newBacklog(d.stop),
		indexes: newIndexBuilder(d)}
	c.marks = &marker{c: c, wake: make(chan struct{}, 1)}
	return c
}

// start runs the preparers, the chunk writers, the marker and the index
// builder in g until ctx ends.
func (c *copier) start(ctx context.Context, g *errgroup.Group) {
	g.Go(func() error { return c.indexes.run(ctx) })
	c.indexes.wake() // tables an earlier start copied may still wait
	g.Go(func() error { return c.marks.run(ctx) })
	for range tablePreparers {
		g.Go(func() error { return c.prepareTables(ctx) })
	}
	for range c.writers {
		g.Go(func() error { return c.writeChunks(ctx) })
	}
}

// resetSession forgets the tables of the session before: a new one sends
// each table it copies again.
func (c *copier) resetSession() { c.copies = map[change.TableName]*tableCopy{} }

// createTable hands the table to the preparers; it waits only while they
// are all busy and their queue is full.
func (c *copier) createTable(ctx context.Context, m *change.Message) error {
	tc := &tableCopy{m: m, ready: make(chan struct{}), open: 1}
	c.copies[m.Table.TableName()] = tc
	c.pending.add(0)
	select {
	case c.preps <- tc:
		return nil
	case <-ctx.Done():
		c.pending.done(1, 0)
		return ctx.Err()
	case <-c.stop.stopped():
		c.pending.done(1, 0)
		return c.stop.err()
	}
}

// prepareTables is one preparer, with connections of its own; it runs until
// ctx ends (nil) or a preparation fails (the error).
func (c *copier) prepareTables(ctx context.Context) error {
	var conn, ddl *sql.Conn
	defer func() {
		for _, cn := range []*sql.Conn{conn, ddl} {
			if cn != nil {
				_ = cn.Close()
			}
		}
	}()
	for {
		var tc *tableCopy
		select {
		case <-ctx.Done():
			return nil
		case tc = <-c.preps:
		}
		var err error
		if conn == nil {
			conn, err = c.session(ctx)
		}
		if err == nil && ddl == nil {
			ddl, err = c.ddlSession(ctx)
		}
		if err == nil {
			err = c.prepare(ctx, conn, ddl, tc)
		}
		tc.err = err
		close(tc.ready)
		if err == nil {
			c.settle(tc, 1) // before the preparation is uncounted, so that no wait ends between
		}
		c.pending.done(1, 0)
		if err != nil {
			return err
		}
	}
}

// prepare makes the table ready for its chunks: creates schema and table
// unless told not to. A table an earlier attempt started is kept when the
// source resumes it by key (its later chunks replace what they overlap),
// and emptied otherwise. A table the job never started is not emptied: its
// rows belong to someone else, and the copy stops on a duplicate key.
func (c *copier) prepare(ctx context.Context, conn, ddl *sql.Conn, tc *tableCopy) error {
	m := tc.m
	t := m.Table
	name := t.TableName()
	var started bool
	err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+CheckpointSchema+"`.`copy_progress` WHERE job_id = ? AND table_schema = ? AND table_name = ?",
		c.job, t.Schema, t.Name).Scan(&started)
	if err != nil {
		return &ApplyError{What: "read copy progress", Err: err}
	}
	if !m.SkipCreate {
		if err := c.create(ctx, conn, ddl, m, started); err != nil {
			return err
		}
	}
	resumed := started && m.KeepRows
	if started && !resumed {
		if err := run(ctx, ddl, t, "TRUNCATE TABLE "+tableinfo.QuoteName(t.Schema, t.Name)); err != nil {
			return err
		}
	}
	c.tables.forget(name)
	tc.resumed = resumed
	if tc.load, err = c.planLoadOn(ctx, conn, t); err != nil {
		return err
	}
	if resumed {
		// Keep the earliest snapshot; drop chunk records off the committed chain.
		return c.pruneChunks(ctx, conn, name)
	}
	// One round trip: the connection takes several statements.
	if _, err := conn.ExecContext(ctx, "DELETE FROM `"+CheckpointSchema+"`.`copy_chunks` WHERE job_id = ? AND table_schema = ? AND table_name = ?; "+
		tableProgressSQL, c.job, t.Schema, t.Name, c.job, t.Schema, t.Name, false, m.Snapshot); err != nil {
		return &ApplyError{What: "reset copy progress", Err: err}
	}
	return nil
}

// create creates the schema where missing, drops the table first when told
// to and the job never started it, and creates it.
func (c *copier) create(ctx context.Context, conn, ddl *sql.Conn, m *change.Message, started bool) error {
	t := m.Table
	// Only when missing: CREATE DATABASE waits for any ALTER under way
	// in the schema, such as an index build (indexes.go).
	var schemaExists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?)",
		t.Schema).Scan(&schemaExists); err != nil {
		return &ApplyError{What: "look for schema " + t.Schema, Err: err}
	}
	if !schemaExists {
		if err := run(ctx, ddl, t, "CREATE DATABASE IF NOT EXISTS "+tableinfo.Quote(t.Schema)); err != nil {
			return err
		}
	}
	if m.DropFirst && !started {
		if err := run(ctx, ddl, t, "DROP TABLE IF EXISTS "+tableinfo.QuoteName(t.Schema, t.Name)); err != nil {
			return err
		}
	}
	create, err := c.indexes.createDeferred(ctx, conn, m)
	if err != nil {
		return err
	}
	if err := position.CheckDDL(create, t.Schema); err != nil {
		return &ApplyError{What: fmt.Sprintf("create table %s.%s", t.Schema, t.Name), Err: err}
	}
	return run(ctx, ddl, t, "USE "+tableinfo.Quote(t.Schema), create)
}

// run runs statements preparing table t on a session for statements from
// the source, which takes one statement at a time.
func run(ctx context.Context, ddl *sql.Conn, t *change.Table, stmts ...string) error {
	for _, q := range stmts {
		if _, err := ddl.ExecContext(ctx, q); err != nil {
			return &ApplyError{What: fmt.Sprintf("prepare table %s.%s", t.Schema, t.Name), Err: err}
		}
	}
	return nil
}

// pruneChunks drops the chunk records of a resumed table that are off its
// committed chain.
func (c *copier) pruneChunks(ctx context.Context, conn *sql.Conn, t change.TableName) error {
	_, keep, err := committedPrefix(ctx, conn, c.job, t)
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
	if _, err := conn.ExecContext(ctx, q, args...); err != nil {
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
// The writer waits for the table's preparation.
func (c *copier) queueChunk(ctx context.Context, m *change.Message) error {
	// A chunk without its table (never sent by a source, which starts
	// every table it sends in the session) is written as INSERT at once.
	tc := c.copies[m.Table.TableName()]
	job := chunkJob{table: m.Table, rows: m.Rows, copy: tc}
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
	n := job.budget()
	if err := c.pending.reserve(ctx, n, copyQueueBytes); err != nil {
		return err
	}
	if tc != nil {
		tc.mu.Lock()
		tc.open++
		tc.mu.Unlock()
	}
	select {
	case c.chunks <- job:
		return nil
	case <-ctx.Done():
		c.pending.done(1, n)
		return ctx.Err()
	case <-c.stop.stopped():
		c.pending.done(1, n)
		return c.stop.err()
	}
}

// copyQueueBytes bounds the rows of the chunks received and not yet
// committed, queued or being written: the listener takes no more until
// the writers catch up. Chunks are counted, not rows: with rows of a MiB a
// chunk channel of a few slots and writers taking groups of up to
// maxGroupBytes held 100 MiB of rows and their rendering.
const copyQueueBytes = 16 << 20

// budget is what a chunk counts against copyQueueBytes: its rows' bytes,
// at most all of it (one chunk of one huge row still passes, alone).
func (j *chunkJob) budget() int64 { return min(int64(len(j.rows.Data)), copyQueueBytes) }

// waitChunks waits until every table handed over is prepared, every queued
// chunk written and every table complete recorded as done; it returns why
// the background work stopped if it stops first.
func (c *copier) waitChunks() error { return c.pending.wait() }

// tableDone says the source sent all of the table's chunks. It does not
// wait for them: the table is recorded as done, and its deferred indexes
// built, once they are committed (settle). Until then a restart finds it
// started and not done, and copies what it lacks again.
func (c *copier) tableDone(ctx context.Context, m *change.Message) error {
	tc := c.copies[m.Table.TableName()]
	if tc == nil {
		// Not started in this session (never sent by a source): recorded
		// once every chunk queued is written.
		if err := c.waitChunks(); err != nil {
			return err
		}
		return markTableDone(ctx, c.conn, c.job, m.Table.TableName())
	}
	tc.mu.Lock()
	tc.ended = true
	tc.mu.Unlock()
	c.settle(tc, 0)
	return nil
}

// settle uncounts n parts of the table finished (its preparation, its
// chunks committed) and hands it to the marker once it is complete: all of
// them finished and its end sent. The preparer and the writers call it as
// they finish their parts, before they uncount them from pending (so that
// waitChunks never ends in between), and the listener at the table's end;
// exactly one call hands the table over.
func (c *copier) settle(tc *tableCopy, n int) {
	tc.mu.Lock()
	tc.open -= n
	complete := tc.ended && tc.open == 0
	if complete {
		tc.ended = false // handed over once
	}
	tc.mu.Unlock()
	if complete {
		c.pending.add(0)
		c.marks.add(tc.m.Table.TableName())
	}
}

// marker records tables as done, those complete since its last commit in
// one transaction, and wakes the index builder.
type marker struct {
	c    *copier
	mu   sync.Mutex
	todo []change.TableName
	wake chan struct{}
}

// add queues a table complete; it never waits.
func (k *marker) add(t change.TableName) {
	k.mu.Lock()
	k.todo = append(k.todo, t)
	k.mu.Unlock()
	nudge(k.wake)
}

// maxMarks bounds the tables one transaction of the marker records.
const maxMarks = 500

// run records the tables queued whenever woken, until ctx ends (nil) or a
// record fails (the error).
func (k *marker) run(ctx context.Context) error {
	conn := lazyConn{open: k.c.session}
	defer conn.close()
	return whenWoken(ctx, k.wake, func() error {
		for {
			k.mu.Lock()
			batch := k.todo[:min(len(k.todo), maxMarks)]
			k.todo = k.todo[len(batch):]
			k.mu.Unlock()
			if len(batch) == 0 {
				return nil
			}
			c, err := conn.get(ctx)
			if err != nil {
				return err
			}
			err = retryTransient(ctx, k.c.log, "copy progress", func() error { return markTablesDone(ctx, c, k.c.job, batch) })
			if err != nil {
				return err
			}
			k.c.pending.done(len(batch), 0)
			k.c.indexes.wake()
		}
	})
}
