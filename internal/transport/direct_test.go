package transport_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/transport"
)

// gated keeps what it is handed; block, while set, holds Handle until it
// is closed, and fail makes Handle refuse.
type gated struct {
	mu    sync.Mutex
	got   []*change.Message
	block chan struct{}
	fail  error
}

func (r *gated) Checkpoint(context.Context) (*change.Checkpoint, error) {
	return &change.Checkpoint{GTIDSet: "0-1-7"}, nil
}

func (r *gated) Handle(_ context.Context, m *change.Message) error {
	r.mu.Lock()
	block, fail := r.block, r.fail
	r.mu.Unlock()
	if block != nil {
		<-block
	}
	if fail != nil {
		return fail
	}
	r.mu.Lock()
	r.got = append(r.got, m)
	r.mu.Unlock()
	return nil
}

func (r *gated) handled() []*change.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*change.Message(nil), r.got...)
}

// directPair listens for job on its own connection and offers the receiver
// on d; the sender, on a connection of its own, knows d too.
func directPair(t *testing.T, d *transport.Direct, job, srcSecret string, h transport.Handler) (*transport.Receiver, *transport.Sender, *nats.Conn, *transport.Traffic) {
	t.Helper()
	ncDest, ncSrc := connect(t), connect(t)
	r, err := transport.Listen(context.Background(), ncDest, job, h, sealerOf(t, []byte("cluster"), job))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	took := &transport.Traffic{}
	r.Offer(d, took)
	s := transport.NewSender(ncSrc, job, sealerOf(t, []byte(srcSecret), job))
	s.Direct, s.Traffic = d, &transport.Traffic{}
	return r, s, ncSrc, took
}

