// Package rowdiff compares tables on two servers: their columns and indexes,
// then row by row, every column of every row, duplicates counted. Tests use
// it to prove a copy is exact.
package rowdiff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/dtle-io/dtle/internal/tableinfo"
)

// Tables compares the named tables of schema on both servers and describes
// the first differences; nil means identical.
func Tables(ctx context.Context, src, dst *sql.DB, schema string, tables ...string) error {
	var diffs []string
	for _, t := range tables {
		// The definition first: rows of differently shaped tables say little.
		for _, read := range []struct {
			what string
			f    func(context.Context, *sql.DB, string, string) ([]string, error)
		}{{" definition", shape}, {"", rows}} {
			a, err := read.f(ctx, src, schema, t)
			if err != nil {
				return fmt.Errorf("source: %w", err)
			}
			b, err := read.f(ctx, dst, schema, t)
			if err != nil {
				return fmt.Errorf("destination: %w", err)
			}
			if d := diff(a, b); d != "" {
				diffs = append(diffs, fmt.Sprintf("%s.%s%s: %s", schema, t, read.what, d))
				break
			}
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("tables differ:\n%s", strings.Join(diffs, "\n"))
	}
	return nil
}

// Schema compares every table of schema; both servers must have the same
// tables.
func Schema(ctx context.Context, src, dst *sql.DB, schema string) error {
	tables, err := listTables(ctx, src, schema)
	if err != nil {
		return err
	}
	other, err := listTables(ctx, dst, schema)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	if d := diff(tables, other); d != "" {
		return fmt.Errorf("schema %s has other tables: %s", schema, d)
	}
	return Tables(ctx, src, dst, schema, tables...)
}

// shape lists a table's columns and index parts as sorted text lines.
func shape(ctx context.Context, db *sql.DB, schema, table string) ([]string, error) {
	var out []string
	for _, q := range []string{
		"SELECT CONCAT_WS(' ', 'column', ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE) " +
			"FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		"SELECT CONCAT_WS(' ', 'index', INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME) " +
			"FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
	} {
		l, err := Lines(ctx, db, q, schema, table)
		if err != nil {
			return nil, err
		}
		out = append(out, l...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("table %s.%s does not exist", schema, table)
	}
	sort.Strings(out)
	return out, nil
}

func listTables(ctx context.Context, db *sql.DB, schema string) ([]string, error) {
	return Lines(ctx, db, "SELECT TABLE_NAME FROM information_schema.TABLES "+
		"WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", schema)
}

// Lines returns the one text column of a query's rows.
func Lines(ctx context.Context, db *sql.DB, q string, args ...any) ([]string, error) {
	r, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Close() }()
	var out []string
	for r.Next() {
		var s string
		if err := r.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, r.Err()
}

// Queries compares the rows two queries return, one on each server, row by
// row and column by column, duplicates counted: how a test checks a
// destination shaped by rules (renamed, some columns, some rows) against
// what the rules say it should hold.
func Queries(ctx context.Context, a *sql.DB, qa string, b *sql.DB, qb string) error {
	x, err := Rows(ctx, a, qa)
	if err != nil {
		return fmt.Errorf("%s: %w", qa, err)
	}
	y, err := Rows(ctx, b, qb)
	if err != nil {
		return fmt.Errorf("%s: %w", qb, err)
	}
	if d := diff(x, y); d != "" {
		return fmt.Errorf("%s and %s differ: %s", qa, qb, d)
	}
	return nil
}

// Counts is what a row-by-row comparison of one table found: the source's
// rows, those the destination lacks, and those the destination holds more
// often than the source (a row changed on the source but not on the
// destination counts once in each: its new version lost, its old one extra).
type Counts struct {
	Compared, Lost, Duplicated int
}

// mysqlNoSuchTable is ER_NO_SUCH_TABLE.
const mysqlNoSuchTable = 1146

// Count compares schema.table on both servers row by row, every column,
// duplicates counted; a table missing on dst has all its rows lost.
func Count(ctx context.Context, src, dst *sql.DB, schema, table string) (Counts, error) {
	a, err := rows(ctx, src, schema, table)
	if err != nil {
		return Counts{}, fmt.Errorf("source: %w", err)
	}
	b, err := rows(ctx, dst, schema, table)
	var my *mysql.MySQLError
	if errors.As(err, &my) && my.Number == mysqlNoSuchTable {
		b, err = nil, nil
	}
	if err != nil {
		return Counts{}, fmt.Errorf("destination: %w", err)
	}
	c := Counts{Compared: len(a)}
	// Both are sorted: walk them together.
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			c.Lost++
			i++
		case i == len(a) || b[j] < a[i]:
			c.Duplicated++
			j++
		default:
			i++
			j++
		}
	}
	return c, nil
}

// rows reads a table as sorted text lines (see Rows).
func rows(ctx context.Context, db *sql.DB, schema, table string) ([]string, error) {
	return Rows(ctx, db, "SELECT * FROM "+tableinfo.QuoteName(schema, table))
}

// Rows reads a query's rows as sorted text lines, one per row: quoted
// bytes, NULL distinct from the empty string. db must be a mysqlconn pool,
// whose connections read in UTC.
func Rows(ctx context.Context, db *sql.DB, q string) ([]string, error) {
	r, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Close() }()
	cols, err := r.Columns()
	if err != nil {
		return nil, err
	}
	raw := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range raw {
		dest[i] = &raw[i]
	}
	var out []string
	for r.Next() {
		if err := r.Scan(dest...); err != nil {
			return nil, err
		}
		parts := make([]string, len(raw))
		for i, b := range raw {
			if b == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = fmt.Sprintf("%q", b)
			}
		}
		out = append(out, strings.Join(parts, ","))
	}
	sort.Strings(out)
	return out, r.Err()
}

func diff(a, b []string) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d rows on the source, %d on the destination%s", len(a), len(b), firstMismatch(a, b))
	}
	for i := range a {
		if a[i] != b[i] {
			return fmt.Sprintf("row differs: source %s, destination %s", a[i], b[i])
		}
	}
	return ""
}

func firstMismatch(a, b []string) string {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return fmt.Sprintf("; first difference: source %s, destination %s", a[i], b[i])
		}
	}
	return ""
}
