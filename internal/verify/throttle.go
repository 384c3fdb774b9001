package verify

import (
	"context"
	"sync"
	"time"

	"github.com/dtle-io/dtle/internal/retry"
)

// throttle keeps the source rows read at or under a rate: a caller waits
// until its rows are due. Time spent not reading (waiting for the
// destination) earns at most a second of rows in advance. Safe for
// concurrent use; a nil throttle or a zero rate never waits.
type throttle struct {
	perSecond float64

	mu    sync.Mutex
	start time.Time
	rows  float64
}

func newThrottle(rowsPerSecond int) *throttle { return &throttle{perSecond: float64(rowsPerSecond)} }

// take counts n rows read and waits until they are due.
func (t *throttle) take(ctx context.Context, n int64) error {
	if wait := t.reserve(n); wait > 0 {
		return retry.Sleep(ctx, wait)
	}
	return nil
}

// reserve counts n rows read and returns how long to wait before reading
// more.
func (t *throttle) reserve(n int64) time.Duration {
	if t == nil || t.perSecond <= 0 || n <= 0 {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if t.start.IsZero() {
		t.start = now
	}
	due := t.start.Add(time.Duration(t.rows / t.perSecond * float64(time.Second)))
	if idle := now.Sub(due) - time.Second; idle > 0 {
		t.start = t.start.Add(idle)
	}
	t.rows += float64(n)
	due = t.start.Add(time.Duration(t.rows / t.perSecond * float64(time.Second)))
	return due.Sub(now)
}
