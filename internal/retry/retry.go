// Package retry is dtle's one way of waiting between attempts: a backoff
// that doubles from a first wait up to a ceiling, and a loop that retries
// what a caller says is worth retrying.
package retry

import (
	"context"
	"time"
)

// Backoff is a doubling wait. The zero value is not usable: make one with
// a first and a largest wait.
type Backoff struct {
	First, Max time.Duration
	next       time.Duration
}

// New returns a backoff that waits first, then twice as long each time,
// up to max.
func New(first, max time.Duration) *Backoff {
	return &Backoff{First: first, Max: max, next: first}
}

// Next returns the wait due now and doubles the one after it.
func (b *Backoff) Next() time.Duration {
	if b.next <= 0 {
		b.next = b.First
	}
	d := b.next
	b.next = min(2*b.next, b.Max)
	return d
}

// Reset starts again from the first wait.
func (b *Backoff) Reset() { b.next = b.First }

// Wait sleeps for the wait due now, or returns ctx's error once ctx ends.
func (b *Backoff) Wait(ctx context.Context) error { return Sleep(ctx, b.Next()) }

// Sleep waits d, or returns ctx's error once ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Policy says how often and how patiently Do retries.
type Policy struct {
	First, Max time.Duration
	// Attempts bounds the calls; 0 is no bound.
	Attempts int
	// Again reports whether an error is worth another attempt; nil retries
	// every error.
	Again func(error) bool
	// OnRetry, when set, hears each error that is retried and the wait.
	OnRetry func(err error, attempt int, wait time.Duration)
}

// Do calls f until it returns nil, returns an error Again refuses, the
// attempts run out (the last error), or ctx ends (ctx's error).
func (p Policy) Do(ctx context.Context, f func() error) error {
	b := New(p.First, p.Max)
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || (p.Again != nil && !p.Again(err)) || (p.Attempts > 0 && attempt >= p.Attempts) {
			return err
		}
		wait := b.Next()
		if p.OnRetry != nil {
			p.OnRetry(err, attempt, wait)
		}
		if err := Sleep(ctx, wait); err != nil {
			return err
		}
	}
}
