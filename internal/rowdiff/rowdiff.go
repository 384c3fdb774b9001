// Package rowdiff compares tables on two servers row by row: every column of
// every row, duplicates counted. Tests use it to prove a copy is exact.
package rowdiff

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/dtle-io/dtle/internal/tableinfo"
)

// Tables compares the named tables of schema on both servers and describes
// the first differences; nil means identical.
func Tables(ctx context.Context, src, dst *sql.DB, schema string, tables ...string) error {
	var diffs []string
	for _, t := range tables {
		a, err := rows(ctx, src, schema, t)
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		b, err := rows(ctx, dst, schema, t)
		if err != nil {
			return fmt.Errorf("destination: %w", err)
		}
		if d := diff(a, b); d != "" {
			diffs = append(diffs, fmt.Sprintf("%s.%s: %s", schema, t, d))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("tables differ:\n%s", strings.Join(diffs, "\n"))
	}
	return nil
}

// Schema compares every table of schema on the source.
func Schema(ctx context.Context, src, dst *sql.DB, schema string) error {
	tables, err := listTables(ctx, src, schema)
	if err != nil {
		return err
	}
	return Tables(ctx, src, dst, schema, tables...)
}

func listTables(ctx context.Context, db *sql.DB, schema string) ([]string, error) {
	r, err := db.QueryContext(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", schema)
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Close() }()
	var tables []string
	for r.Next() {
		var t string
		if err := r.Scan(&t); err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	return tables, r.Err()
}

// rows reads a table as sorted text lines, one per row: quoted bytes, NULL
// distinct from the empty string. db must be a mysqlconn pool, whose
// connections read in UTC.
func rows(ctx context.Context, db *sql.DB, schema, table string) ([]string, error) {
	r, err := db.QueryContext(ctx, "SELECT * FROM "+tableinfo.QuoteName(schema, table))
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
