package pipeline

import (
	"github.com/nats-io/nats.go"

	"github.com/dtle-io/dtle/internal/progress"
)

// Live is what the monitor reads of a running side of a job: the stage's
// figures and its NATS connection. Each resume of a source hands a new one.
type Live struct {
	Source *progress.Source // the source side; nil on the destination
	Dest   *progress.Dest   // the destination side; nil on the source
	NATS   *nats.Conn
}
