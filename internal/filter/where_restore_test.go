package filter

import (
	"slices"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
)

// literals lists the string literals of a WHERE expression, in order.
func literals(t *testing.T, expr string) []string {
	t.Helper()
	stmt, err := parser.New().ParseOneStmt("SELECT 1 FROM t WHERE "+expr, "", "")
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	var out []string
	stmt.Accept(literalVisitor(func(v ast.ValueExpr) {
		if s, ok := v.GetValue().(string); ok {
			out = append(out, s)
		}
	}))
	return out
}

type literalVisitor func(ast.ValueExpr)

func (f literalVisitor) Enter(n ast.Node) (ast.Node, bool) {
	if v, ok := n.(ast.ValueExpr); ok {
		f(v)
	}
	return n, false
}
func (f literalVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// The filter the source server runs holds the job's literals unchanged:
// a backslash before a quote cannot end a literal and add SQL of its own.
// Written back without escaping, the first case read `name = 'a\” OR 1=1
// -- '` on the source: every row.
func TestWhereSQLKeepsItsLiterals(t *testing.T) {
	for _, expr := range []string{
		`name = 'a\\\' OR 1=1 -- '`,
		`name IN ('\\', '''', 'x\\''y') AND id > 1`,
		`note LIKE '%\\%%' OR note = 'it''s'`,
		`name = '\\\\' OR name = 'tab\there'`,
	} {
		w, err := ParseWhere(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if got, want := literals(t, w.SQL()), literals(t, expr); !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s\nwritten as %s\nliterals %q, want %q", expr, w.SQL(), got, want)
		}
	}
}
