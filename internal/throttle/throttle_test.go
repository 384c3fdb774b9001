package throttle

import (
	"context"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/config"
)

// rate sends batches of n rows for d and returns the rows a second that
// got through.
func rate(t *testing.T, l *Limiter, stage Stage, n int64, d time.Duration) float64 {
	t.Helper()
	start := time.Now()
	var rows int64
	for time.Since(start) < d {
		if err := l.Wait(context.Background(), stage, n, 0); err != nil {
			t.Fatal(err)
		}
		rows += n
	}
	return float64(rows) / time.Since(start).Seconds()
}

// The rate stays within 10% of the cap, for the copy and the binlog each,
// and a new cap takes effect at once, also for a wait in progress.
func TestLimiterHoldsTheRateAndTakesNewLimits(t *testing.T) {
	l := New(&config.SpeedLimit{Rates: config.Rates{CopyRowsPerSecond: 2000, BinlogRowsPerSecond: 500}})
	if got := rate(t, l, Copy, 100, 1500*time.Millisecond); got < 1800 || got > 2200+100/1.5 {
		t.Errorf("copy at a 2000 rows/s cap: %.0f rows/s", got)
	}
	if got := rate(t, l, Binlog, 50, 1500*time.Millisecond); got < 450 || got > 550+50/1.5 {
		t.Errorf("binlog at a 500 rows/s cap: %.0f rows/s", got)
	}
	// A batch worth 10 s at the old cap; the next waits for it, until the
	// cap is raised.
	l.Set(&config.SpeedLimit{Rates: config.Rates{CopyRowsPerSecond: 1}})
	_ = l.Wait(context.Background(), Copy, 10, 0)
	done := make(chan time.Time, 1)
	go func() {
		_ = l.Wait(context.Background(), Copy, 1, 0)
		done <- time.Now()
	}()
	time.Sleep(300 * time.Millisecond)
	raised := time.Now()
	l.Set(&config.SpeedLimit{Rates: config.Rates{CopyRowsPerSecond: 1000}})
	select {
	case at := <-done:
		if at.Sub(raised) > 200*time.Millisecond {
			t.Errorf("the raised cap took %s to free the wait", at.Sub(raised))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a raised cap did not free the wait")
	}
	// Bytes cap the same way.
	l.Set(&config.SpeedLimit{Rates: config.Rates{BinlogBytesPerSecond: 1 << 20}})
	start := time.Now()
	for range 5 {
		_ = l.Wait(context.Background(), Binlog, 1, 256<<10)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 1300*time.Millisecond {
		t.Errorf("5 batches of 256 KiB at 1 MiB/s took %s, want about 1s (the first goes at once)", d)
	}
	// No cap: no wait.
	l.Set(nil)
	if got := rate(t, l, Copy, 1000, 100*time.Millisecond); got < 1e6 {
		t.Errorf("without a cap: %.0f rows/s", got)
	}
}

func TestLimiterStopsWithTheContext(t *testing.T) {
	l := New(&config.SpeedLimit{Rates: config.Rates{CopyRowsPerSecond: 1}})
	_ = l.Wait(context.Background(), Copy, 100, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx, Copy, 1, 0); err == nil {
		t.Fatal("a wait outlived its context")
	}
}
