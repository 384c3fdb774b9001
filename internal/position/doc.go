// Package position is the control of where a job stands, from outside its
// tasks: the API changes a paused job's state on its destination here, and
// the tasks read what it left.
//
// Contract:
//   - GTIDAt turns a source's binlog file and position into the GTID
//     position executed there (MariaDB: BINLOG_GTID_POS). The source task
//     starts from it for binlog_file/binlog_pos, the API moves a checkpoint
//     to it.
//   - Read and Move read and rewrite a job's checkpoint row on a MySQL
//     destination (dtle.checkpoint, which the applier writes in the very
//     transactions that apply the data). Move takes the row's lock, so it
//     never interleaves with an applier's commit; the caller makes sure the
//     job's tasks are stopped.
//   - Record, Cancel and List keep dtle.handle_error: per job and GTID, a
//     source transaction the applier must skip, or replace with an
//     operator's statements, the next time it meets it. Pending and
//     MarkDone are the applier's side: MarkDone runs in the transaction that
//     advances the checkpoint past that GTID, so a transaction is handled
//     exactly once.
//   - CheckStatement is what an operator's replacement statement must be:
//     one statement, a row change or a replicated kind of schema change,
//     outside the system schemas. CheckDDL is what a schema change from the
//     source must be before a destination runs it. Both share one check, and
//     the API and the applier both call CheckStatements, so they never
//     disagree on a replacement.
//
// It imports only the shared model (internal/change) and SQL helpers; no
// stage imports another through it.
package position
