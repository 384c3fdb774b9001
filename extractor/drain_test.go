package extractor

import (
	"context"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
)

// messages counts what an extractor sends, a message at a time.
type messages struct{ sizes []int }

func (m *messages) Hello(context.Context) (*change.Checkpoint, error) {
	return &change.Checkpoint{}, nil
}

func (m *messages) Send(_ context.Context, msg *change.Message) error {
	m.sizes = append(m.sizes, len(msg.Txns))
	return nil
}

// A transaction read while the source is quiet goes at once, without
// waiting for the stream to stay idle or for group_timeout; transactions
// that follow a group closely, or that the stream already holds, wait to
// go together.
func TestQuietTransactionsGoAtOnceBusyOnesInGroups(t *testing.T) {
	task := &config.Task{ReplicateDoDB: []*config.ReplicateDB{{TableSchema: "shop"}}}
	sent := &messages{}
	e := binlogExtractor(t, task, sent)
	g := txnGrouper{e: e, max: 100, timeout: time.Hour}
	ctx := context.Background()
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
	row := [][3]string{{"shop", "t", "x"}}

	// Quiet: one transaction, sent as soon as it is read.
	read(binlogTxn{seq: 1, rows: row})
	if len(sent.sizes) != 1 || sent.sizes[0] != 1 || len(g.ready) != 0 {
		t.Fatalf("a lone transaction: messages %v, %d waiting; want it sent at once", sent.sizes, len(g.ready))
	}
	// Busy: three more right behind the first group, all in the stream
	// already. They wait, together, for the stream to pause.
	g.sent = time.Now().Add(time.Hour) // as if sent just now, however slow this machine
	read(binlogTxn{seq: 2, rows: row}, binlogTxn{seq: 3, rows: row}, binlogTxn{seq: 4, rows: row})
	if len(sent.sizes) != 1 || len(g.ready) != 3 {
		t.Fatalf("transactions right after a group: messages %v, %d waiting; want the 3 held together", sent.sizes, len(g.ready))
	}
	if w := g.wait(); w.IsZero() || time.Until(w) > idleFlush {
		t.Fatalf("held transactions wait until %v, want at most idleFlush from now", w)
	}
	// Quiet again: the next transaction finds the last group long gone,
	// and takes the held ones with it.
	g.sent = time.Now().Add(-busyGap)
	read(binlogTxn{seq: 5, rows: row})
	if len(sent.sizes) != 2 || sent.sizes[1] != 4 || len(g.ready) != 0 {
		t.Fatalf("after a pause: messages %v, %d waiting; want the 4 in one message", sent.sizes, len(g.ready))
	}
}
