package verify

import (
	"database/sql/driver"
	"errors"

	"github.com/go-sql-driver/mysql"
)

var (
	// ErrConfig: the configuration cannot describe a comparison (no
	// connection, a bad rule, a table name that is not schema.table).
	ErrConfig = errors.New("verify configuration")
	// ErrNotReplicating: the destination holds no checkpoint of the job, or
	// the job is still in its full copy; a comparison needs the binlog stage.
	ErrNotReplicating = errors.New("the job does not replicate its binlog yet")
	// ErrBehind: the destination did not apply a source snapshot's GTID set
	// in Config.CatchUpTimeout (the job is paused, stopped or far behind).
	ErrBehind = errors.New("the destination did not catch up with the source")
	// ErrNotReplicated: a table named in Config.Tables is not one the job
	// replicates.
	ErrNotReplicated = errors.New("the job does not replicate the table")
)

// MySQL error codes retried by repair.
const (
	erLockDeadlock    = 1213
	erLockWaitTimeout = 1205
)

// transient reports whether err is worth another attempt: a deadlock or a
// lock wait with the applier, or a lost connection.
func transient(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == erLockDeadlock || me.Number == erLockWaitTimeout
	}
	return errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn)
}

// errDestAhead: the destination applied a transaction the repair's source
// snapshot does not see; the repair reads the source again.
var errDestAhead = errors.New("the destination is ahead of the source snapshot")
