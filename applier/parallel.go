package applier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/dtle-io/dtle/internal/change"
)

// parallel is the queue that applies binlog transactions on several
// connections, when parallel_workers > 1.
//
// Transactions queue in source order. A free worker takes the queued ones
// (up to maxGroupTxns) as its batch; batches are numbered in queue order. A
// batch's writeset is the values of every unique index (the key included)
// of the rows it touches, or the whole table for a table without one
// (writeset.go). A batch starts once every earlier batch sharing part of
// its writeset has committed, so two running batches never wait on each
// other's rows. Batches commit in order, each in one destination
// transaction with the checkpoint: whatever crashes, the checkpoint names
// exactly the committed transactions, for MySQL's GTID sets and MariaDB's
// positions alike.
type parallel struct {
	*txnQueue
	r       *replayer
	workers int

	forming sync.Mutex // one worker at a time forms a batch

	mu        sync.Mutex
	turn      *sync.Cond
	next      uint64 // number of the next batch
	committed uint64 // every batch up to this one has committed
	// The last batch to write: a key's values (lastWriter), a whole index
	// (lastWhole), anything in an index (lastInIndex).
	lastWriter             map[writeKey]*batch
	lastWhole, lastInIndex map[indexID]*batch
}

type batch struct {
	seq  uint64
	txns []change.Txn
	deps []*batch
	done chan struct{}
}

func newParallel(r *replayer, workers int) *parallel {
	p := &parallel{txnQueue: newTxnQueue(r.dest), r: r, workers: workers, lastWriter: map[writeKey]*batch{},
		lastWhole: map[indexID]*batch{}, lastInIndex: map[indexID]*batch{}}
	p.turn = sync.NewCond(&p.mu)
	return p
}

// start runs the workers in g.
func (p *parallel) start(ctx context.Context, g *errgroup.Group) {
	// A batch waiting for its turn gives up once the work stops.
	context.AfterFunc(ctx, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.turn.Broadcast()
	})
	for range p.workers {
		g.Go(func() error { return p.worker(ctx) })
	}
}

// reset starts the numbering of batches again, for a new session.
func (p *parallel) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next, p.committed = 0, 0
	p.lastWriter = map[writeKey]*batch{}
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// worker applies batches on a connection of its own until ctx ends (nil)
// or a batch fails (the error).
func (p *parallel) worker(ctx context.Context) error {
	conn, err := p.r.session(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"); err != nil {
		return &ApplyError{What: "isolation level", Err: err}
	}
	for {
		b, err := p.form(ctx)
		if b == nil {
			return err
		}
		err = p.run(ctx, conn, b)
		close(b.done)
		p.finish(b.txns)
		if err != nil {
			var te *TxnError
			if errors.As(err, &te) {
				return err
			}
			return fmt.Errorf("transactions %s to %s: %w", b.txns[0].GTID, b.txns[len(b.txns)-1].GTID, err)
		}
	}
}

// form takes the next batch off the queue, numbers it and finds the earlier
// batches it must wait for; nil once ctx ends or on an error. Only one
// worker forms a batch at a time, so batches are contiguous and numbered in
// source order.
func (p *parallel) form(ctx context.Context) (*batch, error) {
	p.forming.Lock()
	defer p.forming.Unlock()
	txns, ok := p.take(ctx)
	if !ok {
		return nil, nil
	}
	var keys []writeKey
	for i := range txns {
		k, err := writeset(ctx, p.r.tables, p.r.db, &txns[i])
		if err != nil {
			p.finish(txns)
			return nil, err
		}
		keys = append(keys, k...)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	b := &batch{seq: p.next, txns: txns, done: make(chan struct{})}
	p.depend(b, keys)
	return b, nil
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
		p.lastWriter, p.lastWhole, p.lastInIndex = map[writeKey]*batch{}, map[indexID]*batch{}, map[indexID]*batch{}
	}
	// Batches commit in order, so waiting for the last batch that wrote a
	// key waits for every earlier one too.
	for _, k := range keys {
		if k.whole {
			after(p.lastInIndex[k.index])
			p.lastWhole[k.index] = b
		} else {
			after(p.lastWriter[k])
			after(p.lastWhole[k.index])
			p.lastWriter[k] = b
		}
		p.lastInIndex[k.index] = b
	}
}

// run applies b once the batches it depends on are done, committing in turn.
func (p *parallel) run(ctx context.Context, conn *sql.Conn, b *batch) error {
	for _, d := range b.deps {
		select {
		case <-d.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := retryTransient(ctx, p.r.log, "transaction batch", func() error {
		ops, rows, err := p.r.batchOps(ctx, conn, b.txns)
		if err != nil {
			return err
		}
		s := beginScript(conn)
		defer s.rollback(ctx)
		err = s.addOps(ctx, ops)
		if err == nil && !p.alone(b) {
			err = s.send(ctx) // the rows go while earlier batches commit
		}
		if err != nil {
			return &ApplyError{What: groupWhat(b.txns), Err: err}
		}
		return p.commitInTurn(ctx, s, b, rows)
	})
	if err != nil && ctx.Err() == nil {
		return p.isolate(ctx, conn, b, err)
	}
	return err
}

// isolate applies a failed batch one transaction at a time, in its turn
// (replayer.isolate), and counts it committed when each one is.
func (p *parallel) isolate(ctx context.Context, conn *sql.Conn, b *batch, batchErr error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.committed != b.seq-1 && ctx.Err() == nil {
		p.turn.Wait()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.r.isolate(ctx, conn, b.txns, batchErr); err != nil {
		return err
	}
	p.committed = b.seq
	p.turn.Broadcast()
	return nil
}

// alone reports that b is the only batch in flight: every earlier one has
// committed and no later one is formed. Its rows then go with its
// checkpoint and COMMIT, in one round trip, as the grouper's do: there is
// nothing to overlap them with, and a quiet source's transaction reaches
// the destination a round trip sooner.
func (p *parallel) alone(b *batch) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.committed == b.seq-1 && p.next == b.seq
}

// commitInTurn commits once every earlier batch has committed; it gives up
// (ctx's error) once the work stops, an earlier batch having failed.
func (p *parallel) commitInTurn(ctx context.Context, s *txScript, b *batch, rows int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.committed != b.seq-1 && ctx.Err() == nil {
		p.turn.Wait()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r := p.r
	next, err := r.commitNext(ctx, s, b.txns)
	if err != nil {
		return err
	}
	r.adopt(next, b.txns, rows)
	p.committed = b.seq
	p.turn.Broadcast()
	return nil
}
