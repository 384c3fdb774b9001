package transport

import (
	"fmt"
	"runtime/debug"
)

// call runs one of the Handler's methods and returns its error, or its
// panic as a panicError: a panic on this NATS goroutine would end the
// plugin's process, and every task on the node with it.
func call(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return f()
}

// panicError is a recovered panic. The driver logs its stack (PanicStack)
// with the task's failure.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("destination panicked: %v", e.value) }

// Unwrap is the panic's value when it is an error (a runtime.Error, say).
func (e *panicError) Unwrap() error {
	err, _ := e.value.(error)
	return err
}

// PanicStack is the stack of the goroutine that panicked.
func (e *panicError) PanicStack() []byte { return e.stack }
