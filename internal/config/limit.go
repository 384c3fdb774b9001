package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SpeedLimit caps how fast a job reads its source: rows and bytes a second,
// for the full copy and the binlog stage each, with windows of the day
// that set other caps ("09:00-18:00 at 2 MB/s, otherwise unlimited"). A
// zero cap is no cap. It is set in the source task's config and can be
// replaced while the job runs (POST /v2/job/speed_limit).
type SpeedLimit struct {
	Rates
	// TimeZone is the IANA zone the windows' times are in; "" is UTC.
	TimeZone string `codec:"time_zone" json:"time_zone,omitempty"`
	// Windows set other caps between two times of the day; the first
	// window that holds the time wins. A window whose end is before its
	// start runs over midnight.
	Windows []*SpeedWindow `codec:"windows" json:"windows,omitempty"`
}

// Rates are caps in rows and bytes a second; zero is no cap.
type Rates struct {
	CopyRowsPerSecond    int64 `codec:"copy_rows_per_second" json:"copy_rows_per_second"`
	CopyBytesPerSecond   int64 `codec:"copy_bytes_per_second" json:"copy_bytes_per_second"`
	BinlogRowsPerSecond  int64 `codec:"binlog_rows_per_second" json:"binlog_rows_per_second"`
	BinlogBytesPerSecond int64 `codec:"binlog_bytes_per_second" json:"binlog_bytes_per_second"`
}

// SpeedWindow is a time of the day with caps of its own.
type SpeedWindow struct {
	// From and To are "HH:MM", To exclusive.
	From string `codec:"from" json:"from"`
	To   string `codec:"to" json:"to"`
	Rates
}

// Validate names every problem of the limit; field is its option name.
func (l *SpeedLimit) Validate(field string) error {
	if l == nil {
		return nil
	}
	var errs []error
	errs = append(errs, l.validate(field)...)
	if _, err := time.LoadLocation(l.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("%s.time_zone: %q is not a time zone name like \"Asia/Shanghai\" or \"UTC\"", field, l.TimeZone))
	}
	for i, w := range l.Windows {
		wf := fmt.Sprintf("%s.windows[%d]", field, i)
		if w == nil {
			errs = append(errs, fmt.Errorf("%s: empty", wf))
			continue
		}
		from, ferr := dayMinute(w.From)
		to, terr := dayMinute(w.To)
		for _, e := range []struct {
			name string
			err  error
		}{{"from", ferr}, {"to", terr}} {
			if e.err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %w", wf, e.name, e.err))
			}
		}
		if ferr == nil && terr == nil && from == to {
			errs = append(errs, fmt.Errorf("%s: from and to are both %s; a window needs two different times", wf, w.From))
		}
		errs = append(errs, w.validate(wf)...)
	}
	return errors.Join(errs...)
}

func (r *Rates) validate(field string) []error {
	var errs []error
	for _, v := range []struct {
		name  string
		value int64
	}{
		{"copy_rows_per_second", r.CopyRowsPerSecond}, {"copy_bytes_per_second", r.CopyBytesPerSecond},
		{"binlog_rows_per_second", r.BinlogRowsPerSecond}, {"binlog_bytes_per_second", r.BinlogBytesPerSecond},
	} {
		if v.value < 0 {
			errs = append(errs, fmt.Errorf("%s.%s: must not be negative (0 is no limit), got %d", field, v.name, v.value))
		}
	}
	return errs
}

// dayMinute reads "HH:MM" as minutes since midnight.
func dayMinute(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, herr := strconv.Atoi(h)
	mm, merr := strconv.Atoi(m)
	if !ok || herr != nil || merr != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) || len(m) != 2 {
		return 0, fmt.Errorf("%q is not a time of the day as HH:MM (00:00 to 24:00)", s)
	}
	return hh*60 + mm, nil
}

// At returns the caps in force at t, and the window that sets them (nil:
// the limit's own). A limit that does not validate is no cap.
func (l *SpeedLimit) At(t time.Time) (Rates, *SpeedWindow) {
	if l == nil {
		return Rates{}, nil
	}
	loc, err := time.LoadLocation(l.TimeZone)
	if err != nil {
		return Rates{}, nil
	}
	local := t.In(loc)
	now := local.Hour()*60 + local.Minute()
	for _, w := range l.Windows {
		if w == nil {
			continue
		}
		from, ferr := dayMinute(w.From)
		to, terr := dayMinute(w.To)
		if ferr != nil || terr != nil {
			continue
		}
		if (from < to && now >= from && now < to) || (from > to && (now >= from || now < to)) {
			return w.Rates, w
		}
	}
	return l.Rates, nil
}

// String is the limit in a line, for logs and task events.
func (l *SpeedLimit) String() string {
	if l == nil {
		return "none"
	}
	var b strings.Builder
	b.WriteString(l.Rates.String())
	for _, w := range l.Windows {
		if w != nil {
			fmt.Fprintf(&b, "; %s-%s: %s", w.From, w.To, w.String())
		}
	}
	if l.TimeZone != "" && len(l.Windows) > 0 {
		fmt.Fprintf(&b, " (%s)", l.TimeZone)
	}
	return b.String()
}

// String names the caps that are set.
func (r Rates) String() string {
	var parts []string
	for _, c := range []struct {
		name  string
		value int64
	}{
		{"copy rows/s", r.CopyRowsPerSecond}, {"copy bytes/s", r.CopyBytesPerSecond},
		{"binlog rows/s", r.BinlogRowsPerSecond}, {"binlog bytes/s", r.BinlogBytesPerSecond},
	} {
		if c.value > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c.name, c.value))
		}
	}
	if len(parts) == 0 {
		return "no cap"
	}
	return strings.Join(parts, ", ")
}
