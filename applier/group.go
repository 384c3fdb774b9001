package applier

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// grouper is the queue that applies binlog transactions one after another,
// as they arrive, committing them in groups: whatever is queued when a
// group starts goes into one destination transaction, with one checkpoint
// write, its statements sent several per round trip. Under load, groups
// grow and commits amortize; when quiet, each transaction commits alone at
// once. Exactly-once holds as the checkpoint commits with the group it
// covers.
type grouper struct {
	*txnQueue
	r *replayer
}

func newGrouper(r *replayer) *grouper {
	return &grouper{txnQueue: newTxnQueue(r.dest), r: r}
}

// start runs the grouper's one worker in eg.
func (g *grouper) start(ctx context.Context, eg *errgroup.Group) {
	eg.Go(func() error { return g.loop(ctx) })
}

// reset has nothing to forget: a grouper keeps nothing between groups.
func (g *grouper) reset() {}

// loop applies groups on a connection of its own until ctx ends (nil) or
// a group fails (the error).
func (g *grouper) loop(ctx context.Context) error {
	conn, err := g.r.session(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	for {
		batch, ok := g.take(ctx)
		if !ok {
			return nil
		}
		err := retryTransient(ctx, g.r.log, "transaction group", func() error { return g.r.applyGroup(ctx, conn, batch) })
		if err != nil {
			err = g.r.isolate(ctx, conn, batch, err)
		}
		g.finish(batch)
		if err != nil {
			return err
		}
	}
}
