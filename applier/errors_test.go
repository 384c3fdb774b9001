package applier

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// A lost connection is no transaction's fault: it must never come out as a
// TxnError, which tells an operator to skip the transaction it names (and
// would lose it). The server refusing a transaction does.
func TestOnlyARefusalNamesTheTransaction(t *testing.T) {
	for _, err := range []error{mysql.ErrInvalidConn, driver.ErrBadConn, sql.ErrConnDone,
		fmt.Errorf("apply transactions 0-1-5 to 0-1-9: %w", sql.ErrConnDone)} {
		var te *TxnError
		if got := txnFailed("0-1-7", err); errors.As(got, &te) {
			t.Errorf("%v came out as %v", err, got)
		}
	}
	refused := &mysql.MySQLError{Number: 4025, Message: "CONSTRAINT `short` failed"}
	var te *TxnError
	if got := txnFailed("0-1-7", refused); !errors.As(got, &te) || te.GTID != "0-1-7" {
		t.Errorf("a refusal came out as %v, want the TxnError of 0-1-7", got)
	}
}
