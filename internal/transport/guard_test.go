package transport_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/transport"
)

// recorder is a Handler that keeps what it is handed, or panics as told.
type recorder struct {
	mu          sync.Mutex
	got         []*change.Message
	panicHandle bool
	panicCp     bool
}

func (h *recorder) Checkpoint(context.Context) (*change.Checkpoint, error) {
	if h.panicCp {
		panic("the position table is gone")
	}
	return &change.Checkpoint{}, nil
}

func (h *recorder) Handle(_ context.Context, m *change.Message) error {
	if h.panicHandle {
		return fmt.Errorf("%d changes", len(m.Txns[7].Changes)) // out of range: a runtime panic
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, m)
	return nil
}

func (h *recorder) handled() []*change.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*change.Message(nil), h.got...)
}

// listen serves job for h on a fresh server, and returns a sender of the
// job that said hello.
func listen(ctx context.Context, t *testing.T, h transport.Handler) (*transport.Receiver, *transport.Sender) {
	t.Helper()
	nc := connect(t)
	r, err := transport.Listen(ctx, nc, "job", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	s := transport.NewSender(nc, "job", nil)
	s.RequestTimeout = 10 * time.Second
	return r, s
}

// received waits for the receiver's error.
func received(t *testing.T, r *transport.Receiver) error {
	t.Helper()
	select {
	case err := <-r.Errors():
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the receiver reported no error")
		return nil
	}
}

// A handler that panics fails its message like a Handle error: the source
// hears it, the destination's task gets it with the stack, and the process
// lives on. Before, the panic on the NATS goroutine ended the plugin.
func TestHandlerPanicFailsTheMessage(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, why string
		h         *recorder
	}{
		{"handle", "a message the sink cannot take", &recorder{panicHandle: true}},
		{"checkpoint", "a sink that cannot read its position", &recorder{panicCp: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, s := listen(ctx, t, c.h)
			_, err := s.Hello(ctx)
			if err == nil {
				err = s.Send(ctx, &change.Message{Kind: change.KindTxns})
			}
			var remote *transport.RemoteError
			if !errors.As(err, &remote) || !strings.Contains(err.Error(), "panicked") {
				t.Fatalf("the source got %v, want the destination's panic (%s)", err, c.why)
			}
			err = received(t, r)
			var stack interface{ PanicStack() []byte }
			if !errors.As(err, &stack) || !strings.Contains(string(stack.PanicStack()), "recorder") {
				t.Fatalf("the destination got %v, want the panic with its stack", err)
			}
		})
	}
}

// A message that breaks the contract of change.Message is refused with the
// reason and never handed to the sink, which would panic on it.
func TestMalformedMessagesNeverReachTheHandler(t *testing.T) {
	ctx := context.Background()
	h := &recorder{}
	_, s := listen(ctx, t, h)
	for _, c := range []struct {
		name, why string
		m         *change.Message
	}{
		{"chunk without its table", "a sink writes into m.Table", &change.Message{Kind: change.KindChunk}},
		{"insert without its row", "a sink reads the row's key",
			&change.Message{Kind: change.KindTxns, Txns: []change.Txn{{GTID: "0-1-1",
				Changes: []change.RowChange{{Op: change.OpInsert, Schema: "db", Table: "t"}}}}}},
		{"unknown kind", "a sink has no case for it", &change.Message{Kind: 42}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.Hello(ctx); err != nil {
				t.Fatal(err)
			}
			err := s.Send(ctx, c.m)
			var remote *transport.RemoteError
			if !errors.As(err, &remote) || !strings.Contains(err.Error(), "corrupt message") {
				t.Fatalf("send: %v, want the destination's refusal (%s)", err, c.why)
			}
		})
	}
	if got := h.handled(); len(got) != 0 {
		t.Fatalf("the handler was handed %d malformed messages", len(got))
	}
}

// A message larger than NATS's max payload (a 20 MiB BLOB against 8 MiB)
// goes in parts and arrives whole, and messages around it are unaffected.
// Before, Send refused it, and the job could never get past the row.
func TestSendSplitsMessagesOverTheMaxPayload(t *testing.T) {
	ctx := context.Background()
	h := &recorder{}
	_, s := listen(ctx, t, h)
	if _, err := s.Hello(ctx); err != nil {
		t.Fatal(err)
	}
	// Random: s2 cannot shrink it under the payload, pipeline.MaxPayload.
	blob := make([]byte, 20<<20)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	table := &change.Table{Schema: "db", Name: "t", Columns: []change.Column{{Name: "b", DataType: "longblob", Binary: true}}}
	rows, err := change.PackRows([]change.Row{{blob}})
	if err != nil {
		t.Fatal(err)
	}
	sent := []*change.Message{
		{Kind: change.KindTable, Table: table},
		{Kind: change.KindChunk, Table: table, Rows: rows},
		{Kind: change.KindTableDone, Table: table},
	}
	for _, m := range sent {
		if err := s.Send(ctx, m); err != nil {
			t.Fatalf("send %d: %v", m.Seq, err)
		}
	}
	got := h.handled()
	if len(got) != len(sent) {
		t.Fatalf("handled %d messages, want %d", len(got), len(sent))
	}
	back, err := got[1].Rows.Unpack()
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := back[0][0].([]byte); !ok || string(b) != string(blob) {
		t.Fatal("the blob arrived changed")
	}
}
