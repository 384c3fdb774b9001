package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoffDoublesUpToMax(t *testing.T) {
	b := New(10*time.Millisecond, 50*time.Millisecond)
	var got []time.Duration
	for range 5 {
		got = append(got, b.Next())
	}
	want := []time.Duration{10, 20, 40, 50, 50}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("waits %v, want %v ms", got, want)
		}
	}
	b.Reset()
	if d := b.Next(); d != 10*time.Millisecond {
		t.Fatalf("after Reset: %v", d)
	}
}

func TestDoStopsOnSuccessRefusalAttemptsAndContext(t *testing.T) {
	errSoft, errHard := errors.New("soft"), errors.New("hard")
	fast := Policy{First: time.Millisecond, Max: time.Millisecond}

	calls := 0
	err := fast.Do(context.Background(), func() error {
		if calls++; calls < 3 {
			return errSoft
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("success after retries: err %v, calls %d", err, calls)
	}

	calls = 0
	p := fast
	p.Again = func(err error) bool { return errors.Is(err, errSoft) }
	err = p.Do(context.Background(), func() error { calls++; return errHard })
	if !errors.Is(err, errHard) || calls != 1 {
		t.Fatalf("refused error: err %v, calls %d", err, calls)
	}

	calls = 0
	p = fast
	p.Attempts = 4
	var heard int
	p.OnRetry = func(error, int, time.Duration) { heard++ }
	err = p.Do(context.Background(), func() error { calls++; return errSoft })
	if !errors.Is(err, errSoft) || calls != 4 || heard != 3 {
		t.Fatalf("attempts: err %v, calls %d, retries heard %d", err, calls, heard)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := Policy{First: time.Hour, Max: time.Hour}
	if err := slow.Do(ctx, func() error { return errSoft }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
