package pipeline

import (
	"errors"

	"github.com/dtle-io/dtle/applier"
	"github.com/dtle-io/dtle/extractor"
	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/position"
	"github.com/dtle-io/dtle/internal/transport"
	"github.com/dtle-io/dtle/kafka"
)

// Fatal reports whether err means the task cannot go on as configured, so
// that retrying, or restarting the task, is pointless until a person acts:
//   - the source: the binlog it needs is gone, it changed flavor, a rule does
//     not fit it, its table changed under a column map, or its binlog_file
//     and binlog_pos name no position it can start from;
//   - the link: the two tasks speak different protocol versions, or a
//     message is larger than any message may be (change.MaxMessageBytes);
//   - a MySQL destination: a schema change from the source is not one DDL
//     statement on the job's tables;
//   - a Kafka destination: its offsets topic is unreadable, or a row names a
//     table it has no definition of or does not fit that definition.
//
// It is the one place that decides; the source's resume loop and the
// driver (which keeps a fatal reason so Nomad's restarts fail at once) ask it.
func Fatal(err error) bool {
	if err == nil {
		return false
	}
	var (
		gone  *extractor.BinlogGoneError
		incom *transport.IncompatibleError
		row   *kafka.RowError
	)
	return errors.As(err, &gone) || errors.Is(err, change.ErrTooLarge) || errors.Is(err, extractor.ErrFlavorChanged) || errors.Is(err, extractor.ErrBadRule) ||
		errors.Is(err, extractor.ErrBadStart) ||
		errors.Is(err, extractor.ErrSchemaAhead) || errors.As(err, &incom) ||
		errors.Is(err, applier.ErrRefusedDDL) || errors.Is(err, position.ErrBadStatement) || errors.Is(err, kafka.ErrBadOffsets) || errors.Is(err, kafka.ErrUnknownTable) || errors.As(err, &row)
}
