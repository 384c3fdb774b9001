package applier

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/dtle-io/dtle/internal/change"
)

// parallel applies binlog transactions on several connections when
// parallel_workers > 1.
//
// Transactions queue in source order. A free worker takes the queued ones
// (up to maxGroupTxns) as its batch; batches are numbered in queue order. A
// batch's writeset is the values of every unique index (the key included)
// of the rows it touches, or the whole table for a table without one. A
// batch starts once every earlier batch sharing part of its writeset has
// committed, so two running batches never wait on each other's rows. Batches
// commit in order, each in one destination transaction with the checkpoint:
// whatever crashes, the checkpoint names exactly the committed transactions,
// for MySQL's GTID sets and MariaDB's positions alike.
type parallel struct {
	a     *Applier
	queue chan change.Txn
	wg    sync.WaitGroup // transactions submitted and not finished

	take sync.Mutex // one worker at a time forms a batch

	mu        sync.Mutex
	turn      *sync.Cond
	next      uint64 // number of the next batch
	committed uint64 // every batch up to this one has committed
	err       error
	// The last batch to write: a key's values (lastWriter), a whole index
	// (lastWhole), anything in an index (lastInIndex).
	lastWriter, lastWhole, lastInIndex map[string]*batch
}

type batch struct {
	seq  uint64
	txns []change.Txn
	deps []*batch
	done chan struct{}
}

func newParallel(ctx context.Context, a *Applier, workers int) (*parallel, error) {
	p := &parallel{a: a, queue: make(chan change.Txn, maxGroupTxns), lastWriter: map[string]*batch{},
		lastWhole: map[string]*batch{}, lastInIndex: map[string]*batch{}}
	p.turn = sync.NewCond(&p.mu)
	for range workers {
		conn, err := a.session(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"); err != nil {
			_ = conn.Close()
			return nil, &ApplyError{What: "isolation level", Err: err}
		}
		go p.worker(ctx, conn)
	}
	return p, nil
}

// close stops the workers once the submitted transactions are finished.
func (p *parallel) close() {
	_ = p.drain()
	close(p.queue)
}

// submit queues t; it blocks while the queue is full.
func (p *parallel) submit(ctx context.Context, t *change.Txn) error {
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if err := p.a.reserve(ctx, t); err != nil {
		return err
	}
	p.wg.Add(1)
	select {
	case p.queue <- *t:
		return nil
	case <-ctx.Done():
		p.a.release(t)
		p.wg.Done()
		return ctx.Err()
	}
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// drain waits until every submitted transaction is finished and returns
// the first error any of them had.
func (p *parallel) drain() error {
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// reset forgets a failure, for a new session that resumes from the checkpoint.
func (p *parallel) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = nil
	p.next, p.committed = 0, 0
	p.lastWriter = map[string]*batch{}
}

func (p *parallel) fail(err error) {
	p.a.fail(err)
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.turn.Broadcast()
	p.mu.Unlock()
}

func (p *parallel) worker(ctx context.Context, conn *sql.Conn) {
	defer func() { _ = conn.Close() }()
	for {
		b, ok := p.form(ctx)
		if !ok {
			return
		}
		if err := p.run(ctx, conn, b); err != nil {
			p.fail(fmt.Errorf("transactions %s to %s: %w", b.txns[0].GTID, b.txns[len(b.txns)-1].GTID, err))
		}
		close(b.done)
		for i := range b.txns {
			p.a.release(&b.txns[i])
			p.wg.Done()
		}
	}
}

// form takes the next batch off the queue, numbers it and finds the earlier
// batches it must wait for. Only one worker forms a batch at a time, so
// batches are contiguous and numbered in source order.
func (p *parallel) form(ctx context.Context) (*batch, bool) {
	p.take.Lock()
	defer p.take.Unlock()
	first, ok := <-p.queue
	if !ok {
		return nil, false
	}
	txns := takeQueued(first, p.queue, maxGroupTxns, nil, 0)
	var keys []writeKey
	var err error
	for i := range txns {
		var k []writeKey
		if k, err = p.writeset(ctx, &txns[i]); err != nil {
			break
		}
		keys = append(keys, k...)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	b := &batch{seq: p.next, txns: txns, done: make(chan struct{})}
	if err != nil && p.err == nil {
		p.err = err
	}
	p.depend(b, keys)
	return b, true
}

// depend makes b wait for the earlier batches that wrote what it writes,
// and records its keys; p.mu is held.
func (p *parallel) depend(b *batch, keys []writeKey) {
	seen := map[*batch]bool{}
	after := func(w *batch) {
		if w != nil && w != b && !seen[w] && !closed(w.done) {
			b.deps = append(b.deps, w)
			seen[w] = true
		}
	}
	if len(p.lastWriter)+len(p.lastInIndex) > 100000 && p.committed+1 == b.seq {
		// Nothing in flight: forget old writers.
		p.lastWriter, p.lastWhole, p.lastInIndex = map[string]*batch{}, map[string]*batch{}, map[string]*batch{}
	}
	// Batches commit in order, so waiting for the last batch that wrote a
	// key waits for every earlier one too.
	for _, k := range keys {
		if k.whole {
			after(p.lastInIndex[k.index])
			p.lastWhole[k.index] = b
		} else {
			after(p.lastWriter[k.index+k.value])
			after(p.lastWhole[k.index])
			p.lastWriter[k.index+k.value] = b
		}
		p.lastInIndex[k.index] = b
	}
}

func (p *parallel) run(ctx context.Context, conn *sql.Conn, b *batch) error {
	for _, d := range b.deps {
		<-d.done
	}
	return retry(ctx, p.a.log, "transaction batch", func() error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		if p.failed() {
			return p.skipTurn()
		}
		ops, rows, err := p.a.batchOps(ctx, tx, b.txns)
		if err != nil {
			return err
		}
		if err := execOps(ctx, tx, ops); err != nil {
			return err
		}
		return p.commitInTurn(ctx, tx, b, rows)
	})
}

func (p *parallel) failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err != nil
}

