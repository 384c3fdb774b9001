// Package applier is the destination side of a MySQL-to-MySQL job: it takes
// the source's messages, handed to it by internal/pipeline, and writes them
// to the destination server. It imports neither NATS nor the transport.
//
// Contract:
//   - Consumes change.Messages, one at a time and in order, through
//     Checkpoint and Handle. Handle returns once the message is durable or
//     queued to background work (a chunk writer, the binlog queue) whose
//     failure fails the task.
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
//   - A transaction the destination refuses fails the work with a TxnError
//     naming its GTID (a failed group is applied again one transaction at
//     a time to find it). One an operator recorded to skip or replace
//     (internal/position, dtle.handle_error) is applied alone as asked, its
//     done mark committed with the checkpoint past it, and reported as an
//     event.
//   - Run(ctx) runs the background work (chunk writers, deferred index
//     builds, the binlog queue's workers) in one errgroup; it returns nil
//     when ctx is cancelled, or the first failure of that work, which ends
//     the rest of it. From then on Checkpoint and Handle return that failure
//     (or ctx's cause), and none of their waits waits for the stopped work.
//     Checkpoint waits until Run has started it. Tick reports the copy's
//     progress as an event. Close releases the connections, after Run.
//
// Layout: Applier (applier.go; stage.go for the steps between stages) holds
// the two halves, which share dest (dest.go: the server, the table cache,
// the figures, the stop signal of stop.go):
//   - copier, the full copy: copy.go (tables), chunks.go (the chunk
//     writers), load.go (LOAD DATA plans), indexes.go (deferred indexes);
//   - replayer, the binlog: binlog.go (transactions, DDL), applied.go (the
//     applied set), queue.go (the queue interface, implemented by group.go's
//     grouper and parallel.go's parallel, whose writesets are writeset.go),
//     rowop.go and net.go (row changes into statements), isolate.go (a
//     failed group one transaction at a time), handle.go (transactions an
//     operator asked to skip or replace).
//
// checkpoint.go holds dtle's tables on the destination; backlog.go counts
// the work queued for background workers.
package applier
