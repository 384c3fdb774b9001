package sandbox

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
)

// OpenDB opens a pool to c for a test and closes it when the test ends.
func OpenDB(t testing.TB, c *config.MySQLConnection) *sql.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := mysqlconn.Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Exec runs stmts in order and fails the test on the first error; secrets
// are replaced by "*" in what it reports. See ExecErr.
func Exec(t testing.TB, db *sql.DB, stmts []string, secrets ...string) {
	t.Helper()
	if err := ExecErr(context.Background(), db, stmts...); err != nil {
		msg := err.Error()
		for _, s := range secrets {
			msg = strings.ReplaceAll(msg, s, "*")
		}
		t.Fatal(msg)
	}
}

// ExecErr runs stmts in order on one connection, so USE and SET hold for
// the statements after them, then drops that connection from the pool so
// its session state reaches no later user. It returns the first error,
// naming its statement; goroutines of a test call it instead of Exec.
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

// Logger is an hclog logger writing to the test's log.
func Logger(t testing.TB, name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Info, Output: testWriter{t}})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Prepare gives both servers of p an account user/password with every
// privilege, drops schema on both and creates it on the source with stmts.
func (p *Pair) Prepare(t testing.TB, user, password, schema string, stmts ...string) (src, dst *sql.DB) {
	t.Helper()
	src, dst = OpenDB(t, p.Source), OpenDB(t, p.Dest)
	CreateUser(t, src, user, password)
	CreateUser(t, dst, user, password)
	Exec(t, dst, []string{"DROP DATABASE IF EXISTS " + schema})
	Exec(t, src, append([]string{"DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema}, stmts...))
	return src, dst
}

// CreateUser creates user/password with every privilege on db's server.
func CreateUser(t testing.TB, db *sql.DB, user, password string) {
	t.Helper()
	Exec(t, db, []string{
		"CREATE USER IF NOT EXISTS '" + user + "'@'%' IDENTIFIED BY '" + password + "'",
		"GRANT ALL PRIVILEGES ON *.* TO '" + user + "'@'%'",
	}, password)
}

// GlobalStatus reads a counter of SHOW GLOBAL STATUS, such as "Com_load".
func GlobalStatus(t testing.TB, db *sql.DB, name string) int64 {
	t.Helper()
	var got string
	var n int64
	if err := db.QueryRowContext(context.Background(), "SHOW GLOBAL STATUS LIKE ?", name).Scan(&got, &n); err != nil {
		t.Fatalf("global status %s: %v", name, err)
	}
	return n
}
