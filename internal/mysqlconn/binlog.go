package mysqlconn

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Querier is a pool, a connection or a transaction.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// BinlogEnd reads the server's current binlog file and offset: SHOW MASTER
// STATUS, or SHOW BINARY LOG STATUS where MySQL (8.4) has only that.
func BinlogEnd(ctx context.Context, q Querier) (string, uint64, error) {
	var err error
	for _, stmt := range []string{"SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"} {
		var file string
		var pos uint64
		if file, pos, err = firstFileAndPos(ctx, q, stmt); err == nil {
			return file, pos, nil
		}
	}
	return "", 0, err
}

// firstFileAndPos reads the first two columns of stmt's first row.
func firstFileAndPos(ctx context.Context, q Querier, stmt string) (string, uint64, error) {
	rows, err := q.QueryContext(ctx, stmt)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", stmt, err)
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil || len(cols) < 2 {
		return "", 0, fmt.Errorf("%s: %d columns (%w)", stmt, len(cols), err)
	}
	if !rows.Next() {
		return "", 0, fmt.Errorf("%s: no row (is log_bin on?): %w", stmt, rows.Err())
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return "", 0, fmt.Errorf("%s: %w", stmt, err)
	}
	pos, err := strconv.ParseUint(string(vals[1]), 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%s: position %q: %w", stmt, vals[1], err)
	}
	return string(vals[0]), pos, nil
}

// RowQuerier is a pool, a connection or a transaction, for one row.
type RowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ExecutedGTIDs is the set of transactions the server has executed, as
// text: gtid_executed on MySQL (its line breaks dropped), gtid_binlog_pos
// on MariaDB (the flavor is Server.Flavor's, or change's same names).
func ExecutedGTIDs(ctx context.Context, q RowQuerier, flavor string) (string, error) {
	stmt := "SELECT @@GLOBAL.gtid_executed"
	if flavor == string(FlavorMariaDB) {
		stmt = "SELECT @@GLOBAL.gtid_binlog_pos"
	}
	var set sql.NullString
	if err := q.QueryRowContext(ctx, stmt).Scan(&set); err != nil {
		return "", fmt.Errorf("read the server's executed GTID set: %w", err)
	}
	return strings.ReplaceAll(set.String, "\n", ""), nil
}
