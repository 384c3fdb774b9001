// Package applier is the destination side of a MySQL-to-MySQL job: it takes
// the messages of internal/transport and writes them to the destination
// server.
//
// Contract:
//   - Consumes change.Messages, one at a time and in order, through
//     transport.Handler. Handle returns once the message is durable or queued
//     to a chunk writer whose failure fails the task.
//   - Full copy: KindTable creates the table (and resets one whose copy an
//     earlier attempt left half done), KindChunk rows are written as batched
//     multi-row INSERTs rendered from the packed rows by a pool of writers,
//     KindTableDone records the table as copied at its snapshot, KindCopyDone
//     moves the job to the binlog stage.
//   - Binlog: transactions are applied in groups (in order, or in parallel
//     batches), each group in one database transaction together with the
//     checkpoint row that records its GTIDs, and written as its rows' final
//     states (netChanges). That is the exactly-once guarantee: after any
//     crash the checkpoint says precisely what is applied.
//   - Row events of a table inside the snapshot it was copied at are skipped:
//     the copied rows already hold them.
//   - Run(ctx) returns nil when ctx is cancelled, or the first fatal error.
package applier
