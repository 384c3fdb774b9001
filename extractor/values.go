package extractor

import (
	"fmt"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dtle-io/dtle/internal/change"
)

// rawRow turns go-mysql's decoded values into wire values without
// interpreting them: integers as int64 (signedness is the destination's to
// apply), text and bytes as the binlog's bytes (character set likewise).
// The columns js marks are MySQL JSON, whose text jsonText mends.
func rawRow(in []any, js []bool) (change.Row, error) {
	out := make(change.Row, len(in))
	for i, v := range in {
		if i < len(js) && js[i] {
			if b, ok := v.([]byte); ok {
				out[i] = jsonText(b)
				continue
			}
		}
		switch x := v.(type) {
		case nil:
			out[i] = nil
		case int8:
			out[i] = int64(x)
		case int16:
			out[i] = int64(x)
		case int32:
			out[i] = int64(x)
		case int64:
			out[i] = x
		case int:
			out[i] = int64(x)
		case uint8:
			out[i] = uint64(x)
		case uint16:
			out[i] = uint64(x)
		case uint32:
			out[i] = uint64(x)
		case uint64:
			out[i] = x
		case float32, float64:
			out[i] = x
		case string:
			out[i] = []byte(x)
		case []byte:
			out[i] = x
		case *replication.JsonDiff:
			// A partial JSON update carries a diff, not the value; the
			// source check requires binlog_row_value_options=''.
			return nil, fmt.Errorf("column %d: partial JSON update (binlog_row_value_options=PARTIAL_JSON); set it to ''", i)
		case fmt.Stringer: // decimal.Decimal, time values
			out[i] = x.String()
		default:
			return nil, fmt.Errorf("column %d: unsupported binlog value of type %T", i, v)
		}
	}
	return out, nil
}
