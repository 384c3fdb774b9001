package extractor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
)

// messages counts what an extractor sends, a message at a time; while
// hold is set, each Send waits for it to be closed, as a destination
// still taking the message.
type messages struct {
	mu    sync.Mutex
	sizes []int
	hold  chan struct{}
}

func (m *messages) Hello(context.Context) (*change.Checkpoint, error) {
	return &change.Checkpoint{}, nil
}

func (m *messages) Send(_ context.Context, msg *change.Message) error {
	m.mu.Lock()
	m.sizes = append(m.sizes, len(msg.Txns))
	hold := m.hold
	m.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return nil
}

func (m *messages) sent() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int(nil), m.sizes...)
}

// A transaction read while nothing is on its way to the destination goes
// at once, without waiting for the stream to stay idle or for
// group_timeout; transactions read while a group is on its way gather, and
// go together once the way is free.
func TestQuietTransactionsGoAtOnceBusyOnesInGroups(t *testing.T) {
	task := &config.Task{ReplicateDoDB: []*config.ReplicateDB{{TableSchema: "shop"}}}
	sent := &messages{hold: make(chan struct{})}
	e := binlogExtractor(t, task, sent)
	ctx := context.Background()
	out := startOutbox(ctx, sent, func(error) {})
	defer out.close()
	g := txnGrouper{e: e, max: 100, timeout: time.Hour, out: out}
	stream := replication.NewBinlogStreamer()
	read := func(txns ...binlogTxn) {
		t.Helper()
		var evs []*replication.BinlogEvent
		for _, b := range txns {
			evs = append(evs, b.events()...)
		}
		for _, ev := range evs {
			if err := stream.AddEventToStreamer(ev); err != nil {
				t.Fatal(err)
			}
		}
		// As stream does: handle the event GetEvent returns, then drain,
		// until the stream holds nothing.
		for {
			wctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			ev, err := stream.GetEvent(wctx)
			cancel()
			if err != nil {
				return
			}
			if err := g.handle(ctx, ev); err != nil {
				t.Fatal(err)
			}
			if err := g.drain(ctx, stream); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitSent := func(n int) []int {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for len(sent.sent()) < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		return sent.sent()
	}
	row := [][3]string{{"shop", "t", "x"}}

	// Quiet: one transaction, sent as soon as it is read. The destination
	// holds on to it.
	read(binlogTxn{seq: 1, rows: row})
	if s := waitSent(1); len(s) != 1 || s[0] != 1 || len(g.ready) != 0 {
		t.Fatalf("a lone transaction: messages %v, %d waiting; want it sent at once", s, len(g.ready))
	}
	// Busy: three more while the first is on its way. They wait, together.
	read(binlogTxn{seq: 2, rows: row}, binlogTxn{seq: 3, rows: row}, binlogTxn{seq: 4, rows: row})
	if s := sent.sent(); len(s) != 1 || len(g.ready) != 3 {
		t.Fatalf("transactions behind a group on its way: messages %v, %d waiting; want the 3 held together", s, len(g.ready))
	}
	if w := g.wait(); w.IsZero() || time.Until(w) > idleFlush {
		t.Fatalf("held transactions wait until %v, want at most idleFlush from now", w)
	}
	// The destination took the first: the next transaction finds the way
	// free and takes the held ones with it.
	close(sent.hold)
	for deadline := time.Now().Add(5 * time.Second); out.busy() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	read(binlogTxn{seq: 5, rows: row})
	if s := waitSent(2); len(s) != 2 || s[1] != 4 || len(g.ready) != 0 {
		t.Fatalf("once the way is free: messages %v, %d waiting; want the 4 in one message", s, len(g.ready))
	}
}
