package transport_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/transport"
)

func sealerOf(t *testing.T, secret []byte, job string) *transport.Sealer {
	t.Helper()
	s, err := transport.NewSealer(transport.JobKey(secret, job))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func secret(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

const marker = "row-value-only-the-job-may-read"

func rowMessage() *change.Message {
	return &change.Message{Kind: change.KindTxns, Txns: []change.Txn{{GTID: "0-1-7", Changes: []change.RowChange{
		{Op: change.OpInsert, Schema: "app", Table: "t", After: change.Row{int64(1), marker}}}}}}
}

// With the job's key, hello and messages go through; a client that only
// reached the NATS server reads no row, opens no session, and gets nothing
// applied; it cannot answer the source in the destination's place; and a
// destination without the job's key cannot answer the source's hello.
func TestSealedJobKeepsOthersOut(t *testing.T) {
	nc := connect(t)
	ctx := context.Background()
	const job = "sealed-job"
	clusterSecret := secret(t)

	// A rogue subscriber sees only ciphertext.
	var seen [][]byte
	var seenMu sync.Mutex
	spy, err := nc.Subscribe("dtle.>", func(m *nats.Msg) {
		seenMu.Lock()
		defer seenMu.Unlock()
		seen = append(seen, append([]byte(nil), m.Data...))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = spy.Unsubscribe() }()

	dest := &recorder{}
	recv, err := transport.Listen(ctx, nc, job, dest, sealerOf(t, clusterSecret, job))
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()

	src := transport.NewSender(nc, job, sealerOf(t, clusterSecret, job))
	src.RequestTimeout = 5 * time.Second
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := src.Hello(hctx); err != nil {
		t.Fatalf("the job's source: %v", err)
	}
	if err := src.Send(ctx, rowMessage()); err != nil {
		t.Fatalf("the job's message: %v", err)
	}
	big := rowMessage()
	big.Txns[0].Changes[0].After[1] = marker + strings.Repeat("x", 9<<20) // over the 8 MiB payload: in parts
	if err := src.Send(ctx, big); err != nil {
		t.Fatalf("the job's message in parts: %v", err)
	}
	if len(dest.handled()) != 2 {
		t.Fatalf("handled %d messages, want 2", len(dest.handled()))
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	seenMu.Lock()
	for _, b := range seen {
		if bytes.Contains(b, []byte(marker)) || bytes.Contains(b, []byte("checkpoint")) {
			t.Error("a subscriber outside the job read a row or a checkpoint")
		}
	}
	seenMu.Unlock()

	// A rogue without the key: no session, nothing applied.
	rogue := transport.NewSender(nc, job, nil)
	rogue.RequestTimeout = 2 * time.Second
	rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
	defer rcancel()
	if _, err := rogue.Hello(rctx); err == nil || !strings.Contains(err.Error(), "not sealed") {
		t.Errorf("a hello without the key: %v, want a refusal", err)
	}
	if err := rogue.Send(ctx, rowMessage()); err == nil {
		t.Error("a message without the key was taken")
	}
	forged := transport.NewSender(nc, job, sealerOf(t, secret(t), job)) // another cluster's key
	if _, err := forged.Hello(rctx); err == nil {
		t.Error("a hello sealed with another key opened a session")
	}
	if len(dest.handled()) != 2 {
		t.Fatalf("the destination handled %d messages, want the job's 2", len(dest.handled()))
	}
	// The job's own source still goes on (the rogue opened no session).
	if err := src.Send(ctx, rowMessage()); err != nil {
		t.Fatalf("the job's source after the rogue: %v", err)
	}

	// Someone answering in the destination's place is not believed.
	const other = "answered-job"
	fake, err := nc.Subscribe("dtle."+transport.Token(other)+".>", func(m *nats.Msg) {
		_ = m.Respond([]byte(`{"protocol":5,"ok":true,"checkpoint":{"stage":"incr"}}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fake.Unsubscribe() }()
	victim := transport.NewSender(nc, other, sealerOf(t, clusterSecret, other))
	victim.RequestTimeout = 2 * time.Second
	vctx, vcancel := context.WithTimeout(ctx, 3*time.Second)
	defer vcancel()
	if _, err := victim.Hello(vctx); !errors.Is(err, transport.ErrNotSealed) {
		t.Errorf("hello answered by a stranger: %v, want ErrNotSealed", err)
	}
	if err := victim.Send(ctx, rowMessage()); !errors.Is(err, transport.ErrNotSealed) || !transport.Retryable(err) {
		t.Errorf("a message answered by a stranger: %v, want a retryable ErrNotSealed", err)
	}
}

// A client on NATS without the key cannot disturb a running job: answering
// the source's requests faster than the destination, with garbage or with
// replies it recorded, is passed over (the destination's own reply is
// taken), and replaying the source's recorded hello opens no new session,
// so the job's source goes on without a resume.
func TestStrangerCannotInterruptTheJob(t *testing.T) {
	nc := connect(t)
	ctx := context.Background()
	const job = "undisturbed-job"
	clusterSecret := secret(t)
	dest := &recorder{}
	recv, err := transport.Listen(ctx, nc, job, dest, sealerOf(t, clusterSecret, job))
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()

	// The stranger records every request and reply of the job and answers
	// every request at once, with garbage and with the last reply it saw.
	var mu sync.Mutex
	var hellos, replies [][]byte
	rec, err := nc.Subscribe("_INBOX.>", func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		replies = append(replies, append([]byte(nil), m.Data...))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rec.Unsubscribe() }()
	fake, err := nc.Subscribe("dtle."+transport.Token(job)+".>", func(m *nats.Msg) {
		mu.Lock()
		if strings.HasSuffix(m.Subject, ".hello") {
			hellos = append(hellos, append([]byte(nil), m.Data...))
		}
		last := []byte(`{"protocol":6,"ok":true,"resync":true}`)
		if len(replies) > 0 {
			last = replies[len(replies)-1]
		}
		mu.Unlock()
		_ = m.Respond([]byte(`{"ok":false,"resync":true,"error":"stranger"}`))
		_ = m.Respond(last)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fake.Unsubscribe() }()

	src := transport.NewSender(nc, job, sealerOf(t, clusterSecret, job))
	src.RequestTimeout = 5 * time.Second
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := src.Hello(hctx); err != nil {
		t.Fatalf("hello with a stranger answering first: %v", err)
	}
	for i := range 3 {
		if err := src.Send(ctx, rowMessage()); err != nil {
			t.Fatalf("message %d with a stranger answering first: %v", i, err)
		}
	}
	// Replay the job's hello: no new session.
	mu.Lock()
	recorded := hellos
	mu.Unlock()
	if len(recorded) == 0 {
		t.Fatal("the stranger recorded no hello")
	}
	for _, h := range recorded {
		_, _ = nc.Request("dtle."+transport.Token(job)+".hello", h, 200*time.Millisecond)
	}
	if err := src.Send(ctx, rowMessage()); err != nil {
		t.Fatalf("the job's message after a replayed hello: %v (the replay opened a new session)", err)
	}
	if n := len(dest.handled()); n != 4 {
		t.Fatalf("the destination handled %d messages, want the job's 4", n)
	}
}
