package extractor

import (
	"context"
	"slices"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// stringValues lists every string a statement holds, in order: literals
// (defaults, enum and set members, comments of columns and indexes) and
// table options (the table's comment).
func stringValues(t *testing.T, sql string) []string {
	t.Helper()
	stmt, err := parseOne(sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var out []string
	stmt.Accept(valueVisitor(func(n ast.Node) {
		switch x := n.(type) {
		case ast.ValueExpr:
			if s, ok := x.GetValue().(string); ok {
				out = append(out, s)
			}
		case *ast.TableOption:
			if x.StrValue != "" {
				out = append(out, x.StrValue)
			}
		case *ast.IndexOption:
			if x.Comment != "" {
				out = append(out, x.Comment)
			}
		case *ast.ColumnDef:
			if x.Tp != nil {
				out = append(out, x.Tp.GetElems()...)
			}
		}
	}))
	return out
}

type valueVisitor func(ast.Node)

func (f valueVisitor) Enter(n ast.Node) (ast.Node, bool) { f(n); return n, false }
func (f valueVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// A rewritten statement (a renamed schema or table) holds the same strings
// as the source's, and is one statement: backslashes and quotes in them
// cannot end a literal early. Before the fix the first case was restored
// as COMMENT = 'a\”;DROP DATABASE prod;-- ', which runs the DROP.
func TestRewrittenDDLKeepsItsStrings(t *testing.T) {
	e := routingExtractor(t)
	cases := []string{
		`ALTER TABLE o_1 COMMENT = 'a\\\';DROP DATABASE prod;-- '`,
		`ALTER TABLE o_1 ADD COLUMN c VARCHAR(10) DEFAULT 'x\\' COMMENT 'it''s \\\' done'`,
		`ALTER TABLE o_1 ADD COLUMN e ENUM('a\\', 'b''', '\\''', 'c\\\\') DEFAULT 'a\\'`,
		`ALTER TABLE o_1 ADD COLUMN s SET('\\', '''') NOT NULL`,
		`CREATE TABLE o_2 (id INT PRIMARY KEY, v TEXT COMMENT '\\\\'';DROP TABLE x;') COMMENT '\\'`,
		`ALTER TABLE o_1 ADD INDEX i (id) COMMENT 'q\\'''`,
		`ALTER TABLE o_1 ALTER COLUMN c SET DEFAULT '\n\t\\0\\Z'`,
	}
	for _, sql := range cases {
		d, err := e.routeDDL(context.Background(), sql, "shop")
		if err != nil || d == nil {
			t.Fatalf("%s: routed to %+v, %v", sql, d, err)
		}
		if _, err := parseOne(d.SQL); err != nil {
			t.Errorf("%s\nrewritten as %s: not one statement: %v", sql, d.SQL, err)
			continue
		}
		if want, got := stringValues(t, sql), stringValues(t, d.SQL); !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s\nrewritten as %s\nstrings %q, want %q", sql, d.SQL, got, want)
		}
	}
}
