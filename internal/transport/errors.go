package transport

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// Named errors of the transport.
var (
	// ErrResync: the destination did not expect this message (it restarted, or
	// a message was lost); the source must say hello and resume from the checkpoint.
	ErrResync = errors.New("transport: destination asks to resync")
	// ErrNoDestination: no destination answered hello.
	ErrNoDestination = errors.New("transport: no destination is listening for this job")
)

// IncompatibleError: the two tasks of a job run dtle versions whose
// Protocol differs. Saying hello again cannot help: the source fails.
type IncompatibleError struct {
	Source, Dest int // 0: a version older than the protocol number
}

func (e *IncompatibleError) Error() string {
	name := func(p int) string {
		if p == 0 {
			return "an older dtle without a protocol number"
		}
		return fmt.Sprintf("dtle protocol %d", p)
	}
	return fmt.Sprintf("the source task speaks %s and the destination task %s: run the same dtle version on every node",
		name(e.Source), name(e.Dest))
}

// RemoteError is an error the destination reported while handling a message.
type RemoteError struct{ Msg string }

func (e *RemoteError) Error() string { return "destination: " + e.Msg }

// Retryable reports whether a Send or Hello error should make the source
// say hello again (after a pause) rather than fail: the destination
// restarted, is not there yet, refused a message, or the network hiccupped.
// A destination that keeps failing fails its own task, with the reason.
func Retryable(err error) bool {
	var re *RemoteError
	return errors.Is(err, ErrResync) || errors.Is(err, ErrNoDestination) || errors.As(err, &re) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, context.DeadlineExceeded)
}
