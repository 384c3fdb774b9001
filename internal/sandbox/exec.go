package sandbox

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// ExecErr runs stmts in order on one connection, so USE and SET hold for
// the statements after them, then drops that connection from the pool so
// its session state reaches no later user. It returns the first error,
// naming its statement; goroutines of a test call it instead of
// sandboxtest.Exec.
func ExecErr(ctx context.Context, db *sql.DB, stmts ...string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = conn.Close()
	}()
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}
