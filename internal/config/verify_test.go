package config

import (
	"strings"
	"testing"
	"time"
)

// A verify schedule's options are checked with messages that name the
// option and say what it takes.
func TestVerifyScheduleValidate(t *testing.T) {
	cases := []struct {
		name, why string
		v         *VerifySchedule
		want      []string // substrings of the error; none: valid
	}{
		{"none", "no block is no schedule", nil, nil},
		{"hours", "the usual schedule", &VerifySchedule{Every: "6h", Tables: []string{"db1.t1"}, Repair: true}, nil},
		{"minimum", "the shortest schedule is allowed", &VerifySchedule{Every: "5s"}, nil},
		{"missing", "every is required", &VerifySchedule{}, []string{"verify.every: required"}},
		{"not a duration", "a number without a unit", &VerifySchedule{Every: "6"}, []string{`verify.every: "6" is not a duration`}},
		{"too short", "a schedule under the minimum", &VerifySchedule{Every: "1s"}, []string{"verify.every: must be at least 5s, got 1s"}},
		{"bad tables", "a table must be schema.table", &VerifySchedule{Every: "1h", Tables: []string{"t1", "db.", "a.b.c"}},
			[]string{`"t1" is not schema.table`, `"db." is not schema.table`, `"a.b.c" is not schema.table`}},
		{"negative rate", "no negative cap", &VerifySchedule{Every: "1h", RowsPerSecond: -1}, []string{"verify.rows_per_second: must not be negative"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.v.Validate()
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("%s: %v", c.why, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s: no error", c.why)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: %q lacks %q", c.why, err, w)
				}
			}
		})
	}
	if d := (&VerifySchedule{Every: " 90m "}).Interval(); d != 90*time.Minute {
		t.Errorf("interval of 90m: %s", d)
	}
	// A source task's Validate includes it.
	task := &Task{ConnectionConfig: &MySQLConnection{Host: "h", Port: 3306, User: "u"}, Verify: &VerifySchedule{Every: "1s"}}
	if err := task.Validate(RoleSource); err == nil || !strings.Contains(err.Error(), "verify.every") {
		t.Errorf("source task with a bad schedule: %v", err)
	}
}
