package applier

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/dtle-io/dtle/internal/change"
)

// QueueCapacity bounds the row data of binlog transactions taken from the
// source and not yet applied; the applier stops taking messages at it.
const QueueCapacity = 64 << 20

// Group limits: how many source transactions one destination transaction
// may hold, and how many bytes of SQL one round trip may carry.
const (
	maxGroupTxns  = 256
	maxBatchBytes = 1 << 20
)

// queue applies whole binlog transactions in the background, each group of
// them in one destination transaction with its checkpoint. There are two:
// grouper (in order, parallel_workers <= 1) and parallel (several
// connections); New chooses one.
type queue interface {
	// start runs the queue's workers in g until ctx ends.
	start(ctx context.Context, g *errgroup.Group)
	// submit queues t; it blocks while the queue is full.
	submit(ctx context.Context, t *change.Txn) error
	// drain waits until every submitted transaction is applied; it returns
	// why the background work stopped if it stops first.
	drain() error
	// reset forgets what the last session left, once drained.
	reset()
}

// newQueue returns the queue for parallel_workers.
func newQueue(r *replayer, workers int) queue {
	if workers > 1 {
		return newParallel(r, workers)
	}
	return newGrouper(r)
}

// txnQueue carries transactions from the listener to a queue's workers:
// the channel, and the count of what is queued and not finished, in bytes
// held against QueueCapacity.
type txnQueue struct {
	ch      chan change.Txn
	pending *backlog
	stats   *Stats
}

func newTxnQueue(d *dest) *txnQueue {
	return &txnQueue{ch: make(chan change.Txn, maxGroupTxns), pending: newBacklog(d.stop), stats: d.stats}
}

// submit queues t once its size fits in QueueCapacity; one transaction
// larger than the whole of it takes all of it.
func (q *txnQueue) submit(ctx context.Context, t *change.Txn) error {
	n := budgetOf(t)
	if err := q.pending.reserve(ctx, n, QueueCapacity); err != nil {
		return err
	}
	q.stats.QueueBytes.Add(n)
	select {
	case q.ch <- *t:
		return nil
	case <-ctx.Done():
		q.finish([]change.Txn{*t})
		return ctx.Err()
	case <-q.pending.stop.stopped():
		q.finish([]change.Txn{*t})
		return q.pending.stop.err()
	}
}

// drain waits until every submitted transaction is finished, or the work stops.
func (q *txnQueue) drain() error { return q.pending.wait() }

// take waits for a transaction and returns it with whatever else is
// queued, up to maxGroupTxns; false once ctx ends.
func (q *txnQueue) take(ctx context.Context) ([]change.Txn, bool) {
	select {
	case <-ctx.Done():
		return nil, false
	case t := <-q.ch:
		return takeQueued(t, q.ch, maxGroupTxns, nil, 0), true
	}
}

// finish uncounts transactions applied or dropped.
func (q *txnQueue) finish(batch []change.Txn) {
	var n int64
	for i := range batch {
		n += budgetOf(&batch[i])
	}
	q.stats.QueueBytes.Add(-n)
	q.pending.done(len(batch), n)
}

func budgetOf(t *change.Txn) int64 { return min(int64(t.Size()), QueueCapacity) }

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
