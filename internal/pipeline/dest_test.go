package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/progress"
	"github.com/dtle-io/dtle/internal/transport"
)

// fakeSink records what the runner hands it.
type fakeSink struct {
	mu        sync.Mutex
	handled   []change.Kind
	ticks     int
	handleErr error      // returned by Handle once set
	runErr    chan error // Run returns what arrives here
	closed    bool
	stats     progress.Dest
}

func newFakeSink() *fakeSink { return &fakeSink{runErr: make(chan error, 1)} }

func (f *fakeSink) Checkpoint(context.Context) (*change.Checkpoint, error) {
	return &change.Checkpoint{Stage: change.StageIncr, Flavor: change.FlavorMariaDB, GTIDSet: "0-1-1"}, nil
}

func (f *fakeSink) Handle(_ context.Context, m *change.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handled = append(f.handled, m.Kind)
	return f.handleErr
}

func (f *fakeSink) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-f.runErr:
		return err
	}
}

func (f *fakeSink) Tick(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ticks++
	return nil
}

func (f *fakeSink) TickInterval() time.Duration { return 5 * time.Millisecond }
func (f *fakeSink) Figures() *progress.Dest     { return &f.stats }
func (f *fakeSink) Close() error                { f.closed = true; return nil }

func (f *fakeSink) snapshot() ([]change.Kind, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]change.Kind(nil), f.handled...), f.ticks
}

// runDest serves sink on a fresh local NATS server and returns a sender of
// the job and the running destination.
func runDest(t *testing.T, sink Sink) (*transport.Sender, *Running, *[]string) {
	t.Helper()
	srv, err := StartLocalServer("tok")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	var mu sync.Mutex
	events := []string{}
	d := Dest{URL: srv.ClientURL(), Token: "tok", Name: "dest",
		SinkConfig: SinkConfig{JobID: "job1", Logger: hclog.NewNullLogger(), Event: func(e string) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
		}}}
	dnc, err := transport.Connect(srv.ClientURL(), "tok", "dest", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dnc.Close)
	r := Go(context.Background(), func(ctx context.Context) error { return d.run(ctx, dnc, sink) })
	t.Cleanup(func() { _ = r.Stop(10 * time.Second) })
	nc, err := transport.Connect(srv.ClientURL(), "tok", "src", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	s := transport.NewSender(nc, "job1", nil)
	s.RequestTimeout = 5 * time.Second
	return s, r, &events
}

// The runner owns the stream: a sink sees each message once, in order, and
// its ticks, and never a NATS connection.
func TestDestDrivesTheSink(t *testing.T) {
	sink := newFakeSink()
	s, r, events := runDest(t, sink)
	ctx := context.Background()
	cp, err := s.Hello(ctx)
	if err != nil || cp.GTIDSet != "0-1-1" || cp.Session == "" {
		t.Fatalf("hello: %+v, %v", cp, err)
	}
	for _, k := range []change.Kind{change.KindTxns, change.KindTxns, change.KindCopyDone} {
		if err := s.Send(ctx, &change.Message{Kind: k, Flavor: change.FlavorMariaDB}); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		handled, ticks := sink.snapshot()
		if len(handled) == 3 && ticks > 0 {
			if handled[2] != change.KindCopyDone {
				t.Fatalf("handled %v, out of order", handled)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handled %v, ticks %d", handled, ticks)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := r.Stop(5 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if !sink.closed {
		t.Fatal("the sink was not closed")
	}
	if len(*events) != 1 || (*events)[0] != "job_stage_incr" {
		t.Fatalf("events %v, want job_stage_incr for a checkpoint in the binlog stage", *events)
	}
}

// A message the sink fails ends the destination with that error, and so
// does a failure of the sink's background work.
func TestDestEndsOnTheSinksFailure(t *testing.T) {
	errApply := errors.New("apply failed")
	sink := newFakeSink()
	sink.handleErr = errApply
	s, r, _ := runDest(t, sink)
	ctx := context.Background()
	if _, err := s.Hello(ctx); err != nil {
		t.Fatal(err)
	}
	var remote *transport.RemoteError
	if err := s.Send(ctx, &change.Message{Kind: change.KindTxns}); !errors.As(err, &remote) {
		t.Fatalf("send: %v, want the destination's error", err)
	}
	select {
	case <-r.Done():
		if !errors.Is(r.Err(), errApply) {
			t.Fatalf("ended with %v", r.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the destination did not end on the sink's error")
	}

	errBackground := errors.New("writer failed")
	sink = newFakeSink()
	_, r, _ = runDest(t, sink)
	sink.runErr <- errBackground
	select {
	case <-r.Done():
		if !errors.Is(r.Err(), errBackground) {
			t.Fatalf("ended with %v", r.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the destination did not end on the sink's background failure")
	}
}

// Jobs with one id in two namespaces share neither a stream nor a
// checkpoint (the sinks key their rows and topics by Key); the default
// namespace keeps the bare id, as checkpoints written before had it.
func TestNamespacesKeepJobsApart(t *testing.T) {
	if Key("", "j") != "j" || Key("default", "j") != "j" || Key("team-a", "j") == Key("team-b", "j") || Key("team-a", "j") == "j" {
		t.Fatalf("keys: %q %q %q %q", Key("", "j"), Key("default", "j"), Key("team-a", "j"), Key("team-b", "j"))
	}
	srv, err := StartLocalServer("tok")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	dnc, err := transport.Connect(srv.ClientURL(), "tok", "dest", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dnc.Close)
	d := Dest{SinkConfig: SinkConfig{Namespace: "team-a", JobID: "j", Logger: hclog.NewNullLogger()}}
	r := Go(context.Background(), func(ctx context.Context) error { return d.run(ctx, dnc, newFakeSink()) })
	t.Cleanup(func() { _ = r.Stop(10 * time.Second) })
	nc, err := transport.Connect(srv.ClientURL(), "tok", "src", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := transport.NewSender(nc, Key("team-b", "j"), nil).Hello(ctx); !errors.Is(err, transport.ErrNoDestination) {
		t.Fatalf("team-b's source reached team-a's destination: %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if _, err := transport.NewSender(nc, Key("team-a", "j"), nil).Hello(ctx2); err != nil {
		t.Fatalf("team-a's own source: %v", err)
	}
}
