package pipeline

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/applier"
	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/progress"
	"github.com/dtle-io/dtle/internal/transport"
	"github.com/dtle-io/dtle/kafka"
)

// Sink is the destination stage of a job: the MySQL applier or the Kafka
// sink. Dest.Run drives it; a sink never sees the transport.
type Sink interface {
	// Checkpoint returns what is committed, for a new session of the
	// source, and drops what a session left uncommitted.
	Checkpoint(ctx context.Context) (*change.Checkpoint, error)
	// Handle applies one message; messages come one at a time, in order.
	Handle(ctx context.Context, m *change.Message) error
	// Run does the sink's own background work (writers, index builds)
	// until ctx ends, when it returns nil, or until that work fails.
	Run(ctx context.Context) error
	// Tick does the sink's periodic work (a commit that is due, a progress
	// event); it is called every TickInterval, between messages or beside them.
	Tick(ctx context.Context) error
	TickInterval() time.Duration
	// Figures are the sink's live figures.
	Figures() *progress.Dest
	// Close releases the sink's connections, after Run has returned.
	Close() error
}

// SinkConfig is what building a sink takes.
type SinkConfig struct {
	// Namespace and JobID name the Nomad job; Key joins them.
	Namespace string
	JobID     string
	// Secret is the cluster's secret the job's key derives from (see
	// transport.JobKey); every message and reply of the job is sealed with
	// it. Empty only for jobs whose stream never leaves the process.
	Secret []byte
	Task   *config.Task
	Logger hclog.Logger
	// Event reports stage changes and progress as task events.
	Event func(string)
}

// NewSink builds the sink the task asks for: Kafka for a task with
// kafka_broker_addrs, else the MySQL applier.
func NewSink(ctx context.Context, c SinkConfig) (Sink, error) {
	if c.Task.IsKafka() {
		return kafka.New(ctx, kafka.Config{JobID: Key(c.Namespace, c.JobID), Task: c.Task, Logger: c.Logger.Named("kafka"), Event: c.Event})
	}
	return applier.New(ctx, applier.Config{JobID: Key(c.Namespace, c.JobID), Task: c.Task, Logger: c.Logger.Named("applier"), Event: c.Event})
}

var (
	_ Sink = (*applier.Applier)(nil)
	_ Sink = (*kafka.Sink)(nil)
)

// sealer is the job's sealer; nil without a secret.
func sealer(secret []byte, key string) (*transport.Sealer, error) {
	if len(secret) == 0 {
		return nil, nil
	}
	return transport.NewSealer(transport.JobKey(secret, key))
}

// Key is what a job is known by on the wire and on the destination (its
// NATS subjects, its checkpoint rows, its Kafka topics): the job id in
// Nomad's default namespace, "namespace/id" in any other, so that jobs with
// one id in two namespaces share neither a stream nor a checkpoint.
func Key(namespace, jobID string) string {
	if namespace == "" || namespace == "default" {
		return jobID
	}
	return namespace + "/" + jobID
}
