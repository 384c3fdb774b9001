package kafka

import (
	"fmt"
	"strings"

	"github.com/dtle-io/dtle/internal/config"
)

// options are the settings of Debezium's MySQL connector that change the
// events, as the task config gives them (config.Task, validated there).
// The zero value is Debezium's defaults but for tombstones and schema
// changes, which defaultOptions turns on.
type options struct {
	decimal decimalMode
	// connectTime: time.precision.mode=connect, Kafka Connect's Date,
	// Time and Timestamp in milliseconds; else adaptive_time_microseconds.
	connectTime bool
	// bigintPrecise: bigint.unsigned.handling.mode=precise, a Decimal of
	// scale 0; else long.
	bigintPrecise bool
	binary        binaryMode
	tombstones    bool // tombstones.on.delete
	schemaChanges bool // include.schema.changes
	skip          config.SkippedOps
}

type decimalMode uint8

// decimal.handling.mode values.
const (
	decimalPrecise decimalMode = iota
	decimalDouble
	decimalString
)

type binaryMode uint8

// binary.handling.mode values.
const (
	binaryBytes binaryMode = iota
	binaryBase64
	binaryBase64URL
	binaryHex
)

// defaultOptions are Debezium's defaults.
func defaultOptions() options {
	return options{tombstones: true, schemaChanges: true, skip: config.SkippedOps{Truncates: true}}
}

// optionsOf reads the task's settings; unset ones are Debezium's
// defaults.
func optionsOf(t *config.Task) (options, error) {
	o := defaultOptions()
	o.tombstones, o.schemaChanges = t.EmitTombstones(), t.EmitSchemaChanges()
	var err error
	if o.skip, err = config.ParseSkippedOperations(t.SkippedOperations); err != nil {
		return o, fmt.Errorf("%w: %w", ErrBadSetting, err)
	}
	switch v := strings.ToLower(t.DecimalHandlingMode); v {
	case "", config.DecimalPrecise:
	case config.DecimalDouble:
		o.decimal = decimalDouble
	case config.DecimalString:
		o.decimal = decimalString
	default:
		return o, fmt.Errorf("%w: decimal_handling_mode %q", ErrBadSetting, v)
	}
	switch v := strings.ToLower(t.TimePrecisionMode); v {
	case "", config.TimeAdaptiveMicroseconds:
	case config.TimeConnect:
		o.connectTime = true
	default:
		return o, fmt.Errorf("%w: time_precision_mode %q", ErrBadSetting, v)
	}
	switch v := strings.ToLower(t.BigintUnsignedHandlingMode); v {
	case "", config.BigintLong:
	case config.BigintPrecise:
		o.bigintPrecise = true
	default:
		return o, fmt.Errorf("%w: bigint_unsigned_handling_mode %q", ErrBadSetting, v)
	}
	switch v := strings.ToLower(t.BinaryHandlingMode); v {
	case "", config.BinaryBytes:
	case config.BinaryBase64:
		o.binary = binaryBase64
	case config.BinaryBase64URLSafe:
		o.binary = binaryBase64URL
	case config.BinaryHex:
		o.binary = binaryHex
	default:
		return o, fmt.Errorf("%w: binary_handling_mode %q", ErrBadSetting, v)
	}
	return o, nil
}
