package sandboxtest

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/sandbox"
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
// are replaced by "*" in what it reports. See sandbox.ExecErr.
func Exec(t testing.TB, db *sql.DB, stmts []string, secrets ...string) {
	t.Helper()
	if err := sandbox.ExecErr(context.Background(), db, stmts...); err != nil {
		msg := err.Error()
		for _, s := range secrets {
			msg = strings.ReplaceAll(msg, s, "*")
		}
		t.Fatal(msg)
	}
}

// Prepare gives both servers of p an account user/password with every
// privilege, drops schema on both and creates it on the source with stmts.
func Prepare(t testing.TB, p *sandbox.Pair, user, password, schema string, stmts ...string) (src, dst *sql.DB) {
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

// Rows runs query and returns its rows as text, a NULL as null.
func Rows(t testing.TB, db *sql.DB, query, null string) [][]string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = null
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// JoinedRows is Rows as "a:b,c:d", a NULL as "".
func JoinedRows(t testing.TB, db *sql.DB, query string) string {
	t.Helper()
	var out []string
	for _, r := range Rows(t, db, query, "") {
		out = append(out, strings.Join(r, ":"))
	}
	return strings.Join(out, ",")
}
