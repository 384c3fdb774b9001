// Package kafka is the destination side of a subscription job: it turns
// the messages of internal/transport into Debezium-compatible change events
// (JSON converter, schemas enabled) in Kafka.
//
// Contract:
//   - Consumes change.Messages one at a time, in order, through Checkpoint
//     and Handle, called by internal/pipeline, like the MySQL applier. It
//     imports neither NATS nor the transport.
//   - Emits, per table, to "<kafka_topic>.<db>.<table>": a key with the
//     primary key columns (null without a key) and a value envelope with
//     before, after, source, op (r for full-copy rows, c, u, d, t) and
//     ts_ms. A delete is followed by a tombstone (tombstones_on_delete); an
//     update that changes the key is a delete, its tombstone and a create,
//     with the other key in the headers __debezium.newkey and
//     __debezium.oldkey. DDL goes to "<kafka_topic>" in the shape of
//     Debezium's schema-change events (include_schema_changes). Debezium's
//     format settings of the task (options.go) choose the representations.
//   - Exactly once: everything goes out in Kafka transactions. The source
//     position (the applied GTID set and the copied tables) is written to the
//     job's offsets topic in the transaction of the events it covers, and the
//     table definitions to its schemas topic. After any restart the sink
//     reads both back (read_committed) and the source resumes from there.
//   - A full-copy table is one transaction: a copy interrupted halfway is
//     aborted and copied again. Binlog transactions are grouped into Kafka
//     transactions of message_group_max_size bytes or message_group_timeout
//     milliseconds, whichever comes first; a source transaction is never
//     split across two.
//   - Position control (position.go), for the API while the job's tasks are
//     stopped: OpenPosition reads the job's position, Move replaces its GTID
//     set, Skip adds one transaction to it and records the skip; each writes
//     a new position record in a Kafka transaction of the sink's
//     transactional id, which fences the sink off. Records of the offsets
//     topic that are not positions carry the header dtle.record, and the
//     sink's reads pass them over.
//   - Tick commits a transaction open longer than message_group_timeout.
//   - Run(ctx) waits for ctx and then aborts the open transaction; it
//     returns nil. Close closes the Kafka client, after Run.
package kafka
