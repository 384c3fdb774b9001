// Package localjob runs a dtle job inside one process: an embedded NATS
// server joins an applier and an extractor as two nodes' plugins would be
// joined. Integration tests and the benchmark use it; the driver runs the
// same stages under Nomad.
package localjob

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/dtle-io/dtle/applier"
	"github.com/dtle-io/dtle/extractor"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/transport"
	"github.com/dtle-io/dtle/kafka"
)

// StartNATS starts a NATS server on a free loopback port, requiring token.
func StartNATS(token string) (*natsserver.Server, error) {
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, Authorization: token,
		NoSigs: true, NoLog: true, MaxPayload: 8 << 20})
	if err != nil {
		return nil, err
	}
	go srv.Start()
	if !srv.ReadyForConnections(5 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("localjob: NATS not ready after 5s")
	}
	return srv, nil
}

// Task is one side of a job running in the background.
type Task struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before done closes
}

func newTask(cancel context.CancelFunc) *Task {
	return &Task{cancel: cancel, done: make(chan struct{})}
}

func (t *Task) finish(err error) {
	t.err = err
	close(t.done)
}

// Done closes when the task has ended; Err then says how.
func (t *Task) Done() <-chan struct{} { return t.done }

// Err is how the task ended: nil for a clean stop. Call it after Done.
func (t *Task) Err() error { return t.err }

// Stop cancels the task and returns how it ended. It may be called again.
func (t *Task) Stop(timeout time.Duration) error {
	t.cancel()
	select {
	case <-t.done:
		return t.err
	case <-time.After(timeout):
		return errors.New("localjob: task did not stop")
	}
}

// Dest runs an applier, or a Kafka sink for a Kafka destination, for job.
type Dest struct {
	URL, Token, JobID string
	Task              *config.Task
	Logger            hclog.Logger
	// Event receives stage and progress events.
	Event func(string)
}

// Start connects and runs the applier until Stop.
func (d Dest) Start(ctx context.Context) (*Task, error) {
	ctx, cancel := context.WithCancel(ctx)
	nc, err := transport.Connect(d.URL, d.Token, "dest")
	if err != nil {
		cancel()
		return nil, err
	}
	var a interface{ Run(context.Context) error }
	if d.Task.IsKafka() {
		a, err = kafka.New(ctx, kafka.Config{JobID: d.JobID, Task: d.Task, NATS: nc, Logger: d.Logger, Event: d.Event})
	} else {
		a, err = applier.New(ctx, applier.Config{JobID: d.JobID, Task: d.Task, NATS: nc, Logger: d.Logger, Event: d.Event})
	}
	if err != nil {
		nc.Close()
		cancel()
		return nil, err
	}
	t := newTask(cancel)
	go func() {
		err := a.Run(ctx)
		nc.Close()
		t.finish(err)
	}()
	return t, nil
}

// Source runs an extractor for job, resuming whenever the destination asks.
type Source struct {
	URL, Token, JobID string
	Task              *config.Task
	Logger            hclog.Logger
	// RequestTimeout bounds each message; zero is the transport's default.
	RequestTimeout time.Duration
	// Wrap, when set, wraps the sender (to count or inject faults).
	Wrap func(extractor.Sender) extractor.Sender
}

// Start connects and runs the extractor until Stop.
func (s Source) Start(ctx context.Context) (*Task, error) {
	ctx, cancel := context.WithCancel(ctx)
	nc, err := transport.Connect(s.URL, s.Token, "src")
	if err != nil {
		cancel()
		return nil, err
	}
	ts := transport.NewSender(nc, s.JobID)
	ts.RequestTimeout = s.RequestTimeout
	var sender extractor.Sender = ts
	if s.Wrap != nil {
		sender = s.Wrap(sender)
	}
	e, err := extractor.New(ctx, extractor.Config{JobID: s.JobID, AllocID: "local-" + s.JobID, Task: s.Task,
		Sender: sender, Logger: s.Logger})
	if err != nil {
		nc.Close()
		cancel()
		return nil, err
	}
	t := newTask(cancel)
	go func() {
		err := e.RunResuming(ctx, transport.Retryable)
		_ = e.Close()
		nc.Close()
		t.finish(err)
	}()
	return t, nil
}
