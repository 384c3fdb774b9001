package applier

import (
	"context"
	"sync"
)

// backlog counts the work the listener has handed to background workers
// and they have not finished: items, and the bytes those hold. The listener
// waits on it for room (reserve) or for all of it to be done (wait). Either
// wait also ends once the background work stops: what is queued then will
// never be done, and the listener must not wait for it.
type backlog struct {
	stop *stopSignal

	mu    sync.Mutex
	items int
	bytes int64
	// changed is closed, and replaced, whenever work is done.
	changed chan struct{}
}

func newBacklog(stop *stopSignal) *backlog {
	return &backlog{stop: stop, changed: make(chan struct{})}
}

// add counts one item of n bytes, without waiting.
func (b *backlog) add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items++
	b.bytes += n
}

// reserve counts one item of n bytes once the bytes counted leave room for
// it under limit; it returns ctx's error once ctx ends, or the stop's cause.
func (b *backlog) reserve(ctx context.Context, n, limit int64) error {
	for {
		b.mu.Lock()
		if b.bytes+n <= limit {
			b.items++
			b.bytes += n
			b.mu.Unlock()
			return nil
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-b.stop.stopped():
			return b.stop.err()
		}
	}
}

// done uncounts items finished (or dropped) and the bytes they held.
func (b *backlog) done(items int, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items -= items
	b.bytes -= n
	close(b.changed)
	b.changed = make(chan struct{})
}

// wait returns once every item counted is done (nil), or once the
// background work stops first (the stop's cause).
func (b *backlog) wait() error {
	for {
		b.mu.Lock()
		idle, changed := b.items == 0, b.changed
		b.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-changed:
		case <-b.stop.stopped():
			return b.stop.err()
		}
	}
}
