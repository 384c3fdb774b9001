package driver

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"
)

// syncBuffer is a log output the handle's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stackError is an error that carries a panic's stack, as the transport's
// recovered handler panics do.
type stackError struct{}

func (stackError) Error() string      { return "destination panicked: boom" }
func (stackError) PanicStack() []byte { return []byte("goroutine 7 [running]:\nhandler.Handle()") }

func panicWithIndex(context.Context) error {
	var s []int
	return errors.New(string(rune(s[3]))) // out of range: a runtime panic
}

// A task whose work panics fails with the panic as its error and the stack
// in the log; the plugin's process, and every other task, goes on. Before,
// the panic ended the process.
func TestTaskPanicFailsTheTask(t *testing.T) {
	for _, c := range []struct {
		name, why string
		work      func(context.Context) error
		err       string // in the exit error
		stack     string // in the logged stack
	}{
		{"runtime panic", "a bug on the work's goroutine", panicWithIndex, "task panicked: runtime error: index out of range", "panicWithIndex"},
		{"panic with a value", "panic(\"...\") in a library", func(context.Context) error { panic("no table") }, "task panicked: no table", "TestTaskPanicFailsTheTask"},
		{"a recovered panic returned", "the transport's handler recovered it", func(context.Context) error { return stackError{} }, "destination panicked: boom", "handler.Handle()"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var log syncBuffer
			logger := hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Error})
			h := newTaskHandle(&drivers.TaskConfig{ID: "t1", Name: "src"}, nil, logger, time.Now())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h.cancel = cancel
			go h.run(ctx, c.work)
			select {
			case <-h.done:
			case <-time.After(5 * time.Second):
				t.Fatal("the task did not end")
			}
			res := h.exitResult()
			if res == nil || res.ExitCode != 1 || res.Err == nil || !strings.Contains(res.Err.Error(), c.err) {
				t.Fatalf("exit %+v, want code 1 and %q (%s)", res, c.err, c.why)
			}
			if h.isRunning() {
				t.Fatal("the task still runs")
			}
			if out := log.String(); !strings.Contains(out, "task failed") || !strings.Contains(out, c.stack) {
				t.Fatalf("log %q, want the failure with a stack naming %s", out, c.stack)
			}
		})
	}
	var re runtime.Error
	if err := guard(context.Background(), panicWithIndex); !errors.As(err, &re) {
		t.Fatalf("a runtime panic gives %v, want a runtime.Error within", err)
	}
}
