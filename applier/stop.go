package applier

import "sync"

// stopSignal is the one way a failure of the background work reaches the
// listener's side (Checkpoint and Handle): Run stops it with the first
// failure of any of its goroutines, or with its context's cause once that
// ends. From then on the listener's calls return the cause, and none of
// their waits waits for workers that are gone.
type stopSignal struct {
	once  sync.Once
	done  chan struct{}
	cause error
}

func newStopSignal() *stopSignal { return &stopSignal{done: make(chan struct{})} }

// signal records why the background work stopped; only the first call counts.
func (s *stopSignal) signal(cause error) {
	s.once.Do(func() {
		s.cause = cause
		close(s.done)
	})
}

// stopped closes once the background work has stopped.
func (s *stopSignal) stopped() <-chan struct{} { return s.done }

// err is why the background work stopped; nil while it runs.
func (s *stopSignal) err() error {
	select {
	case <-s.done:
		return s.cause
	default:
		return nil
	}
}
