// Package pipeline builds and runs the two sides of a dtle job, the same
// way under Nomad (driver/), in the integration tests and in the
// benchmark: there is no other place that joins the stages.
//
// Contract:
//   - Source.Run finds the job's destination (Source.Locate), connects to
//     its NATS server, and runs an extractor that sends to it through
//     internal/transport. When the stream stops, it resumes from the
//     destination's checkpoint after a backoff (one policy: resumeFirst to resumeMax),
//     unless the error is fatal (Fatal) or non-transport failures keep
//     coming (maxSourceFailures in a row). It returns nil once ctx ends.
//   - Dest.Run builds the sink the task asks for (a MySQL applier, or a
//     Kafka sink for kafka_broker_addrs), and owns its stream: it listens on
//     the job's subjects, hands each message to the sink, calls the sink's
//     Tick on its interval, and runs the sink's own background work beside
//     it. It returns nil once ctx ends, or the first error of the sink or of
//     its messages; the sink is closed before it returns.
//   - Sinks are plain handlers (Sink): they import neither nats nor
//     transport, and a test can drive one with a fake caller.
//   - ServerOptions configures every embedded NATS server dtle starts.
//   - Fatal is the one classifier of task errors: fatal errors end a task
//     for good (Nomad must not restart it), the rest are retried.
package pipeline
