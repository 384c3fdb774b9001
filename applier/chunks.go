package applier

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dtle-io/dtle/internal/change"
)

// chunkJob is one chunk of the full copy, queued for the chunk writers.
type chunkJob struct {
	table   *change.Table
	rows    change.PackedRows
	replace bool      // the table resumed: overlap with earlier rows is expected
	load    *loadPlan // nil: written as INSERT
	lo, hi  []byte    // encoded key bounds of a keyed chunk; hi nil for keyless
	// copy, when set, is the table's copy: the writer waits for its
	// preparation, which sets replace and load, and settles the chunk
	// with it once committed.
	copy *tableCopy
}

// Chunk groups: a writer commits the chunks queued when it is free, up to
// these limits, in one destination transaction.
const (
	maxGroupChunks = 8
	maxGroupBytes  = 8 << 20
)

// writeChunks is one chunk writer; each has its own connection. A keyed
// chunk commits together with its record in copy_chunks. It runs until ctx
// ends (nil) or a chunk fails (the error).
func (c *copier) writeChunks(ctx context.Context) error {
	conn, err := c.session(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	src := newLoadSource()
	defer src.close()
	for {
		var job chunkJob
		select {
		case <-ctx.Done():
			return nil
		case job = <-c.chunks:
		}
		group := takeQueued(job, c.chunks, maxGroupChunks, func(j *chunkJob) int { return len(j.rows.Data) }, maxGroupBytes)
		err := c.prepared(ctx, group)
		if err == nil {
			err = c.writeGroup(ctx, conn, src, group)
		}
		if err == nil {
			for _, j := range group {
				c.stats.RowsCopied.Add(int64(j.rows.N))
				if j.copy != nil {
					c.settle(j.copy, 1)
				}
			}
		}
		var n int64
		for i := range group {
			n += group[i].budget()
		}
		c.pending.done(len(group), n)
		if err != nil {
			return err
		}
	}
}

// prepared waits until the tables of the group are prepared, and takes
// how their chunks are written from their preparation.
func (c *copier) prepared(ctx context.Context, group []chunkJob) error {
	for i := range group {
		j := &group[i]
		if j.copy == nil {
			continue
		}
		select {
		case <-j.copy.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
		if j.copy.err != nil {
			return j.copy.err
		}
		j.replace, j.load = j.copy.resumed, j.copy.load
	}
	return nil
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
func (c *copier) writeGroup(ctx context.Context, conn *sql.Conn, src *loadSource, group []chunkJob) error {
	err := c.writeRendered(ctx, conn, src, group)
	if err == nil || !loadRefused(err) {
		return err
	}
	if !c.loadRefused.Swap(true) {
		c.log.Warn("the destination refuses LOAD DATA LOCAL INFILE (local_infile is off): the full copy writes INSERT, which costs the destination more", "error", err)
	}
	return c.writeRendered(ctx, conn, src, group)
}

func (c *copier) writeRendered(ctx context.Context, conn *sql.Conn, src *loadSource, group []chunkJob) error {
	rendered := make([]chunkSQL, len(group))
	for i, job := range group {
		var err error
		if rendered[i], err = c.renderChunk(job, src); err != nil {
			return &ApplyError{What: fmt.Sprintf("copy rows into %s.%s", job.table.Schema, job.table.Name), Err: err}
		}
	}
	return retryTransient(ctx, c.log, "copy chunk", func() error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		for i, job := range group {
			if err := c.writeChunk(ctx, tx, src, job, &rendered[i]); err != nil {
				return &ApplyError{What: fmt.Sprintf("copy rows into %s.%s", job.table.Schema, job.table.Name), Err: err}
			}
		}
		return tx.Commit()
	})
}

func (c *copier) renderChunk(job chunkJob, src *loadSource) (chunkSQL, error) {
	if job.load != nil && !c.loadRefused.Load() {
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
func (c *copier) writeChunk(ctx context.Context, tx *sql.Tx, src *loadSource, job chunkJob, r *chunkSQL) error {
	for _, q := range r.stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if r.load != "" {
		src.data = r.data
		res, err := tx.ExecContext(ctx, r.load)
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
		c.job, job.table.Schema, job.table.Name, job.lo, job.hi)
	return err
}
