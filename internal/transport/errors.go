package transport

import (
	"context"
	"errors"

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
