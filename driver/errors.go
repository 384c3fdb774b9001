package driver

import (
	"errors"
	"fmt"
)

// Named errors of the driver.
var (
	// ErrTaskNotFound: no task with that ID runs in this plugin.
	ErrTaskNotFound = errors.New("task not found")
	// ErrNotConfigured: Nomad has not called SetConfig yet.
	ErrNotConfigured = errors.New("driver is not configured yet")
)

// StartError is why a task could not start. Nomad reads IsRecoverable to
// decide between restarting the task (a server that may come back) and
// failing it at once (a setting only a person can fix).
type StartError struct {
	Err         error
	Recoverable bool
}

func (e *StartError) Error() string       { return e.Err.Error() }
func (e *StartError) Unwrap() error       { return e.Err }
func (e *StartError) IsRecoverable() bool { return e.Recoverable }

func fatalf(format string, args ...any) error {
	return &StartError{Err: fmt.Errorf(format, args...)}
}

func retryablef(format string, args ...any) error {
	return &StartError{Err: fmt.Errorf(format, args...), Recoverable: true}
}
