package applier

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitDone runs f and fails the test unless it returns within a minute.
func waitDone(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("%s: still waiting after a minute", what)
		return nil
	}
}

// notYet fails the test if done is closed within a short while.
func notYet(t *testing.T, what string, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
		t.Fatalf("%s: did not wait", what)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestBacklogWaitsForRoomAndForTheWorkDone(t *testing.T) {
	ctx := context.Background()
	b := newBacklog(newStopSignal())
	if err := b.reserve(ctx, 60, 100); err != nil {
		t.Fatal(err)
	}
	reserved, drained := make(chan struct{}), make(chan struct{})
	go func() {
		if err := b.reserve(ctx, 60, 100); err == nil {
			close(reserved)
		}
	}()
	notYet(t, "reserve beyond the limit", reserved)
	b.done(1, 60)
	_ = waitDone(t, "reserve once there is room", func() error { <-reserved; return nil })
	go func() {
		if err := b.wait(); err == nil {
			close(drained)
		}
	}()
	notYet(t, "wait with an item left", drained)
	b.done(1, 60)
	_ = waitDone(t, "wait once every item is done", func() error { <-drained; return nil })
}

// Once the background work stops, nothing waits for it: its cause is
// returned instead.
func TestBacklogStopsWaitingAtTheStop(t *testing.T) {
	stop := newStopSignal()
	b := newBacklog(stop)
	b.add(100)
	errBroke := errors.New("broke")
	go stop.signal(errBroke)
	if err := waitDone(t, "wait", b.wait); !errors.Is(err, errBroke) {
		t.Fatalf("wait: %v, want the stop's cause", err)
	}
	err := waitDone(t, "reserve", func() error { return b.reserve(context.Background(), 1, 100) })
	if !errors.Is(err, errBroke) {
		t.Fatalf("reserve: %v, want the stop's cause", err)
	}
	stop.signal(errors.New("later"))
	if !errors.Is(stop.err(), errBroke) {
		t.Fatalf("the stop's cause changed to %v", stop.err())
	}
}
