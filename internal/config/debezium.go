package config

import (
	"fmt"
	"slices"
	"strings"
)

// The settings of Debezium's MySQL connector that change the format of a
// subscription job's events, their values as Debezium spells them, and
// Debezium's defaults. docs/kafka.md shows what each changes.
const (
	DecimalPrecise = "precise"
	DecimalDouble  = "double"
	DecimalString  = "string"

	TimeAdaptiveMicroseconds = "adaptive_time_microseconds"
	TimeConnect              = "connect"

	BigintLong    = "long"
	BigintPrecise = "precise"

	BinaryBytes         = "bytes"
	BinaryBase64        = "base64"
	BinaryBase64URLSafe = "base64-url-safe"
	BinaryHex           = "hex"

	DefaultDecimalHandlingMode        = DecimalPrecise
	DefaultTimePrecisionMode          = TimeAdaptiveMicroseconds
	DefaultBigintUnsignedHandlingMode = BigintLong
	DefaultBinaryHandlingMode         = BinaryBytes
	DefaultTombstonesOnDelete         = true
	DefaultIncludeSchemaChanges       = true
	// DefaultSkippedOperations skips truncate events, as Debezium does.
	DefaultSkippedOperations = "t"
	// SkipNone is the skipped_operations value that skips nothing.
	SkipNone = "none"
)

// debeziumSetting is one of the settings: its name here and in Debezium,
// and the values Debezium's MySQL connector accepts.
type debeziumSetting struct {
	name, debezium string
	value          *string
	allowed        []string
}

func (t *Task) debeziumSettings() []debeziumSetting {
	return []debeziumSetting{
		{"decimal_handling_mode", "decimal.handling.mode", &t.DecimalHandlingMode,
			[]string{DecimalPrecise, DecimalDouble, DecimalString}},
		{"time_precision_mode", "time.precision.mode", &t.TimePrecisionMode,
			[]string{TimeAdaptiveMicroseconds, TimeConnect}},
		{"bigint_unsigned_handling_mode", "bigint.unsigned.handling.mode", &t.BigintUnsignedHandlingMode,
			[]string{BigintLong, BigintPrecise}},
		{"binary_handling_mode", "binary.handling.mode", &t.BinaryHandlingMode,
			[]string{BinaryBytes, BinaryBase64, BinaryBase64URLSafe, BinaryHex}},
	}
}

// debeziumDefaults fills the unset settings with Debezium's defaults and
// writes the set ones in lower case (Debezium reads them so).
func (t *Task) debeziumDefaults() {
	defaults := []string{DefaultDecimalHandlingMode, DefaultTimePrecisionMode, DefaultBigintUnsignedHandlingMode, DefaultBinaryHandlingMode}
	for i, s := range t.debeziumSettings() {
		*s.value = strings.ToLower(strings.TrimSpace(*s.value))
		if *s.value == "" {
			*s.value = defaults[i]
		}
	}
	if t.TombstonesOnDelete == nil {
		v := DefaultTombstonesOnDelete
		t.TombstonesOnDelete = &v
	}
	if t.IncludeSchemaChanges == nil {
		v := DefaultIncludeSchemaChanges
		t.IncludeSchemaChanges = &v
	}
	if strings.TrimSpace(t.SkippedOperations) == "" {
		t.SkippedOperations = DefaultSkippedOperations
	}
}

// validateDebezium checks the settings' values; unset ones are the
// defaults.
func (t *Task) validateDebezium() []error {
	var errs []error
	for _, s := range t.debeziumSettings() {
		v := strings.ToLower(strings.TrimSpace(*s.value))
		if v == "adaptive" && s.name == "time_precision_mode" {
			errs = append(errs, fmt.Errorf("time_precision_mode: %q is not accepted by Debezium's MySQL connector either; "+
				"use %s (the default) or %s", v, TimeAdaptiveMicroseconds, TimeConnect))
			continue
		}
		if v != "" && !slices.Contains(s.allowed, v) {
			errs = append(errs, fmt.Errorf("%s: must be one of %s (Debezium's %s), got %q",
				s.name, strings.Join(s.allowed, ", "), s.debezium, *s.value))
		}
	}
	if _, err := ParseSkippedOperations(t.SkippedOperations); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// SkippedOps are the kinds of change a subscription job does not send.
type SkippedOps struct {
	Inserts, Updates, Deletes, Truncates bool
}

// ParseSkippedOperations reads skipped_operations as Debezium reads
// skipped.operations: operation codes separated by commas (c inserts, u
// updates, d deletes, t truncates), or "none"; "" is the default, "t".
func ParseSkippedOperations(s string) (SkippedOps, error) {
	var out SkippedOps
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		s = DefaultSkippedOperations
	}
	if s == SkipNone {
		return out, nil
	}
	for _, op := range strings.Split(s, ",") {
		switch strings.TrimSpace(op) {
		case "c":
			out.Inserts = true
		case "u":
			out.Updates = true
		case "d":
			out.Deletes = true
		case "t":
			out.Truncates = true
		default:
			return out, fmt.Errorf("skipped_operations: %q is not an operation: list any of c (inserts), u (updates), "+
				"d (deletes) and t (truncates), comma-separated, or write none (Debezium's skipped.operations; default t)", op)
		}
	}
	return out, nil
}

// EmitTombstones reports tombstones_on_delete (default true).
func (t *Task) EmitTombstones() bool {
	return t.TombstonesOnDelete == nil || *t.TombstonesOnDelete
}

// EmitSchemaChanges reports include_schema_changes (default true).
func (t *Task) EmitSchemaChanges() bool {
	return t.IncludeSchemaChanges == nil || *t.IncludeSchemaChanges
}
