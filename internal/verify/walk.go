package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/retry"
)

// A source snapshot holds a batch of chunks: at most this many, read in at
// most about this long, so no read view stays open for long and the
// destination's wait is shared by the chunks of a batch. The destination
// compares a batch while the source reads the next: the last batch's
// comparison, and the first batch's read, are the time the two sides do
// not overlap, so batches are short: a snapshot and the destination's wait
// cost a millisecond or two.
const (
	maxBatchChunks = 64
	maxBatchTime   = 100 * time.Millisecond
)

// Chunks sized to the server's speed (Config.ChunkSize 0) take about
// chunkTarget to sum on the source, with at most maxChunkRows rows: a
// chunk that differs is read row by row on both sides, its keys and
// hashes held in memory, and a chunk's read view is held for its time.
// Each chunk is at most chunkGrowth times the one before, so one fast
// chunk of short rows does not make the next one of long rows huge.
// Few, bigger chunks spare the servers a query pair per chunk: with the
// job's 2,000 rows, a table of a million rows takes 1,000 queries a side.
const (
	chunkTarget  = 100 * time.Millisecond
	maxChunkRows = 50_000
	chunkGrowth  = 4
)

// resize sizes the next chunk from the last: n rows summed in took.
func (r *tableRun) resize(n int64, took time.Duration) {
	if !r.v.adaptive || n < int64(r.size)/2 {
		return // the last chunk says little of the rows' speed
	}
	next := float64(n) * float64(chunkTarget) / float64(max(took, time.Millisecond))
	next = min(next, float64(r.size*chunkGrowth), maxChunkRows)
	r.size = max(int(next), r.v.cfg.ChunkSize)
}

// side is one server's view of a table: its names and queries.
type side struct {
	from  string
	names []string
	key   keyCols
	where string // the source's row filter; "" on the destination
	row   string // expression of a row's string (rowString)
	sum   string // select list of a chunk's checksum
	hash  string // expression of a row's MD5
}

func newSides(p *plan) (src, dst side) {
	srcRow, dstRow := rowString(p.srcNames, p.cols, p.asBytes), rowString(p.dstNames, p.cols, p.asBytes)
	src = side{from: p.srcFrom(), names: p.srcNames, key: p.keyCols(p.srcNames), where: p.where,
		row: srcRow, sum: sumSelect(srcRow), hash: rowHash(srcRow)}
	dst = side{from: p.dstFrom(), names: p.dstNames, key: p.keyCols(p.dstNames),
		row: dstRow, sum: sumSelect(dstRow), hash: rowHash(dstRow)}
	return src, dst
}

// chunk is a key range (lo, hi]: nil bounds are open; a table without a
// key is one chunk with both open.
type chunk struct {
	lo, hi []keyValue
	sums   sums // the source's
}

// sums is a chunk's checksum.
type sums struct {
	count int64
	sum   string
}

// cond is the chunk's range condition on this side, "" for the whole table.
func (s *side) cond(c chunk, args *[]any) string {
	if len(s.key.names) == 0 {
		return ""
	}
	return s.key.between(c.lo, c.hi, args)
}

// sums computes a chunk's checksum on this side, in conn's snapshot.
func (s *side) sums(ctx context.Context, conn *sql.Conn, c chunk) (sums, error) {
	var args []any
	q := "SELECT " + s.sum + " FROM " + s.from + whereClause(s.where, s.cond(c, &args))
	var out sums
	if err := conn.QueryRowContext(ctx, q, args...).Scan(&out.count, &out.sum); err != nil {
		return sums{}, fmt.Errorf("checksum %s: %w", s.from, err)
	}
	return out, nil
}

// boundary is the key of the size-th row after lo, which closes the chunk
// starting after lo; nil when fewer rows follow (the last chunk).
func (s *side) boundary(ctx context.Context, conn *sql.Conn, lo []keyValue, size int) ([]keyValue, error) {
	var args []any
	cond := ""
	if lo != nil {
		cond = s.key.after(lo, &args)
	}
	q := "SELECT " + s.key.reads() + " FROM " + s.from + whereClause(s.where, cond) + s.key.order() +
		" LIMIT 1 OFFSET " + strconv.Itoa(size-1)
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("chunk boundary of %s: %w", s.from, err)
	}
	defer func() { _ = rows.Close() }()
	if !rows.Next() {
		return nil, rows.Err()
	}
	key, err := scanKey(rows, len(s.key.names), nil)
	if err != nil {
		return nil, fmt.Errorf("chunk boundary of %s: %w", s.from, err)
	}
	return key, rows.Err()
}

