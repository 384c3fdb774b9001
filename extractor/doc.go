// Package extractor is the source side of a job: it reads a MySQL or
// MariaDB server and sends what it reads to the destination task.
//
// Contract:
//   - Run(ctx) first asks the destination for its checkpoint (Sender.Hello)
//     and resumes from it: tables the destination has fully copied are not
//     copied again, and the binlog is read from the GTID set the destination
//     has committed. A job without a checkpoint starts at the task's gtid,
//     or at its binlog_file and binlog_pos (turned into a GTID position,
//     internal/position.GTIDAt), without a full copy.
//   - Full copy: one consistent snapshot (MariaDB: START TRANSACTION WITH
//     CONSISTENT SNAPSHOT and binlog_snapshot_gtid_pos, no global lock; MySQL:
//     a FLUSH TABLES WITH READ LOCK held only while the snapshot opens). Each
//     table is sent as KindTable, its rows as KindChunk messages of chunk_size
//     rows, then KindTableDone with the snapshot's GTID set; KindCopyDone ends
//     the copy.
//   - Binlog: row events are grouped into whole transactions; DDL goes alone,
//     in order. Transactions bigger than a message go in parts.
//   - Sending blocks until the destination took the message: memory holds
//     at most one message and the binlog reader's small buffer.
//   - Run returns nil when ctx is cancelled, else the error that stopped it;
//     transport.ErrResync means "say hello again", which the caller does by
//     calling Run again.
package extractor
