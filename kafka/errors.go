package kafka

import (
	"errors"
	"fmt"
)

// Named errors of the Kafka sink.
var (
	// ErrNoTopic: a topic the job needs does not exist and could not be made.
	ErrNoTopic = errors.New("topic not found")
	// ErrBadOffsets: the job's offsets topic holds a record it cannot read;
	// another program wrote to it, or it belongs to another version.
	ErrBadOffsets = errors.New("unreadable position record")
	// ErrUnknownTable: a row event names a table whose definition the sink
	// never got. Jobs that start from a gtid skip the full copy that sends
	// definitions; the sink then cannot encode rows of tables it was not
	// told about.
	ErrUnknownTable = errors.New("no definition for the table")
	// ErrNotStarted: a binlog transaction came before the full copy finished.
	ErrNotStarted = errors.New("binlog transaction before the full copy finished")
	// ErrBadSetting: a Debezium format setting of the task config has a
	// value the sink does not know (config.Task.Validate names the fix).
	ErrBadSetting = errors.New("unknown value of a Debezium setting")
)

// ValueError is a value the sink cannot encode for its column.
type ValueError struct {
	Table, Column string
	Err           error
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("encode %s.%s: %s", e.Table, e.Column, e.Err)
}
func (e *ValueError) Unwrap() error { return e.Err }

// RowError is a row event whose image does not fit the tracked definition.
type RowError struct {
	Table          string
	Have, Expected int
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row of %s has %d columns, its definition %d: the tracked schema differs from the source's", e.Table, e.Have, e.Expected)
}
