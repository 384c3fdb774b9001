package pipeline

import (
	"github.com/nats-io/nats.go"

	"github.com/dtle-io/dtle/internal/progress"
	"github.com/dtle-io/dtle/internal/transport"
)

// Live is what the monitor reads of a running side of a job: the stage's
// figures, its NATS connection and what it passed
// directly. Each resume of a source hands a new one.
type Live struct {
	Source *progress.Source // the source side; nil on the destination
	Dest   *progress.Dest   // the destination side; nil on the source
	NATS   *nats.Conn
	// Direct counts the messages that went to or came from the other task
	// in this process without NATS (transport.Direct).
	Direct *transport.Traffic
}
