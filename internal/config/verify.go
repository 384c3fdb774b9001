package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MinVerifyEvery is the shortest schedule of a source's verify option.
const MinVerifyEvery = 5 * time.Second

// VerifySchedule compares the job's source and destination on a schedule
// (the source's `verify` block), as POST /v2/job/verify does once.
type VerifySchedule struct {
	// Every is the time between the end of one comparison and the start of
	// the next, a Go duration ("6h", "30m"); at least MinVerifyEvery.
	Every string `codec:"every" json:"every"`
	// Tables limits the comparison to these source tables ("schema.table");
	// empty: every table the job replicates.
	Tables []string `codec:"tables" json:"tables,omitempty"`
	// Repair rewrites the rows that differ on the destination.
	Repair bool `codec:"repair" json:"repair,omitempty"`
	// RowsPerSecond caps the source rows read per second; 0: no cap.
	RowsPerSecond int `codec:"rows_per_second" json:"rows_per_second,omitempty"`
}

// Interval is Every as a duration (0 when it does not parse: Validate says
// why).
func (v *VerifySchedule) Interval() time.Duration {
	d, _ := time.ParseDuration(strings.TrimSpace(v.Every))
	return d
}

// TableNames splits Tables into schema and table; Validate has checked them.
func (v *VerifySchedule) TableNames() [][2]string {
	out := make([][2]string, 0, len(v.Tables))
	for _, t := range v.Tables {
		schema, table, _ := strings.Cut(strings.TrimSpace(t), ".")
		out = append(out, [2]string{schema, table})
	}
	return out
}

// Validate names every problem of the schedule; nil is no schedule.
func (v *VerifySchedule) Validate() error {
	if v == nil {
		return nil
	}
	var errs []error
	switch d, err := time.ParseDuration(strings.TrimSpace(v.Every)); {
	case strings.TrimSpace(v.Every) == "":
		errs = append(errs, errors.New(`verify.every: required, a duration such as "6h" or "30m"`))
	case err != nil:
		errs = append(errs, fmt.Errorf(`verify.every: %q is not a duration such as "6h" or "30m"`, v.Every))
	case d < MinVerifyEvery:
		errs = append(errs, fmt.Errorf("verify.every: must be at least %s, got %s", MinVerifyEvery, v.Every))
	}
	for _, t := range v.Tables {
		schema, table, ok := strings.Cut(strings.TrimSpace(t), ".")
		if !ok || schema == "" || table == "" || strings.Contains(table, ".") {
			errs = append(errs, fmt.Errorf("verify.tables: %q is not schema.table", t))
		}
	}
	if v.RowsPerSecond < 0 {
		errs = append(errs, fmt.Errorf("verify.rows_per_second: must not be negative, got %d", v.RowsPerSecond))
	}
	return errors.Join(errs...)
}
