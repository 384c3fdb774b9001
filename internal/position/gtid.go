package position

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/mysqlconn"
)

// GTIDAt is the GTID position a source had executed at binlog file and
// pos: a job that starts there reads the first transaction at or after
// pos. MariaDB computes it (BINLOG_GTID_POS); pos must be where an event
// starts, as SHOW MASTER STATUS and SHOW BINLOG EVENTS give it. On MySQL
// the file is read (mysqlGTIDAt); pos must be where a transaction starts.
func GTIDAt(ctx context.Context, db *sql.DB, flavor, file string, pos int64) (string, error) {
	if flavor == change.FlavorMySQL {
		set, err := mysqlGTIDAt(ctx, db, file, pos)
		if err != nil {
			return "", err
		}
		return NormalizeSet(flavor, set)
	}
	var set sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", file, pos).Scan(&set); err != nil {
		return "", fmt.Errorf("binlog position %s:%d: %w", file, pos, err)
	}
	if !set.Valid {
		return "", fmt.Errorf("%w: the source has no binlog position %s:%d (SHOW BINARY LOGS lists its files; the position "+
			"must be where an event starts, as SHOW MASTER STATUS or SHOW BINLOG EVENTS give it)", ErrBadPosition, file, pos)
	}
	return NormalizeSet(flavor, set.String)
}

// NormalizeSet checks a GTID set of the flavor and returns its canonical
// form.
func NormalizeSet(flavor, s string) (string, error) {
	set, err := change.ParseGTIDSet(flavor, strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadPosition, err)
	}
	return set.String(), nil
}

// NormalizeGTID checks that s is one GTID of the flavor (MariaDB
// domain-server-seq, MySQL uuid:number or uuid:tag:number) and returns it
// as the applier names transactions.
func NormalizeGTID(flavor, s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := func() (string, error) {
		if flavor == change.FlavorMariaDB {
			return "", fmt.Errorf("%w: %q is not one MariaDB GTID (domain-server-sequence, such as 0-1-42)", ErrBadPosition, s)
		}
		return "", fmt.Errorf("%w: %q is not one MySQL GTID (uuid:number, such as 3e11fa47-71ca-11e1-9e33-c80aa9429562:23)", ErrBadPosition, s)
	}
	if s == "" || strings.Contains(s, ",") {
		return bad()
	}
	set, err := change.ParseGTIDSet(flavor, s)
	if err != nil {
		return bad()
	}
	out := set.String()
	if flavor == change.FlavorMariaDB {
		if strings.Count(out, "-") != 2 {
			return bad()
		}
		return out, nil
	}
	// One GTID: a single number after the last colon, no interval.
	i := strings.LastIndexByte(out, ':')
	if i < 0 || strings.Contains(out, ",") {
		return bad()
	}
	if _, err := strconv.ParseUint(out[i+1:], 10, 64); err != nil {
		return bad()
	}
	return out, nil
}

// sourceExecuted is what a source has executed: its binlog GTID position
// (MariaDB) or executed GTID set (MySQL).
func sourceExecuted(ctx context.Context, db *sql.DB, flavor string) (change.GTIDSet, error) {
	s, err := mysqlconn.ExecutedGTIDs(ctx, db, flavor)
	if err != nil {
		return nil, err
	}
	return change.ParseGTIDSet(flavor, s)
}

// CheckReachable refuses a GTID set the source has not executed: a job
// moved there would wait for transactions that do not exist.
func CheckReachable(ctx context.Context, db *sql.DB, flavor, set string) error {
	want, err := change.ParseGTIDSet(flavor, set)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadPosition, err)
	}
	have, err := sourceExecuted(ctx, db, flavor)
	if err != nil {
		return err
	}
	if !have.ContainsSet(want) {
		return fmt.Errorf("%w: %s is ahead of the source, which has executed %s", ErrBadPosition, set, have)
	}
	return nil
}

// IsPosition reports whether err is about the position asked for (the
// caller's mistake), rather than a failure to reach a server.
func IsPosition(err error) bool {
	return errors.Is(err, ErrBadPosition)
}
