package driver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/throttle"
)

// taskHandle is one running task: its work runs in one goroutine under a
// context that StopTask cancels; done closes when the work has returned.
type taskHandle struct {
	cfg       *drivers.TaskConfig
	task      *config.Task
	logger    hclog.Logger
	startedAt time.Time
	cancel    context.CancelFunc
	done      chan struct{}

	mu          sync.RWMutex
	state       drivers.TaskState
	completedAt time.Time
	exit        *drivers.ExitResult
	attrs       map[string]string

	live liveStats
	// speed paces a source task's reading (nil limiter on a destination).
	speed speedLimit
}

func newTaskHandle(cfg *drivers.TaskConfig, task *config.Task, logger hclog.Logger, startedAt time.Time) *taskHandle {
	h := &taskHandle{
		cfg:       cfg,
		task:      task,
		logger:    logger,
		startedAt: startedAt,
		done:      make(chan struct{}),
		state:     drivers.TaskStateRunning,
		attrs:     map[string]string{},
	}
	if cfg.Name == config.RoleSource && task != nil {
		h.speed = speedLimit{limiter: throttle.New(task.SpeedLimit), setBy: "job_config"}
	}
	return h
}

// run does the task's work until it returns or ctx ends, then records how
// the task exited. An error after the context was cancelled is a clean stop.
// A panic of the work fails the task, with its stack in the log, rather than
// the plugin's process and every task on the node.
func (h *taskHandle) run(ctx context.Context, work func(context.Context) error) {
	defer close(h.done)
	err := guard(ctx, work)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.completedAt = time.Now()
	h.state = drivers.TaskStateExited
	var stack interface{ PanicStack() []byte }
	switch {
	case errors.As(err, &stack):
		h.logger.Error("task failed", "error", err, "stack", string(stack.PanicStack()))
		h.exit = &drivers.ExitResult{ExitCode: 1, Err: err}
	case err != nil && ctx.Err() == nil:
		h.logger.Error("task failed", "error", err)
		h.exit = &drivers.ExitResult{ExitCode: 1, Err: err}
	default:
		h.exit = &drivers.ExitResult{ExitCode: 0}
	}
}

// guard runs work, returning a panic on its goroutine as a panicError.
// Goroutines the work starts recover their own panics (the transport's
// handler calls do) or end the process.
func guard(ctx context.Context, work func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return work(ctx)
}

// panicError is a recovered panic of a task's work.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("task panicked: %v", e.value) }

// Unwrap is the panic's value when it is an error (a runtime.Error, say).
func (e *panicError) Unwrap() error {
	err, _ := e.value.(error)
	return err
}

// PanicStack is the stack of the goroutine that panicked.
func (e *panicError) PanicStack() []byte { return e.stack }

// stop cancels the work and waits up to timeout for it to return.
func (h *taskHandle) stop(timeout time.Duration) bool {
	h.cancel()
	select {
	case <-h.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

func (h *taskHandle) isRunning() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.state == drivers.TaskStateRunning
}

func (h *taskHandle) setAttr(k, v string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attrs[k] = v
}

func (h *taskHandle) exitResult() *drivers.ExitResult {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.exit == nil {
		return nil
	}
	return h.exit.Copy()
}

func (h *taskHandle) status() *drivers.TaskStatus {
	h.mu.RLock()
	defer h.mu.RUnlock()
	st := &drivers.TaskStatus{
		ID:               h.cfg.ID,
		Name:             h.cfg.Name,
		State:            h.state,
		StartedAt:        h.startedAt,
		CompletedAt:      h.completedAt,
		DriverAttributes: maps.Clone(h.attrs),
	}
	if h.exit != nil {
		st.ExitResult = h.exit.Copy()
	}
	return st
}
