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
	if _, err := victim.Hello(rctx); !errors.Is(err, transport.ErrNotSealed) {
		t.Errorf("hello answered by a stranger: %v, want ErrNotSealed", err)
	}
	if err := victim.Send(ctx, rowMessage()); !errors.Is(err, transport.ErrNotSealed) || !transport.Retryable(err) {
		t.Errorf("a message answered by a stranger: %v, want a retryable ErrNotSealed", err)
	}
}
