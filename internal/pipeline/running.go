package pipeline

import (
	"context"
	"errors"
	"time"
)

// ErrStillRunning: a side of a job did not stop within the time given.
var ErrStillRunning = errors.New("pipeline: still running after the stop timeout")

// Running is one side of a job running in its own goroutine, for a
// program that runs jobs itself (the tests, the benchmark) rather than
// under Nomad.
type Running struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before done closes
}

// Go runs run (Source.Run or Dest.Run) in the background until Stop.
func Go(ctx context.Context, run func(context.Context) error) *Running {
	ctx, cancel := context.WithCancel(ctx)
	r := &Running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = run(ctx)
	}()
	return r
}

// Done closes when the side has ended; Err then says how.
func (r *Running) Done() <-chan struct{} { return r.done }

// Err is how the side ended: nil for a clean stop. Call it after Done.
func (r *Running) Err() error { return r.err }

// Stop cancels the side and returns how it ended. It may be called again.
func (r *Running) Stop(timeout time.Duration) error {
	r.cancel()
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		return ErrStillRunning
	}
}
