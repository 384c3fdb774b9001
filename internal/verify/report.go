package verify

import (
	"time"

	"github.com/dtle-io/dtle/internal/change"
)

// States of a comparison (Report.State).
const (
	StateRunning = "running"
	StateDone    = "done"
	StateFailed  = "failed"
)

// States of one table (TableReport.State).
const (
	TableWaiting   = "waiting"   // not started yet
	TableRunning   = "running"   // being compared
	TableSame      = "same"      // identical
	TableDiffers   = "differs"   // rows differ (see the counts and keys)
	TableRepaired  = "repaired"  // rows differed and were rewritten; compared again, identical
	TableUnsettled = "unsettled" // no row found to differ, but some kept changing on the source: compare again
	TableFailed    = "failed"    // the comparison of this table failed: Reason says why
)

// Kinds of difference, from the destination's point of view.
const (
	KindMissing   = "missing"   // on the source, not on the destination
	KindExtra     = "extra"     // on the destination, not on the source
	KindDifferent = "different" // on both, with other values
)

// Report is what a comparison found so far.
type Report struct {
	JobID    string        `json:"job_id"`
	State    string        `json:"state"`
	Error    string        `json:"error,omitempty"`
	Repair   bool          `json:"repair"`
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished,omitzero"`
	Tables   []TableReport `json:"tables"`
}

// Differences is the number of rows that differ in every table.
func (r *Report) Differences() int64 {
	var n int64
	for i := range r.Tables {
		n += r.Tables[i].Differences()
	}
	return n
}

// TableReport is what the comparison of one table found.
type TableReport struct {
	// Source and Dest name the table on each side (Dest after the job's
	// renames).
	Source change.TableName `json:"source"`
	Dest   change.TableName `json:"dest"`
	State  string           `json:"state"`
	// Reason says why a table failed, or what to know about its result
	// (a rule that ignores some events, so differences are expected).
	Reason string `json:"reason,omitempty"`
	// Key lists the destination names of the key columns the chunks are
	// bounded by; empty: the table has no usable key and is compared whole.
	Key []string `json:"key,omitempty"`
	// Chunks and Rows are the chunks compared and the source rows in them.
	Chunks int64 `json:"chunks"`
	Rows   int64 `json:"rows"`
	// Rechecked counts the chunks whose checksums differed at first and
	// were compared again row by row.
	Rechecked int64 `json:"rechecked"`
	// Missing, Extra and Different count the rows that differ by kind;
	// MissingKeys, ExtraKeys and DifferentKeys list their keys (each a
	// value per Key column), at most Config.MaxKeys of each.
	Missing       int64      `json:"missing"`
	Extra         int64      `json:"extra"`
	Different     int64      `json:"different"`
	MissingKeys   [][]string `json:"missing_keys,omitempty"`
	ExtraKeys     [][]string `json:"extra_keys,omitempty"`
	DifferentKeys [][]string `json:"different_keys,omitempty"`
	// Unsettled counts rows the source kept changing through every attempt
	// to compare them: neither found equal nor different. Compare again.
	Unsettled int64 `json:"unsettled"`
	// Repaired counts the rows rewritten on the destination.
	Repaired int64         `json:"repaired"`
	Duration time.Duration `json:"duration_ns"`
}

// Differences is the number of rows that differ.
func (t *TableReport) Differences() int64 { return t.Missing + t.Extra + t.Different }

// add counts differences found, listing at most max keys of each kind.
func (t *TableReport) add(d []rowDiff, max int) {
	for _, x := range d {
		var n *int64
		var keys *[][]string
		switch x.kind {
		case KindMissing:
			n, keys = &t.Missing, &t.MissingKeys
		case KindExtra:
			n, keys = &t.Extra, &t.ExtraKeys
		default:
			n, keys = &t.Different, &t.DifferentKeys
		}
		*n += x.n
		if len(*keys) < max && x.text != nil {
			*keys = append(*keys, x.text)
		}
	}
}

// clone is a deep copy, safe to hand out while the comparison goes on.
func (r *Report) clone() Report {
	out := *r
	out.Tables = make([]TableReport, len(r.Tables))
	for i, t := range r.Tables {
		t.Key = append([]string(nil), t.Key...)
		t.MissingKeys = append([][]string(nil), t.MissingKeys...)
		t.ExtraKeys = append([][]string(nil), t.ExtraKeys...)
		t.DifferentKeys = append([][]string(nil), t.DifferentKeys...)
		out.Tables[i] = t
	}
	return out
}
