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
// A transaction's writeset is the values of every unique index (the key
// included) of the rows it touches, or the whole table for a table without
// one. A transaction starts once every earlier transaction sharing part of
// its writeset has committed, so two running transactions never wait on each
// other's rows. Commits still happen in source order, each with the
// checkpoint: whatever crashes, the checkpoint names exactly the committed
// transactions, for MySQL's GTID sets and MariaDB's positions alike.
type parallel struct {
	a    *Applier
	work chan *ptxn
	wg   sync.WaitGroup // transactions submitted and not finished

	mu         sync.Mutex
	turn       *sync.Cond
	next       uint64 // sequence number of the next submitted transaction
	committed  uint64 // every transaction up to this one has committed
	err        error
	lastWriter map[string]*ptxn
}

type ptxn struct {
	seq  uint64
	txn  change.Txn
	deps []*ptxn
	done chan struct{}
}

func newParallel(ctx context.Context, a *Applier, workers int) (*parallel, error) {
	p := &parallel{a: a, work: make(chan *ptxn, workers), lastWriter: map[string]*ptxn{}}
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
	close(p.work)
}

// submit queues t; it blocks while every worker is busy.
func (p *parallel) submit(ctx context.Context, t *change.Txn) error {
	keys, err := p.writeset(ctx, t)
	if err != nil {
		return err
	}
	p.mu.Lock()
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		return err
	}
	p.next++
	pt := &ptxn{seq: p.next, txn: *t, done: make(chan struct{})}
	seen := map[*ptxn]bool{}
	for _, k := range keys {
		if w, ok := p.lastWriter[k]; ok && w != pt && !seen[w] && !closed(w.done) {
			pt.deps = append(pt.deps, w)
			seen[w] = true
		}
		p.lastWriter[k] = pt
	}
	if len(p.lastWriter) > 100000 && p.committed+1 == pt.seq {
		p.lastWriter = map[string]*ptxn{} // nothing in flight: forget old writers
		for _, k := range keys {
			p.lastWriter[k] = pt
		}
	}
	p.mu.Unlock()
	p.wg.Add(1)
	select {
	case p.work <- pt:
		return nil
	case <-ctx.Done():
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
func (p *parallel) reset(committedTo uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = nil
	p.next, p.committed = committedTo, committedTo
	p.lastWriter = map[string]*ptxn{}
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
	for pt := range p.work {
		if err := p.run(ctx, conn, pt); err != nil {
			p.fail(fmt.Errorf("transaction %s: %w", pt.txn.GTID, err))
		}
		close(pt.done)
		p.wg.Done()
	}
}

func (p *parallel) run(ctx context.Context, conn *sql.Conn, pt *ptxn) error {
	for _, d := range pt.deps {
		<-d.done
	}
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	if err != nil {
		return nil // an earlier transaction failed; the session resumes from the checkpoint
	}
	return retry(ctx, p.a.log, "transaction "+pt.txn.GTID, func() error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		for i := range pt.txn.Changes {
			if err := p.a.applyChange(ctx, tx, pt.txn.GTID, &pt.txn.Changes[i]); err != nil {
				return err
			}
		}
		return p.commitInTurn(ctx, tx, pt)
	})
}

// commitInTurn commits once every earlier transaction has committed.
func (p *parallel) commitInTurn(ctx context.Context, tx *sql.Tx, pt *ptxn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.committed != pt.seq-1 && p.err == nil {
		p.turn.Wait()
	}
	if p.err != nil {
		return nil
	}
	a := p.a
	before := a.executed.Clone()
	if err := a.executed.Add(pt.txn.GTID); err != nil {
		return err
	}
	err := saveCheckpoint(ctx, tx, a.cfg.JobID, a.flavor, change.StageIncr, a.executed.String())
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		a.executed = before
		return err
	}
	p.committed = pt.seq
	a.tolerant = false
	a.Stats.TxnsApplied.Add(1)
	a.Stats.LastCommitTS.Store(int64(pt.txn.Timestamp))
	p.turn.Broadcast()
	return nil
}

// writeset lists the keys t writes: per unique index, the schema, table,
// index and values (text folded to lower case, as a case-insensitive
// collation would compare them); per table without a unique index, the
// table itself.
func (p *parallel) writeset(ctx context.Context, t *change.Txn) ([]string, error) {
	var keys []string
	for i := range t.Changes {
		c := &t.Changes[i]
		tb, err := p.a.tables.get(ctx, p.a.db, c.Schema, c.Table)
		if err != nil {
			return nil, err
		}
		prefix := c.Schema + "\x00" + c.Table
		if len(tb.Uniques) == 0 {
			keys = append(keys, prefix)
			continue
		}
		for _, row := range []change.Row{c.Before, c.After} {
			if row == nil {
				continue
			}
			for ui, cols := range tb.Uniques {
				if k, ok := uniqueKey(prefix, ui, cols, row); ok {
					keys = append(keys, k)
				}
			}
		}
	}
	return keys, nil
}

// uniqueKey renders one unique index's values of a row; a NULL part means
// the row takes no part in that index's uniqueness.
func uniqueKey(prefix string, index int, cols []int, row change.Row) (string, bool) {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString("\x00")
	b.WriteString(strconv.Itoa(index))
	for _, c := range cols {
		if c >= len(row) || row[c] == nil {
			return "", false
		}
		b.WriteString("\x00")
		switch v := row[c].(type) {
		case []byte:
			b.WriteString(strings.ToLower(string(v)))
		case string:
			b.WriteString(strings.ToLower(v))
		default:
			fmt.Fprint(&b, v)
		}
	}
	return b.String(), true
}
