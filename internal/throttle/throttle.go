// Package throttle keeps a job's reading of its source under its speed
// limit (config.SpeedLimit): rows and bytes a second, for the full copy and
// the binlog stage each. The limit can be replaced while the job runs; a
// wait in progress takes the new one within a second.
package throttle

import (
	"context"
	"sync"
	"time"

	"github.com/dtle-io/dtle/internal/config"
)

// Stage is what is being read.
type Stage int

// The stages a limit caps separately.
const (
	Copy Stage = iota
	Binlog
)

// Limiter paces one job's source. Its zero value is not ready: use New.
type Limiter struct {
	mu      sync.Mutex
	limit   *config.SpeedLimit
	next    [2]time.Time // when the next batch of each stage may go
	changed chan struct{}
	now     func() time.Time
}

// New returns a limiter for limit (nil: no limit).
func New(limit *config.SpeedLimit) *Limiter {
	return &Limiter{limit: limit, changed: make(chan struct{}), now: time.Now}
}

// Set replaces the limit (nil: no limit). Waits in progress re-read it at
// once, and what was charged under the old one is forgiven.
func (l *Limiter) Set(limit *config.SpeedLimit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit = limit
	l.next = [2]time.Time{}
	close(l.changed)
	l.changed = make(chan struct{})
}

// Limit returns the limit and the caps in force now.
func (l *Limiter) Limit() (*config.SpeedLimit, config.Rates) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, _ := l.limit.At(l.now())
	return l.limit, r
}

// Wait returns once a batch of rows and bytes of the stage may be read
// on, or when ctx ends. A batch goes at once when the stage is not behind,
// and the next one waits for the time this one is worth at the caps: the
// average rate stays at the caps, whatever the batches' sizes.
func (l *Limiter) Wait(ctx context.Context, stage Stage, rows, bytes int64) error {
	if l == nil {
		return nil
	}
	for {
		l.mu.Lock()
		now := l.now()
		caps, _ := l.limit.At(now)
		rowCap, byteCap := caps.CopyRowsPerSecond, caps.CopyBytesPerSecond
		if stage == Binlog {
			rowCap, byteCap = caps.BinlogRowsPerSecond, caps.BinlogBytesPerSecond
		}
		start := l.next[stage]
		if start.Before(now) {
			start = now
		}
		wait := start.Sub(now)
		if wait <= 0 {
			l.next[stage] = start.Add(max(worth(rows, rowCap), worth(bytes, byteCap)))
			l.mu.Unlock()
			return nil
		}
		changed := l.changed
		l.mu.Unlock()
		t := time.NewTimer(min(wait, time.Second))
		select {
		case <-t.C:
		case <-changed:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// worth is how long n units take at perSecond; 0 without a cap.
func worth(n, perSecond int64) time.Duration {
	if perSecond <= 0 || n <= 0 {
		return 0
	}
	return time.Duration(float64(n) / float64(perSecond) * float64(time.Second))
}
