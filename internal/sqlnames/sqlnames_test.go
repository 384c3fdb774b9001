package sqlnames

import (
	"errors"
	"slices"
	"testing"
)

func TestQualifiedSchemas(t *testing.T) {
	cases := []struct {
		sql  string
		want []string
	}{
		{"CREATE OR REPLACE TABLE other.t (a INT DEFAULT 1.5)", []string{"other"}},
		{"CREATE OR REPLACE TABLE `we.ird`.`t` LIKE plain.u", []string{"we.ird", "plain"}},
		{"ALTER TABLE t COMMENT 'x.y', ADD c INT /* a.b */ -- c.d\n", nil},
		{"CREATE OR REPLACE TABLE t (a INT) COMMENT = 'it''s other.t \\' x.y'", nil},
		{"DROP TABLE db.t, db.u, `x`.v", []string{"db", "x"}},
		// alias.column is not a schema: only names where a table stands count.
		{"CREATE OR REPLACE TABLE x AS SELECT t.a, t.b FROM y t JOIN other.z ON t.a = z.a", []string{"other"}},
		{"CREATE OR REPLACE TABLE IF NOT EXISTS db.t (a INT CHECK (a > 1.5))", []string{"db"}},
	}
	for _, c := range cases {
		if got := QualifiedSchemas(c.sql); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.sql, got, c.want)
		}
	}
	if s := SchemaOfDatabaseDDL("CREATE OR REPLACE DATABASE IF NOT EXISTS `other` CHARACTER SET utf8mb4"); s != "other" {
		t.Errorf("database name %q", s)
	}
}

// A literal the parser's test driver panics on (a long decimal, as the
// DDL fuzzer found) is an error, not the task's end.
func TestParseTurnsPanicsIntoErrors(t *testing.T) {
	sql := "0000000000000000000000000000000000000000000000000000000000000020000000000000000000"
	if _, err := Parse(sql); !errors.Is(err, ErrParserPanic) {
		t.Fatalf("Parse(%q): %v, want ErrParserPanic", sql, err)
	}
	if _, err := Parse("ALTER TABLE t ADD c INT"); err != nil {
		t.Fatal(err)
	}
}
