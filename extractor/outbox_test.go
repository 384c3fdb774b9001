package extractor

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/change"
)

// slowSender takes a while over each message and fails at failAt (1-based;
// 0: never), recording the order and how many were sent at once.
type slowSender struct {
	got            []string
	inFlight, most atomic.Int32
	failAt         int
}

var errSend = errors.New("destination asks to resync")

func (s *slowSender) Hello(context.Context) (*change.Checkpoint, error) {
	return &change.Checkpoint{}, nil
}

func (s *slowSender) Send(_ context.Context, m *change.Message) error {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	if n > s.most.Load() {
		s.most.Store(n)
	}
	time.Sleep(2 * time.Millisecond)
	s.got = append(s.got, m.Txns[0].GTID)
	if len(s.got) == s.failAt {
		return errSend
	}
	return nil
}

func txnsMsg(gtid string) *change.Message {
	return &change.Message{Kind: change.KindTxns, Txns: []change.Txn{{GTID: gtid}}}
}

// The binlog's groups go one at a time, in the order read, and all of
// them before the stream ends.
func TestOutboxSendsInOrderOneAtATime(t *testing.T) {
	ctx := context.Background()
	s := &slowSender{}
	o := startOutbox(ctx, s, func(err error) { t.Errorf("failed: %v", err) })
	want := []string{"0-1-1", "0-1-2", "0-1-3", "0-1-4", "0-1-5"}
	for _, g := range want {
		if err := o.put(ctx, txnsMsg(g)); err != nil {
			t.Fatal(err)
		}
	}
	o.close()
	if len(s.got) != len(want) {
		t.Fatalf("sent %v, want %v", s.got, want)
	}
	for i := range want {
		if s.got[i] != want[i] {
			t.Fatalf("sent %v, want %v", s.got, want)
		}
	}
	if s.most.Load() != 1 {
		t.Errorf("%d messages on their way at once, want 1", s.most.Load())
	}
}

// A failed send is reported at once (the reader may be waiting for a
// quiet binlog), and every later hand-over returns it instead of waiting.
func TestOutboxReportsAFailedSend(t *testing.T) {
	ctx := context.Background()
	s := &slowSender{failAt: 2}
	reported := make(chan error, 1)
	o := startOutbox(ctx, s, func(err error) { reported <- err })
	for _, g := range []string{"0-1-1", "0-1-2"} {
		if err := o.put(ctx, txnsMsg(g)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-reported:
		if !errors.Is(err, errSend) {
			t.Fatalf("reported %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the failed send was not reported")
	}
	if err := o.put(ctx, txnsMsg("0-1-3")); !errors.Is(err, errSend) {
		t.Fatalf("a hand-over after the failure returned %v, want the failure", err)
	}
	o.close()
	if len(s.got) != 2 {
		t.Errorf("sent %v after the failure", s.got)
	}
}
