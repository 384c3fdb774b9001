// Package verify compares the tables of a running MySQL-to-MySQL job on its
// source and its destination, and optionally repairs the rows that differ.
//
// Contract:
//   - Input: the job's source task (its connection, and the rules that say
//     which tables are replicated, under which names, which columns and which
//     rows: internal/filter) and the destination's connection. The job must
//     replicate its binlog (checkpoint stage "incr").
//   - For each replicated table, the key range (primary key, else a unique
//     key over NOT NULL columns) is walked in chunks. Each server computes a
//     checksum of a chunk (COUNT(*) and the sum of an MD5 of every row's
//     columns in destination order); rows leave a server only for a chunk
//     whose checksums differ. A table without such a key is one chunk.
//   - Consistency: source chunks are read in a consistent snapshot (no lock)
//     whose GTID set is known; the destination's chunks are read in a
//     snapshot opened once its checkpoint (dtle.checkpoint, written in the
//     transactions that apply the data) holds that set. A chunk that differs
//     is narrowed down to rows in a "sandwich": the source read before and
//     after the destination's snapshot. A row is a difference only when both
//     source reads agree and the destination's disagrees; a row the source
//     changed in between is unsettled and compared again (bounded attempts,
//     with backoff). So a live workload raises no false alarm.
//   - Repair (optional, keyed tables only) rewrites exactly the differing
//     rows (repair.go says why this does not race the applier).
//   - Run(ctx) returns the final Report and nil, or the error that stopped
//     it (ctx's error once ctx ends); a failed table does not stop the rest.
//     Report may be called concurrently with Run to read progress.
//   - Load on the source: short read-only transactions (no locks), one
//     connection, throttled by Config.RowsPerSecond.
package verify
