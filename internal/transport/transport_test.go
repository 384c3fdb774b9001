package transport_test

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/pipeline"
	"github.com/dtle-io/dtle/internal/transport"
)

type stubHandler struct{}

func (stubHandler) Checkpoint(context.Context) (*change.Checkpoint, error) {
	return &change.Checkpoint{}, nil
}
func (stubHandler) Handle(context.Context, *change.Message) error { return nil }

func connect(t *testing.T) *nats.Conn {
	t.Helper()
	srv, err := pipeline.StartLocalServer("secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := transport.Connect(srv.ClientURL(), "secret", t.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// Tasks of different dtle versions stop at hello with the reason, instead
// of a source retrying messages the destination cannot read.
func TestHelloChecksTheProtocol(t *testing.T) {
	ctx := context.Background()
	nc := connect(t)
	r, err := transport.Listen(ctx, nc, "job", stubHandler{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := transport.NewSender(nc, "job", nil).Hello(ctx); err != nil {
		t.Fatalf("same protocol: %v", err)
	}

	// A source older than the protocol number says hello with no payload.
	m, err := nc.Request("dtle.job.hello", nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.OK || !strings.Contains(rep.Error, "run the same dtle version on every node") {
		t.Fatalf("an old source's hello: %+v, want a refusal naming the fix", rep)
	}
	// An old source retries on any error: the destination fails, with the reason.
	select {
	case err := <-r.Errors():
		var ie *transport.IncompatibleError
		if !errors.As(err, &ie) || ie.Source != 0 {
			t.Fatalf("destination error %v, want an IncompatibleError", err)
		}
	default:
		t.Fatal("the destination goes on after an old source's hello")
	}

	// A destination older than the protocol number answers without one.
	sub, err := nc.Subscribe("dtle.old.hello", func(m *nats.Msg) { _ = m.Respond([]byte(`{"ok":true,"checkpoint":{}}`)) })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	_, err = transport.NewSender(nc, "old", nil).Hello(ctx)
	var ie *transport.IncompatibleError
	if !errors.As(err, &ie) || ie.Dest != 0 || ie.Source != transport.Protocol {
		t.Fatalf("hello to an old destination: %v, want an IncompatibleError", err)
	}
	if transport.Retryable(err) {
		t.Fatal("a version mismatch is retried")
	}
	if !strings.Contains(err.Error(), "an older dtle") {
		t.Fatalf("message %q", err)
	}
}

// Replies reach the source on one subscription for the whole job, not one
// per message: a subscription per message cost a SUB and an UNSUB on the
// NATS server and a channel of 64k slots (512 KiB) on the source, each
// time. A flood of answers from a stranger who learned the reply subjects
// neither blocks the source nor crowds out the destination's reply.
func TestRepliesShareOneSubscription(t *testing.T) {
	ctx := context.Background()
	nc := connect(t)
	sealer, err := transport.NewSealer(transport.JobKey([]byte("cluster secret"), "job"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := transport.Listen(ctx, nc, "job", stubHandler{}, sealer)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := transport.NewSender(nc, "job", sealer)
	if _, err := s.Hello(ctx); err != nil {
		t.Fatal(err)
	}
	send := func(n int) {
		t.Helper()
		for i := range n {
			if err := s.Send(ctx, &change.Message{Kind: change.KindSchema, Table: &change.Table{Schema: "s"}}); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
		}
	}
	send(10)
	subs := nc.NumSubscriptions()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 200
	send(n)
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 64<<10 {
		t.Errorf("%d bytes allocated per message (both ends and the NATS server), want under 64 KiB", per)
	}
	if got := nc.NumSubscriptions(); got != subs {
		t.Errorf("subscriptions after %d messages: %d, before them %d", n, got, subs)
	}

	// The stranger answers every data request before the destination, many
	// times over.
	stranger, err := nc.Subscribe("dtle.job.data", func(m *nats.Msg) {
		for range 50 {
			_ = nc.Publish(m.Reply, []byte(`{"ok":false,"error":"forged"}`))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stranger.Unsubscribe() }()
	send(50)
}