// skipTurn lets later batches go when this one will not commit (an earlier
// one failed; the session resumes from the checkpoint).
func (p *parallel) skipTurn() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.turn.Broadcast()
	return nil
}

// commitInTurn commits once every earlier batch has committed.
func (p *parallel) commitInTurn(ctx context.Context, tx *sql.Tx, b *batch, rows int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.committed != b.seq-1 && p.err == nil {
		p.turn.Wait()
	}
	if p.err != nil {
		return nil
	}
	a := p.a
	next, err := a.checkpoint(ctx, tx, b.txns)
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return err
	}
	a.applied(next, b.txns, rows)
	p.committed = b.seq
	p.turn.Broadcast()
	return nil
}

// A writeKey is what a change writes in one unique index: the index's
// values in a row, or the whole index where Go cannot tell which values the
// index holds equal. A table without a unique index is written whole.
type writeKey struct {
	index string // schema, table and index number
	value string // the folded values, when not whole
	whole bool
}

// writeset lists the keys t writes: per unique index of each row image,
// its values folded so that values the index's collation may hold equal
// fold alike (see uniqueKey).
func (p *parallel) writeset(ctx context.Context, t *change.Txn) ([]writeKey, error) {
	var keys []writeKey
	for i := range t.Changes {
		c := &t.Changes[i]
		tb, err := p.a.tables.get(ctx, p.a.db, c.Schema, c.Table)
		if err != nil {
			return nil, err
		}
		prefix := c.Schema + "\x00" + c.Table
		if !tb.HasKey() {
			// Rows are matched by every column, and a row whose unique
			// values are NULL has no other key: the table is written whole.
			keys = append(keys, writeKey{index: prefix, whole: true})
			continue
		}
		for _, row := range []change.Row{c.Before, c.After} {
			if row == nil {
				continue
			}
			for ui, cols := range tb.Uniques {
				if k, ok := uniqueKey(tb, prefix+"\x00"+strconv.Itoa(ui), cols, row); ok {
					keys = append(keys, k)
				}
			}
		}
	}
	return keys, nil
}

// uniqueKey folds one unique index's values of a row; a NULL part means
// the row takes no part in that index's uniqueness. Text is compared by a
// collation Go does not have, so it is folded only where that is known to
// be safe: printable ASCII under a collation of asciiFoldable, lower-cased,
// trailing spaces dropped (PAD SPACE). Any other text, and an index with a
// prefix or functional part (no columns), makes the key the whole index.
// Binary strings lose trailing zero bytes (BINARY pads with them); -0.0 is
// 0. Folding may only merge values: a false conflict costs parallelism, a
// missed one correctness.
func uniqueKey(tb *change.Table, index string, cols []int, row change.Row) (writeKey, bool) {
	if len(cols) == 0 {
		return writeKey{index: index, whole: true}, true
	}
	var b strings.Builder
	for _, c := range cols {
		if c >= len(row) || row[c] == nil {
			return writeKey{}, false
		}
		b.WriteString("\x00")
		var s string
		switch v := row[c].(type) {
		case []byte:
			s = string(v)
		case string:
			s = v
		case float32:
			fmt.Fprint(&b, v+0) // -0 is 0 in an index
			continue
		case float64:
			fmt.Fprint(&b, v+0)
			continue
		default:
			fmt.Fprint(&b, v)
			continue
		}
		col := &tb.Columns[c]
		if col.Binary || col.Charset == "" {
			b.WriteString(strings.TrimRight(s, "\x00"))
			continue
		}
		if !printableASCII(s) || !asciiFoldable(col.Collation) {
			return writeKey{index: index, whole: true}, true
		}
		b.WriteString(strings.ToLower(strings.TrimRight(s, " ")))
	}
	return writeKey{index: index, value: b.String()}, true
}

// asciiFoldable reports whether a collation holds two printable ASCII
// strings equal only when they differ in letter case or trailing spaces.
// Language tailorings do not qualify: Lithuanian holds 'y' equal to 'i',
// Hungarian 'ccs' to 'cscs', Roman 'u' to 'v'; nor does swe7 ('[' is '{').
func asciiFoldable(collation string) bool {
	cs, rest, ok := strings.Cut(collation, "_")
	if !ok {
		return false
	}
	switch cs {
	case "utf8", "utf8mb3", "utf8mb4":
	case "latin1", "ascii":
		return rest == "bin" || rest == "nopad_bin" || rest == "general_ci" || rest == "general_nopad_ci" ||
			rest == "swedish_ci" || rest == "swedish_nopad_ci"
	default:
		return false
	}
	// MariaDB's uca1400 collations may name the charset twice.
	rest = strings.TrimPrefix(rest, "uca1400_")
	switch rest {
	case "bin", "nopad_bin", "general_ci", "general_nopad_ci", "general_mysql500_ci",
		"unicode_ci", "unicode_nopad_ci", "unicode_520_ci", "unicode_520_nopad_ci",
		"0900_ai_ci", "0900_as_ci", "0900_as_cs", "0900_bin",
		"ai_ci", "ai_cs", "as_ci", "as_cs", "nopad_ai_ci", "nopad_ai_cs", "nopad_as_ci", "nopad_as_cs":
		return true
	}
	return false
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
