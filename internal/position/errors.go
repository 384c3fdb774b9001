package position

import "errors"

var (
	// ErrNoCheckpoint: the destination holds no checkpoint of the job (it
	// never ran, or ran against another destination).
	ErrNoCheckpoint = errors.New("the destination holds no checkpoint of the job")
	// ErrNotReplicating: the job is still in its full copy; its position
	// means something only once it replicates its binlog.
	ErrNotReplicating = errors.New("the job does not replicate its binlog yet")
	// ErrBadPosition: a GTID, GTID set or binlog position that cannot be
	// read, or that the source does not have.
	ErrBadPosition = errors.New("bad position")
	// ErrAlreadyApplied: the transaction to skip is in the checkpoint's
	// applied set already.
	ErrAlreadyApplied = errors.New("the destination has applied the transaction already")
	// ErrNoHandle: no pending skip or replacement of the transaction.
	ErrNoHandle = errors.New("no pending skip or replacement of the transaction")
	// ErrBadStatement: a replacement statement that is not one row change
	// or schema change outside the system schemas.
	ErrBadStatement = errors.New("refused statement")
	// ErrRefusedDDL: a schema change from the source is not one replicated
	// DDL statement (create, alter, drop, rename or truncate of a table,
	// index, view or schema) outside the system schemas, so no destination
	// runs it (CheckDDL).
	ErrRefusedDDL = errors.New("refused schema change")
)
