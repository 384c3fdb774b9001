package applier

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/dtle-io/dtle/internal/change"
)

// Group limits: how many source transactions one destination transaction
// may hold, and how many bytes of SQL one round trip may carry.
const (
	maxGroupTxns  = 256
	maxBatchBytes = 1 << 20
)

// grouper applies binlog transactions one after another, as they arrive,
// committing them in groups: whatever is queued when a group starts goes
// into one destination transaction, with one checkpoint write, its
// statements sent several per round trip. Under load, groups grow and
// commits amortize; when quiet, each transaction commits alone at once.
// Exactly-once holds as the checkpoint commits with the group it covers.
type grouper struct {
	a     *Applier
	conn  *sql.Conn
	queue chan change.Txn
	wg    sync.WaitGroup // queued and not finished

	mu  sync.Mutex
	err error
}

func newGrouper(ctx context.Context, a *Applier) (*grouper, error) {
	conn, err := a.session(ctx)
	if err != nil {
		return nil, err
	}
	g := &grouper{a: a, conn: conn, queue: make(chan change.Txn, maxGroupTxns)}
	go g.loop(ctx)
	return g, nil
}

func (g *grouper) submit(ctx context.Context, t *change.Txn) error {
	if err := g.failed(); err != nil {
		return err
	}
	if err := g.a.reserve(ctx, t); err != nil {
		return err
	}
	g.wg.Add(1)
	select {
	case g.queue <- *t:
		return nil
	case <-ctx.Done():
		g.a.release(t)
		g.wg.Done()
		return ctx.Err()
	}
}

func (g *grouper) failed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// drain waits until everything queued is applied; it returns the first
// failure.
func (g *grouper) drain() error {
	g.wg.Wait()
	return g.failed()
}

// reset forgets a failure, for a new session resuming from the checkpoint.
func (g *grouper) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.err = nil
}

func (g *grouper) close() {
	_ = g.drain()
	close(g.queue)
}

func (g *grouper) loop(ctx context.Context) {
	defer func() { _ = g.conn.Close() }()
	for t := range g.queue {
		batch := takeQueued(t, g.queue, maxGroupTxns, nil, 0)
		if g.failed() == nil {
			err := retry(ctx, g.a.log, "transaction group", func() error { return g.apply(ctx, batch) })
			if err != nil {
				g.mu.Lock()
				g.err = err
				g.mu.Unlock()
				g.a.fail(err)
			}
		}
		for i := range batch {
			g.a.release(&batch[i])
			g.wg.Done()
		}
	}
}

// apply writes a group in one destination transaction.
func (g *grouper) apply(ctx context.Context, batch []change.Txn) error {
	a := g.a
	tx, err := g.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	ops, rows, err := a.batchOps(ctx, tx, batch)
	if err != nil {
		return err
	}
	if err := execOps(ctx, tx, ops); err != nil {
		return &ApplyError{What: fmt.Sprintf("transactions %s to %s", batch[0].GTID, batch[len(batch)-1].GTID), Err: err}
	}
	next, err := a.checkpoint(ctx, tx, batch)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	a.applied(next, batch, rows)
	return nil
}

// batchOps turns a batch's row changes into operations: each row's final
// state for tables whose keys fold (netChanges), the rest in order with
// adjacent operations merged.
func (a *Applier) batchOps(ctx context.Context, q querier, batch []change.Txn) ([]rowOp, int, error) {
	var ops []rowOp
	var net netChanges
	rows := 0
	for i := range batch {
		t := &batch[i]
		for j := range t.Changes {
			tops, err := a.rowOps(ctx, q, t.GTID, &t.Changes[j])
			if err != nil {
				return nil, 0, err
			}
			for _, o := range tops {
				if !net.add(o) {
					ops = merge(ops, o)
				}
			}
			rows++
		}
	}
	return append(ops, net.ops()...), rows, nil
}

// takeQueued returns first and whatever else is queued, without waiting:
// up to maxN items, and with size given, fewer once their sizes add up to
// maxBytes.
func takeQueued[T any](first T, queue <-chan T, maxN int, size func(*T) int, maxBytes int) []T {
	batch := []T{first}
	bytes := 0
	if size != nil {
		bytes = size(&first)
	}
	for len(batch) < maxN && (size == nil || bytes < maxBytes) {
		select {
		case t, ok := <-queue:
			if !ok {
				return batch
			}
			batch = append(batch, t)
			if size != nil {
				bytes += size(&t)
			}
		default:
			return batch
		}
	}
	return batch
}
