package extractor

import (
	"errors"
	"fmt"
)

// ErrFlavorChanged: the destination's checkpoint was written for another
// kind of source; a job cannot switch between MySQL and MariaDB.
var ErrFlavorChanged = errors.New("the source's flavor differs from the destination checkpoint's")

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

// Fatal reports whether err means the job cannot go on as configured, so
// retrying is pointless: the binlog it needs is gone, or the source changed
// flavor.
func Fatal(err error) bool {
	var gone *BinlogGoneError
	return errors.As(err, &gone) || errors.Is(err, ErrFlavorChanged)
}
