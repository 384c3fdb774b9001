package applier

import (
	"context"
	"errors"
	"testing"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// Run ends on a failure of its background work (the failure) or with its
// context (nil); either way the listener's side then returns at once.
func TestRunStopsAndTheListenerSeesIt(t *testing.T) {
	missing := &change.Table{Schema: "applier_stop", Name: "missing", Columns: []change.Column{{Name: "id", DataType: "int"}}}
	chunk := func() *change.Message {
		return &change.Message{Kind: change.KindChunk, Table: missing, Rows: packAsSource(t, missing, [][]any{{"1"}})}
	}
	sandboxtest.Exec(t, sandboxtest.OpenDB(t, pair.Dest), []string{"DROP DATABASE IF EXISTS applier_stop"})
	for _, c := range []struct {
		name, reason string
		stop         func(*Applier, context.CancelFunc) // makes Run end
		wantRun      func(error) bool
	}{
		{
			name:   "failure",
			reason: "a chunk writer fails: Run returns its error, and nothing waits for the chunks queued after it",
			stop: func(a *Applier, _ context.CancelFunc) {
				for range 3 * chunkWriters(&config.Task{}) {
					if err := a.Handle(context.Background(), chunk()); err != nil {
						return // the failure got here first
					}
				}
			},
			wantRun: func(err error) bool { var ae *ApplyError; return errors.As(err, &ae) },
		},
		{
			name:    "cancel",
			reason:  "Run's context ends: Run returns nil",
			stop:    func(_ *Applier, cancel context.CancelFunc) { cancel() },
			wantRun: func(err error) bool { return err == nil },
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a, err := New(ctx, Config{JobID: "run-stop-" + c.name, Task: &config.Task{ConnectionConfig: pair.Dest}, Logger: sandboxtest.Logger(t, "dest")})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = a.Close() }()
			ran := make(chan error, 1)
			go func() { ran <- a.Run(ctx) }()
			if _, err := a.Checkpoint(ctx); err != nil {
				t.Fatalf("%s: checkpoint: %v", c.reason, err)
			}
			c.stop(a, cancel)
			if err := waitDone(t, "Run", func() error { return <-ran }); !c.wantRun(err) {
				t.Fatalf("%s: Run returned %v", c.reason, err)
			}
			if err := waitDone(t, "Checkpoint", func() error { _, err := a.Checkpoint(context.Background()); return err }); err == nil {
				t.Fatalf("%s: Checkpoint after the stop succeeded", c.reason)
			}
			if err := waitDone(t, "Handle", func() error { return a.Handle(context.Background(), chunk()) }); err == nil {
				t.Fatalf("%s: Handle after the stop succeeded", c.reason)
			}
			_ = waitDone(t, "waitChunks", a.copier.waitChunks)
			_ = waitDone(t, "drain", a.replayer.queue.drain)
		})
	}
}