// nextChunk reads the chunk of size rows after lo and its checksum in one
// pass when the key has one column: the rows' hashes summed, their number
// counted and their greatest key taken as the chunk's end, over the first
// size rows in key order. Otherwise the end is found first (boundary),
// then the rows are summed: two passes.
func (s *side) nextChunk(ctx context.Context, conn *sql.Conn, lo []keyValue, size int) (chunk, error) {
	c := chunk{lo: lo}
	if len(s.key.names) != 1 {
		var err error
		if c.hi, err = s.boundary(ctx, conn, lo, size); err != nil {
			return c, err
		}
		c.sums, err = s.sums(ctx, conn, c)
		return c, err
	}
	var args []any
	cond := ""
	if lo != nil {
		cond = s.key.after(lo, &args)
	}
	q := "SELECT COUNT(*), COALESCE(SUM(h), 0), MAX(k) FROM (SELECT " + s.key.reads() + " AS k, CRC32(" + s.row + ") AS h FROM " +
		s.from + whereClause(s.where, cond) + s.key.order() + " LIMIT " + strconv.Itoa(size) + ") AS chunk"
	var last sql.RawBytes
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return c, fmt.Errorf("checksum %s: %w", s.from, err)
	}
	defer func() { _ = rows.Close() }()
	if !rows.Next() {
		return c, fmt.Errorf("checksum %s: no result: %w", s.from, rows.Err())
	}
	if err := rows.Scan(&c.sums.count, &c.sums.sum, &last); err != nil {
		return c, fmt.Errorf("checksum %s: %w", s.from, err)
	}
	if c.sums.count == int64(size) {
		c.hi = []keyValue{append(keyValue{}, last...)}
	}
	return c, rows.Err()
}

// scanKey reads a row of n key columns (then, when hash is not nil, a hash)
// into owned bytes.
func scanKey(rows *sql.Rows, n int, hash *[]byte) ([]keyValue, error) {
	raw := make([]sql.RawBytes, n)
	dest := make([]any, 0, n+1)
	for i := range raw {
		dest = append(dest, &raw[i])
	}
	if hash != nil {
		dest = append(dest, hash)
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	key := make([]keyValue, n)
	for i, b := range raw {
		if b == nil {
			return nil, errors.New("a key column is NULL")
		}
		key[i] = append(keyValue{}, b...)
	}
	return key, nil
}

// batch is the chunks read in one source snapshot, and the GTID set the
// destination must hold before its chunks are read.
type batch struct {
	at     change.GTIDSet
	chunks []chunk
}

// walk compares the table chunk by chunk: the source's checksums are read
// ahead, batch by batch, while the destination's are compared; a chunk
// that differs is narrowed down to rows, and suspects confirmed (narrow.go).
// The rows found to differ end in r.found.
func (r *tableRun) walk(ctx context.Context) error {
	batches := make(chan batch, 1)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(batches)
		return r.produce(gctx, batches)
	})
	g.Go(func() error {
		for b := range batches {
			if err := r.consume(gctx, b); err != nil {
				return err
			}
		}
		return r.confirmAll(gctx)
	})
	return g.Wait()
}

// produce reads the source's chunk checksums, a batch per snapshot. The
// throttle's waits fall between snapshots, so none stays open for them.
func (r *tableRun) produce(ctx context.Context, out chan<- batch) error {
	var lo []keyValue
	for {
		s, err := sourceSnapshot(ctx, r.src, r.flavor)
		if err != nil {
			return err
		}
		b, last, wait, err := r.readBatch(ctx, s.conn, lo)
		if err != nil {
			s.close(ctx)
			return err
		}
		if err := s.finish(ctx); err != nil {
			return fmt.Errorf("source snapshot: %w", err)
		}
		b.at = s.high
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		if last {
			return nil
		}
		if err := retry.Sleep(ctx, wait); err != nil {
			return err
		}
		lo = b.chunks[len(b.chunks)-1].hi
	}
}

// readBatch reads the chunks after lo that fit a batch: last says the
// table's last chunk is among them, wait how long the throttle asks to
// wait before the next.
func (r *tableRun) readBatch(ctx context.Context, conn *sql.Conn, lo []keyValue) (b batch, last bool, wait time.Duration, err error) {
	started := time.Now()
	for len(b.chunks) < maxBatchChunks && time.Since(started) < maxBatchTime {
		summed := time.Now()
		var c chunk
		if r.p.key != nil {
			c, err = r.s.nextChunk(ctx, conn, lo, r.size)
		} else {
			c.sums, err = r.s.sums(ctx, conn, c)
		}
		if err != nil {
			return b, false, 0, err
		}
		r.resize(c.sums.count, time.Since(summed))
		b.chunks = append(b.chunks, c)
		wait = r.throttle.reserve(c.sums.count)
		if c.hi == nil || wait > 0 {
			return b, c.hi == nil, wait, nil
		}
		lo = c.hi
	}
	return b, false, 0, nil
}

// consume compares a batch's chunks on the destination, in a snapshot that
// holds the batch's source snapshot, and narrows down those that differ.
func (r *tableRun) consume(ctx context.Context, b batch) error {
	d, err := destSnapshot(ctx, r.dst, r.v.cfg.JobID, b.at, r.v.cfg.CatchUpTimeout)
	if err != nil {
		return err
	}
	var differ []chunk
	for _, c := range b.chunks {
		got, err := r.d.sums(ctx, d.conn, c)
		if err != nil {
			d.close(ctx)
			return err
		}
		if got != c.sums {
			differ = append(differ, c)
		}
		r.set(func(t *TableReport) { t.Chunks++; t.Rows += c.sums.count })
	}
	d.close(ctx)
	for _, c := range differ {
		r.set(func(t *TableReport) { t.Rechecked++ })
		if err := r.narrow(ctx, c); err != nil {
			return err
		}
		if len(r.suspects) >= confirmBatch {
			if err := r.confirmAll(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}
