package config

import (
	"strings"
	"testing"
	"time"
)

// Windows in a time zone: "09:00-18:00 at 2 MB/s, otherwise unlimited",
// and one over midnight.
func TestSpeedLimitWindows(t *testing.T) {
	l := &SpeedLimit{TimeZone: "Asia/Shanghai", Rates: Rates{BinlogRowsPerSecond: 7},
		Windows: []*SpeedWindow{
			{From: "09:00", To: "18:00", Rates: Rates{CopyBytesPerSecond: 2 << 20}},
			{From: "22:30", To: "02:00", Rates: Rates{CopyRowsPerSecond: 100}},
		}}
	if err := l.Validate("speed_limit"); err != nil {
		t.Fatal(err)
	}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	cases := []struct {
		at   string
		want Rates
	}{
		{"08:59", Rates{BinlogRowsPerSecond: 7}},
		{"09:00", Rates{CopyBytesPerSecond: 2 << 20}},
		{"17:59", Rates{CopyBytesPerSecond: 2 << 20}},
		{"18:00", Rates{BinlogRowsPerSecond: 7}},
		{"23:00", Rates{CopyRowsPerSecond: 100}},
		{"01:59", Rates{CopyRowsPerSecond: 100}},
		{"02:00", Rates{BinlogRowsPerSecond: 7}},
	}
	for _, c := range cases {
		local, _ := time.ParseInLocation("2006-01-02 15:04", "2026-12-07 "+c.at, shanghai)
		if got, _ := l.At(local.UTC()); got != c.want {
			t.Errorf("at %s Shanghai: %+v, want %+v", c.at, got, c.want)
		}
	}
	var none *SpeedLimit
	if got, _ := none.At(time.Now()); got != (Rates{}) {
		t.Errorf("no limit: %+v", got)
	}
}

func TestSpeedLimitNamesBadOptions(t *testing.T) {
	l := &SpeedLimit{TimeZone: "Mars/Olympus", Rates: Rates{CopyRowsPerSecond: -1},
		Windows: []*SpeedWindow{{From: "9", To: "25:00"}, {From: "10:00", To: "10:00"}, nil}}
	err := l.Validate("speed_limit")
	for _, want := range []string{"speed_limit.copy_rows_per_second: must not be negative", `speed_limit.time_zone: "Mars/Olympus"`,
		"speed_limit.windows[0].from", "speed_limit.windows[0].to", "speed_limit.windows[1]: from and to", "speed_limit.windows[2]: empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not name %q", err, want)
		}
	}
}