// Two tasks of one job in one process hand over their messages without
// NATS: not one message goes over the source's connection, and the
// destination gets every message, in order and as sent.
func TestDirectTasksSkipNATS(t *testing.T) {
	ctx := context.Background()
	h := &gated{}
	_, s, ncSrc, took := directPair(t, transport.NewDirect(), "job", "cluster", h)
	cp, err := s.Hello(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.GTIDSet != "0-1-7" || cp.Session == "" {
		t.Fatalf("checkpoint %+v, want the destination's with a session", cp)
	}
	const n = 50
	for i := range n {
		m := &change.Message{Kind: change.KindTxns, Txns: []change.Txn{{GTID: fmt.Sprintf("0-1-%d", i+8)}}}
		if err := s.Send(ctx, m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	got := h.handled()
	if len(got) != n {
		t.Fatalf("the destination got %d messages, want %d", len(got), n)
	}
	for i, m := range got {
		if m.Seq != uint64(i+1) || m.Session != cp.Session || m.Txns[0].GTID != fmt.Sprintf("0-1-%d", i+8) {
			t.Fatalf("message %d: seq %d session %q gtid %s", i, m.Seq, m.Session, m.Txns[0].GTID)
		}
	}
	if st := ncSrc.Stats(); st.OutMsgs != 0 {
		t.Fatalf("the source published %d NATS messages, want none", st.OutMsgs)
	}
	if s.Traffic.OutMsgs.Load() != n+1 || took.InMsgs.Load() != n+1 || took.InBytes.Load() == 0 ||
		took.InBytes.Load() != s.Traffic.OutBytes.Load() {
		t.Fatalf("traffic: source out %d msgs %d bytes, destination in %d msgs %d bytes; want %d messages each, the same bytes",
			s.Traffic.OutMsgs.Load(), s.Traffic.OutBytes.Load(), took.InMsgs.Load(), took.InBytes.Load(), n+1)
	}
}

// Only the same job with the same key meets directly: a source holding
// another cluster's key goes over NATS, where the destination refuses it
// as it refuses any stranger, and a source of another job does not find it.
func TestDirectNeedsTheSameJobAndKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	d := transport.NewDirect()
	h := &gated{}
	_, s, ncSrc, took := directPair(t, d, "job", "another cluster", h)
	if _, err := s.Hello(ctx); err == nil {
		t.Fatal("a source with another key opened a session")
	}
	if ncSrc.Stats().OutMsgs == 0 || took.InMsgs.Load() != 0 {
		t.Fatal("a source with another key met the destination directly")
	}

	other := transport.NewSender(connect(t), "other-job", sealerOf(t, []byte("cluster"), "other-job"))
	other.Direct = d
	hctx, hcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer hcancel()
	if _, err := other.Hello(hctx); !errors.Is(err, transport.ErrNoDestination) {
		t.Fatalf("another job's hello: %v, want ErrNoDestination", err)
	}
	if took.InMsgs.Load() != 0 || len(h.handled()) != 0 {
		t.Fatal("another job's source reached the destination")
	}
}

// A destination that stops ends its direct session: the source's next
// message reads Resync, and its next hello opens a session with the
// destination that took its place. Closing the old one does not withdraw
// the new one.
func TestDirectSessionEndsWithItsDestination(t *testing.T) {
	ctx := context.Background()
	d := transport.NewDirect()
	old, s, _, _ := directPair(t, d, "job", "cluster", &gated{})
	if _, err := s.Hello(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, &change.Message{Kind: change.KindTxns}); err != nil {
		t.Fatal(err)
	}
	old.Close()
	if err := s.Send(ctx, &change.Message{Kind: change.KindTxns}); !errors.Is(err, transport.ErrResync) {
		t.Fatalf("a message after the destination stopped: %v, want ErrResync", err)
	}

	h := &gated{}
	next, err := transport.Listen(ctx, connect(t), "job", h, sealerOf(t, []byte("cluster"), "job"))
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	took := &transport.Traffic{}
	next.Offer(d, took)
	old.Close() // again: must not withdraw next
	if _, err := s.Hello(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, &change.Message{Kind: change.KindTxns}); err != nil {
		t.Fatal(err)
	}
	if len(h.handled()) != 1 || took.InMsgs.Load() != 2 {
		t.Fatalf("the new destination handled %d messages, %d directly; want 1, and 2 with the hello",
			len(h.handled()), took.InMsgs.Load())
	}
}

// A destination that hangs holds the source no longer than the request
// timeout, as over NATS; one that refuses a message answers with its
// reason, reports it, and takes nothing more of that session.
func TestDirectRequestsAreBounded(t *testing.T) {
	ctx := context.Background()
	h := &gated{}
	r, s, _, _ := directPair(t, transport.NewDirect(), "job", "cluster", h)
	s.RequestTimeout = 200 * time.Millisecond
	if _, err := s.Hello(ctx); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	h.mu.Lock()
	h.block = release
	h.mu.Unlock()
	start := time.Now()
	err := s.Send(ctx, &change.Message{Kind: change.KindTxns})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("a hanging destination: %v after %s, want the request timeout", err, time.Since(start))
	}
	h.mu.Lock()
	h.block = nil
	h.mu.Unlock()
	close(release) // the held message goes through, unread by the source
	h.mu.Lock()
	h.fail = errors.New("duplicate key")
	h.mu.Unlock()

	if _, err := s.Hello(ctx); err != nil {
		t.Fatal(err)
	}
	var re *transport.RemoteError
	if err := s.Send(ctx, &change.Message{Kind: change.KindTxns}); !errors.As(err, &re) || re.Msg != "duplicate key" {
		t.Fatalf("a refused message: %v, want the destination's reason", err)
	}
	select {
	case err := <-r.Errors():
		if err.Error() != "duplicate key" {
			t.Fatalf("reported %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the refusal was not reported")
	}
	h.mu.Lock()
	h.fail = nil
	h.mu.Unlock()
	if err := s.Send(ctx, &change.Message{Kind: change.KindTxns}); !errors.Is(err, transport.ErrResync) {
		t.Fatalf("a message after a refusal: %v, want ErrResync", err)
	}
}
