package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/sandbox"
)

// schemaChecksums is CHECKSUM TABLE of every base table of schema on s, by
// table name (the parts with more than the sysbench table use it).
func schemaChecksums(ctx context.Context, s *sandbox.Server, schema string) (map[string]string, error) {
	db, err := mysqlconn.Open(ctx, s.RootConnection())
	if err != nil {
		return nil, err
	}
	defer func() { _ = db.Close() }()
	names, err := tableNames(ctx, db, schema)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	sums := make(map[string]string, len(names))
	const batch = 200 // table names per CHECKSUM TABLE
	for i := 0; i < len(names); i += batch {
		quoted := make([]string, 0, batch)
		for _, n := range names[i:min(i+batch, len(names))] {
			quoted = append(quoted, fmt.Sprintf("`%s`.`%s`", schema, n))
		}
		if err := scanChecksums(ctx, db, "CHECKSUM TABLE "+strings.Join(quoted, ", "), schema, sums); err != nil {
			return nil, err
		}
	}
	return sums, nil
}

func tableNames(ctx context.Context, db *sql.DB, schema string) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'", schema)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

func scanChecksums(ctx context.Context, db *sql.DB, q, schema string, into map[string]string) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var name string
		var v sql.NullString
		if err := rows.Scan(&name, &v); err != nil {
			return err
		}
		into[strings.TrimPrefix(name, schema+".")] = v.String
	}
	return rows.Err()
}

// sameSchema checks that dst holds the tables of want (schemaChecksums of
// the source), no more, each with the same checksum.
func sameSchema(ctx context.Context, want map[string]string, dst *sandbox.Server, schema string) error {
	got, err := schemaChecksums(ctx, dst, schema)
	if err != nil {
		return err
	}
	if len(got) != len(want) {
		return fmt.Errorf("%s holds %d tables in %s, the source %d", dst.Name, len(got), schema, len(want))
	}
	for name, sum := range want {
		if got[name] != sum {
			return fmt.Errorf("checksum of %s.%s: source %s, %s %q", schema, name, sum, dst.Name, got[name])
		}
	}
	return nil
}

// resetMemHighWater returns what it can to the OS and resets the process's
// VmHWM (Linux: "5" into /proc/self/clear_refs), so that memHighWater then
// reports the peak of what follows only.
func resetMemHighWater() error {
	debug.FreeOSMemory()
	return resetPeak("self")
}

// resetPeak resets a process's VmHWM; pid is a number or "self".
func resetPeak(pid string) error {
	return os.WriteFile("/proc/"+pid+"/clear_refs", []byte("5"), 0)
}

// measuredPeak wraps a timed run so that it also keeps, in *peak, the
// highest VmHWM of its runs. Where the mark cannot be reset, it is the
// process's peak so far (the caller reports that).
func measuredPeak(peak *int64, run func() (time.Duration, error)) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		_ = resetMemHighWater()
		d, err := run()
		*peak = max(*peak, memHighWater())
		return d, err
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
