package config

import (
	"fmt"
	"strings"
)

// Where a source task starts when the destination holds no checkpoint of
// the job yet:
//   - neither gtid nor binlog_file: a full copy, then the binlog from the
//     copy's snapshot;
//   - gtid: the binlog after that GTID set, without a full copy;
//   - binlog_file and binlog_pos: the binlog from that position (the first
//     transaction that starts at or after it), without a full copy. A
//     MariaDB source turns it into its GTID position (BINLOG_GTID_POS).
//
// Once the destination holds a checkpoint, the job resumes from it and
// these options are not read again.

// MaxBinlogPos is the largest position a binlog event can start at.
const MaxBinlogPos = 1<<32 - 1

// validateStart checks gtid, binlog_file and binlog_pos together.
func (t *Task) validateStart() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	file := strings.TrimSpace(t.BinlogFile)
	switch {
	case file == "" && t.BinlogPos != 0:
		add("binlog_file: required with binlog_pos (the binlog file the position is in, as SHOW MASTER STATUS shows it)")
	case file != "" && t.BinlogPos == 0:
		add("binlog_pos: required with binlog_file (the position in that file, as SHOW MASTER STATUS shows it)")
	}
	if file != "" && strings.TrimSpace(t.Gtid) != "" {
		add("gtid and binlog_file: give one starting point, a GTID set or a binlog file and position, not both")
	}
	if file != "" {
		if err := CheckBinlogFile(t.BinlogFile); err != nil {
			errs = append(errs, err)
		}
	}
	if t.BinlogPos != 0 && (t.BinlogPos < 4 || t.BinlogPos > MaxBinlogPos) {
		add("binlog_pos: must be between 4 (where a binlog's first event starts) and %d, got %d", int64(MaxBinlogPos), t.BinlogPos)
	}
	return errs
}

// CheckBinlogFile refuses what cannot be a binlog file name as SHOW BINARY
// LOGS lists it: a directory, spaces, quotes, control characters. The name
// reaches a MySQL source in SHOW BINLOG EVENTS, which takes no parameters.
func CheckBinlogFile(name string) error {
	file := strings.TrimSpace(name)
	bad := strings.ContainsFunc(file, func(r rune) bool { return r < ' ' || r == 0x7f || strings.ContainsRune("/\\ '\"`;", r) })
	if file == "" || file != name || bad || file == "." || file == ".." {
		return fmt.Errorf("binlog_file: want a binlog file name as SHOW BINARY LOGS lists it (no directory, no spaces or quotes), got %q", name)
	}
	return nil
}

// StartsAtPosition reports whether the task starts from binlog_file and
// binlog_pos.
func (t *Task) StartsAtPosition() bool { return t.BinlogFile != "" }
