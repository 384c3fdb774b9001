package kafka

import (
	"strconv"
	"strings"
	"testing"

	"github.com/dtle-io/dtle/internal/change"
)

// TestKeyFollowsUniqueIndexes: a table without a primary key is keyed by
// its first unique index whose columns are all NOT NULL, as Debezium keys
// it ("the unique key if the table does not have a primary key"), through
// every DDL that adds or takes away such an index.
func TestKeyFollowsUniqueIndexes(t *testing.T) {
	c := newCatalog()
	steps := []struct {
		ddl, key, why string
	}{
		{"CREATE TABLE t (a INT, b INT NOT NULL, c INT NOT NULL)", "", "no unique index: no key"},
		{"CREATE UNIQUE INDEX ua ON t (a)", "", "a unique index over a nullable column does not key"},
		{"ALTER TABLE t ADD UNIQUE KEY ub (b)", "b", "the first unique index over NOT NULL columns keys"},
		{"ALTER TABLE t ADD CONSTRAINT uc UNIQUE (c)", "b", "a later one does not replace it"},
		{"ALTER TABLE t DROP INDEX ub", "c", "dropping it keys by the next"},
		{"ALTER TABLE t ADD PRIMARY KEY (a)", "a", "a primary key wins"},
		{"ALTER TABLE t DROP PRIMARY KEY", "a", "without it, ua: the primary key left its column NOT NULL"},
		{"ALTER TABLE t MODIFY a INT NULL", "c", "a nullable again: the next, uc"},
		{"ALTER TABLE t MODIFY c INT NULL", "", "its column nullable: no longer a key"},
		{"DROP INDEX uc ON t", "", "dropped"},
		{"ALTER TABLE t MODIFY a INT NOT NULL", "a", "ua's column NOT NULL now"},
		{"ALTER TABLE t CHANGE a a2 INT NOT NULL", "a2", "a renamed key column"},
		{"ALTER TABLE t DROP COLUMN a2", "", "its only column dropped: the index is gone"},
		{"CREATE TABLE u (x INT NOT NULL UNIQUE, y INT NOT NULL, UNIQUE KEY (y))", "x", "a column-level UNIQUE"},
	}
	for _, s := range steps {
		res, err := c.apply("db", s.ddl)
		if err != nil {
			t.Fatalf("%s: %v", s.ddl, err)
		}
		id := res.IDs[len(res.IDs)-1]
		if id.Table != "t" && id.Table != "u" {
			t.Fatalf("%s: changed %v", s.ddl, res.IDs)
		}
		d := c.tables[id]
		if got := strings.Join(d.Key, ","); got != s.key {
			t.Errorf("after %s: key %q, want %q (%s)", s.ddl, got, s.key, s.why)
		}
		if tc := describe("ALTER", id, d); strings.Join(tc.Table.PrimaryKeyColumnNames, ",") != s.key {
			t.Errorf("after %s: primaryKeyColumnNames %v, want %q", s.ddl, tc.Table.PrimaryKeyColumnNames, s.key)
		}
	}
}

// TestRenameIsOneChange: RENAME TABLE, and ALTER TABLE ... RENAME, report
// the table under its new name with the old one it came from, so the
// schema change is one ALTER, not a DROP and a CREATE; TRUNCATE TABLE is
// no schema change, only the name of the table its truncate event is of.
func TestRenameIsOneChange(t *testing.T) {
	c := newCatalog()
	for _, ddl := range []string{"CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"} {
		if _, err := c.apply("db", ddl); err != nil {
			t.Fatal(err)
		}
	}
	res, err := c.apply("db", "RENAME TABLE a TO tmp, b TO a, tmp TO b")
	if err != nil {
		t.Fatal(err)
	}
	a, b := change.TableName{Schema: "db", Table: "a"}, change.TableName{Schema: "db", Table: "b"}
	if res.Renamed[a] != b || res.Renamed[b] != a || len(res.Renamed) != 2 {
		t.Errorf("a swap: renamed %v, want a from b and b from a", res.Renamed)
	}
	if c.tables[a].Columns[0].Name != "y" || c.tables[b].Columns[0].Name != "x" {
		t.Error("the swap did not swap the definitions")
	}
	res, err = c.apply("db", "ALTER TABLE a RENAME TO other.c")
	if err != nil {
		t.Fatal(err)
	}
	if from := res.Renamed[change.TableName{Schema: "other", Table: "c"}]; from != a {
		t.Errorf("ALTER ... RENAME: renamed %v", res.Renamed)
	}
	res, err = c.apply("db", "TRUNCATE TABLE b")
	if err != nil || !res.Truncate || len(res.IDs) != 1 || res.IDs[0] != b || len(res.Renamed) != 0 {
		t.Errorf("TRUNCATE: %+v (%v), want a truncate of db.b and no definition changed", res, err)
	}
}

// TestSourceTimePrecision: source.ts_ms is the binlog header's seconds in
// milliseconds, unless the server gives the commit time in microseconds
// (MySQL 8's immediate_commit_timestamp in the GTID event): then ts_ms,
// ts_us and ts_ns carry it.
func TestSourceTimePrecision(t *testing.T) {
	cases := []struct {
		name       string
		seconds    uint32
		micros     uint64
		ms, us, ns int64
	}{
		{"header seconds", 1714558831, 0, 1714558831000, 1714558831000000, 1714558831000000000},
		{"commit microseconds", 1714558831, 1714558831512345, 1714558831512, 1714558831512345, 1714558831512345000},
	}
	for _, c := range cases {
		o := &origin{}
		o.at(c.seconds, c.micros)
		b := appendSource(nil, "p", "db", "t", o)
		for field, want := range map[string]int64{"ts_ms": c.ms, "ts_us": c.us, "ts_ns": c.ns} {
			if !strings.Contains(string(b), `"`+field+`":`+itoa(want)+`,`) {
				t.Errorf("%s: %s, want %s %d", c.name, b, field, want)
			}
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
