package extractor

import (
	"context"
	"sync/atomic"

	"github.com/dtle-io/dtle/internal/change"
)

// outbox sends the binlog's groups from a goroutine of its own, one at a
// time and in order, so that the next group is read and parsed while one
// is on its way and being taken by the destination: the two overlap where
// they took turns. A group is handed over only once the one before it has
// gone, so at most one waits in the hand-over and one is on its way.
type outbox struct {
	in   chan *change.Message
	done chan struct{}
	err  error // why sending stopped; read once done is closed
	// out counts the messages handed over and not yet taken by the
	// destination.
	out atomic.Int32
}

// startOutbox starts sending through s until close; a failed send ends it,
// and fail is told why (the reader may be waiting for the binlog).
func startOutbox(ctx context.Context, s Sender, fail func(error)) *outbox {
	o := &outbox{in: make(chan *change.Message), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		for m := range o.in {
			err := s.Send(ctx, m)
			o.out.Add(-1)
			if err != nil {
				o.err = err
				fail(err)
				return
			}
		}
	}()
	return o
}

// put hands m over once the message before it has gone; it returns why
// sending stopped, if it has.
func (o *outbox) put(ctx context.Context, m *change.Message) error {
	o.out.Add(1)
	select {
	case o.in <- m:
		return nil
	case <-o.done:
		o.out.Add(-1)
		return o.err
	case <-ctx.Done():
		o.out.Add(-1)
		return ctx.Err()
	}
}

// busy reports a message on its way: one handed over now would wait.
func (o *outbox) busy() bool { return o.out.Load() > 0 }

// close waits for the message on its way, so that nothing of this stream
// is sent after it ends (a resumed stream sends on the same Sender).
func (o *outbox) close() {
	close(o.in)
	<-o.done
}
