package change

import "testing"

func TestAppliedMarkRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		name, sql, job string
		ok             bool
	}{
		{"marked DDL names its job", AppliedMark("job1-sync") + "ALTER TABLE t ADD c INT", "job1-sync", true},
		{"a job id with a comment end cannot end the mark early", AppliedMark("a*/b") + "DROP TABLE t", "a* /b", true},
		{"leading blanks as the server may log them", "  " + AppliedMark("j") + "CREATE TABLE t (a INT)", "j", true},
		{"a user's own comment is not a mark", "/* dtle */ ALTER TABLE t ADD c INT", "", false},
		{"plain DDL", "ALTER TABLE t ADD c INT", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job, ok := AppliedBy(tc.sql)
			if job != tc.job || ok != tc.ok {
				t.Fatalf("AppliedBy(%q) = %q, %v; want %q, %v", tc.sql, job, ok, tc.job, tc.ok)
			}
		})
	}
}
