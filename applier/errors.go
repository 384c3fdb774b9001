package applier

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
)

// ApplyError is a statement the destination refused. Its text names the
// statement (never its values) and the server's reason.
type ApplyError struct {
	What string
	Err  error
}

func (e *ApplyError) Error() string { return fmt.Sprintf("apply %s: %s", e.What, e.Err) }
func (e *ApplyError) Unwrap() error { return e.Err }

// TxnError is a source transaction the destination refused (a duplicate
// key, a missing table, a refused schema change). The destination holds
// everything before it; the job cannot go past it until the cause is fixed
// on the destination, or an operator skips or replaces it.
type TxnError struct {
	GTID string
	Err  error
}

func (e *TxnError) Error() string {
	return fmt.Sprintf("transaction %s failed: %s. The destination holds everything before it. Fix the destination, "+
		"or pause the job, have POST /v2/job/skip skip or replace the transaction, and resume the job "+
		"(docs/operate.md, Position control)", e.GTID, e.Err)
}
func (e *TxnError) Unwrap() error { return e.Err }

// txnFailed names the transaction gtid in err, unless err names one
// already.
func txnFailed(gtid string, err error) error {
	var te *TxnError
	if err == nil || errors.As(err, &te) || errors.Is(err, context.Canceled) || connLost(err) {
		return err // not the transaction's fault: the job resumes from its checkpoint
	}
	return &TxnError{GTID: gtid, Err: err}
}

// MySQL error codes the applier treats specially.
const (
	erLockDeadlock       = 1213
	erLockWaitTimeout    = 1205
	erDBCreateExists     = 1007
	erDBDropExists       = 1008
	erTableExists        = 1050
	erBadTable           = 1051
	erDupFieldName       = 1060
	erDupKeyName         = 1061
	erCantDropFieldOrKey = 1091
	erNoSuchTable        = 1146
)

// transient reports whether err is worth retrying: deadlocks, lock waits and
// lost connections.
func transient(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == erLockDeadlock || me.Number == erLockWaitTimeout
	}
	return errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn)
}

// connLost reports whether err says the connection to the destination is
// gone, which no transaction is to blame for.
func connLost(err error) bool {
	return errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)
}

// alreadyApplied reports whether a DDL error means the statement had taken
// effect before a restart (the DDL committed, its checkpoint did not).
func alreadyApplied(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case erDBCreateExists, erDBDropExists, erTableExists, erBadTable, erDupFieldName,
		erDupKeyName, erCantDropFieldOrKey, erNoSuchTable:
		return true
	}
	return false
}
