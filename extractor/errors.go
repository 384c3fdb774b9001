package extractor

import (
	"errors"
	"fmt"
)

// ErrFlavorChanged: the destination's checkpoint was written for another
// kind of source; a job cannot switch between MySQL and MariaDB.
var ErrFlavorChanged = errors.New("the source's flavor differs from the destination checkpoint's")

// ErrBadRule: a replicate_do_db rule cannot apply to the source as it is
// (a mapped column the table lacks, a where naming an unknown column).
var ErrBadRule = errors.New("a replication rule does not fit the source")

// ErrSchemaAhead: a table with a column map or a where filter was changed
// again on the source after the binlog event being read, so the event's
// columns cannot be named. Restart the job with a full copy.
var ErrSchemaAhead = errors.New("the source table's definition has changed since this binlog event " +
	"(column maps and where filters need it); restart the job with a full copy")

// ErrBadStart: the task's binlog_file and binlog_pos name no position the
// source can start from (no such file or event, or a MySQL source, on which
// only gtid is supported).
var ErrBadStart = errors.New("binlog_file/binlog_pos cannot start the job")

// BinlogGoneError: the source no longer has the binlog the job must read
// next (purged, or the server's history differs). The job cannot resume;
// nothing was lost on the destination, which holds everything up to GTIDSet.
type BinlogGoneError struct {
	GTIDSet string
	Reason  string
}

func (e *BinlogGoneError) Error() string {
	return fmt.Sprintf("the source cannot send its binlog after GTID set %q (%s): the binlogs were purged "+
		"or replaced. The destination holds everything up to that set. Keep binlogs longer "+
		"(expire_logs_days / binlog_expire_logs_seconds), then start a new job with a full copy, or one with "+
		"gtid set to a position the source still has after bringing the destination to it", e.GTIDSet, e.Reason)
}
