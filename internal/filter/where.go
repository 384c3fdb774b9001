package filter

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
	"github.com/shopspring/decimal"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/sqlnames"
)

// Where is a row filter: a SQL boolean expression over a table's columns.
// The full copy hands its text to the source server (String); binlog row
// images are evaluated here (Bind, then Match) with SQL's rules: NULL makes
// a comparison unknown and an unknown filter drops the row; a string
// compared with a number is read as a number; text compares
// case- and accent-insensitively, ignoring trailing spaces; binary strings
// compare byte by byte.
type Where struct {
	text string
	sql  string // the expression as parsed, comments gone, for the source's SELECT
	expr ast.ExprNode
}

// ParseWhere parses a row filter and checks it only uses what the binlog
// evaluator supports.
func ParseWhere(text string) (*Where, error) {
	stmts, err := sqlnames.Parse("SELECT 1 FROM t WHERE " + text)
	if err != nil {
		return nil, fmt.Errorf("%q does not parse as a SQL expression: %w", text, err)
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("%q is not a single boolean expression", text)
	}
	sel, ok := stmts[0].(*ast.SelectStmt)
	if !ok || sel.Where == nil || sel.Limit != nil || sel.OrderBy != nil || sel.GroupBy != nil || sel.Having != nil ||
		sel.LockInfo != nil || sel.WindowSpecs != nil {
		return nil, fmt.Errorf("%q is not a single boolean expression", text)
	}
	var b strings.Builder
	if err := sel.Where.Restore(format.NewRestoreCtx(format.DefaultRestoreFlags|format.RestoreStringWithoutCharset|format.RestoreStringEscapeBackslash, &b)); err != nil {
		return nil, fmt.Errorf("%q: %w", text, err)
	}
	w := &Where{text: text, sql: b.String(), expr: sel.Where}
	// Compiled once without a table, to refuse what the evaluator lacks.
	if _, err = compileExpr(w.expr, func(string) (colReader, error) { return nil, nil }); err != nil {
		return nil, err
	}
	return w, nil
}

// String is the expression as the job gave it.
func (w *Where) String() string { return w.text }

// SQL is the expression written back from its parse, for the source
// server: nothing the parser did not read (a trailing comment) reaches it.
func (w *Where) SQL() string { return w.sql }

// Bound is a Where tied to a table's columns. Not safe for concurrent use.
type Bound struct {
	eval evalFn
}

// Bind resolves the expression's columns against a table definition.
func (w *Where) Bind(cols []change.Column) (*Bound, error) {
	index := map[string]int{}
	for i, c := range cols {
		index[strings.ToLower(c.Name)] = i
	}
	fn, err := compileExpr(w.expr, func(name string) (colReader, error) {
		i, ok := index[name]
		if !ok {
			return nil, fmt.Errorf("unknown column %q", name)
		}
		return columnReader(i, &cols[i]), nil
	})
	if err != nil {
		return nil, fmt.Errorf("where %q: %w", w.text, err)
	}
	return &Bound{eval: fn}, nil
}

// Match reports whether a binlog row image passes the filter: true, not
// false or unknown. Only the columns the expression reads are interpreted
// (change.Interpret).
func (b *Bound) Match(row change.Row) bool {
	ok, known := truth(b.eval(row))
	return known && ok
}

// evalFn computes a value from a row: nil (NULL), int64, uint64, float64,
// decimal.Decimal, string (text) or []byte (binary string).
type evalFn func(row change.Row) any

type colReader = evalFn

// columnReader reads one column of a binlog image (change.Interpret) the way
// the server would see it: DECIMAL as
// an exact number, ENUM and SET as their members (names, or numbers in a
// numeric context), text of a case-sensitive collation (_bin, _cs) as bytes.
func columnReader(i int, c *change.Column) evalFn {
	read := func(row change.Row) any { return change.Interpret(c, row[i]) }
	switch c.DataType {
	case "decimal", "numeric":
		return func(row change.Row) any { return decimalOf(read(row)) }
	case "enum":
		return func(row change.Row) any {
			v := read(row)
			n, ok := v.(int64)
			if !ok {
				return textValue(v)
			}
			name := ""
			if n >= 1 && int(n) <= len(c.Elems) {
				name = c.Elems[n-1]
			}
			return member{name: name, n: n}
		}
	case "set":
		return func(row change.Row) any {
			v := read(row)
			n, ok := v.(int64)
			if !ok {
				return textValue(v)
			}
			var names []string
			for b, e := range c.Elems {
				if n&(1<<b) != 0 {
					names = append(names, e)
				}
			}
			return member{name: strings.Join(names, ","), n: n}
		}
	}
	if !c.Binary && caseSensitive(c.Collation) {
		return func(row change.Row) any {
			v := read(row)
			if s, ok := v.(string); ok {
				return []byte(s)
			}
			return textValue(v)
		}
	}
	return func(row change.Row) any { return textValue(read(row)) }
}

// caseSensitive reports whether a collation compares text as written.
func caseSensitive(collation string) bool {
	return strings.HasSuffix(collation, "_bin") || strings.HasSuffix(collation, "_cs")
}

func textValue(v any) any {
	if f, ok := v.(float32); ok {
		return float64(f)
	}
	return v
}

func compileExpr(n ast.ExprNode, col func(string) (colReader, error)) (evalFn, error) {
	c := compiler{col: col}
	return c.expr(n)
}

type compiler struct {
	col func(string) (colReader, error)
}

var errUnsupported = errors.New("not supported in a row filter")

func (c *compiler) exprs(ns []ast.ExprNode) ([]evalFn, error) {
	out := make([]evalFn, len(ns))
	for i, n := range ns {
		f, err := c.expr(n)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

func (c *compiler) expr(n ast.ExprNode) (evalFn, error) {
	switch x := n.(type) {
	case *ast.ParenthesesExpr:
		return c.expr(x.Expr)
	case *ast.ColumnNameExpr:
		return c.col(x.Name.Name.L)
	case *test_driver.ValueExpr:
		v := literal(x.GetValue())
		return func(change.Row) any { return v }, nil
	case *ast.BinaryOperationExpr:
		return c.binary(x)
	case *ast.UnaryOperationExpr:
		return c.unary(x)
	case *ast.IsNullExpr:
		f, err := c.expr(x.Expr)
		if err != nil {
			return nil, err
		}
		return func(r change.Row) any { return boolValue((f(r) == nil) != x.Not) }, nil
	case *ast.IsTruthExpr:
		f, err := c.expr(x.Expr)
		if err != nil {
			return nil, err
		}
		return func(r change.Row) any {
			t, known := truth(f(r))
			is := known && t == (x.True != 0)
			return boolValue(is != x.Not)
		}, nil
	case *ast.BetweenExpr:
		fs, err := c.exprs([]ast.ExprNode{x.Expr, x.Left, x.Right})
		if err != nil {
			return nil, err
		}
		return func(r change.Row) any {
			v := fs[0](r)
			lo, ok1 := compare(v, fs[1](r))
			hi, ok2 := compare(v, fs[2](r))
			return not(and3(boolOrNull(lo >= 0, ok1), boolOrNull(hi <= 0, ok2)), x.Not)
		}, nil
	case *ast.PatternInExpr:
		return c.in(x)
	case *ast.PatternLikeOrIlikeExpr:
		return c.like(x)
	case *ast.PatternRegexpExpr:
		return c.regexp(x)
	case *ast.FuncCallExpr:
		return c.call(x)
	}
	return nil, fmt.Errorf("%T: %w", n, errUnsupported)
}

func literal(v any) any {
	switch x := v.(type) {
	case *test_driver.MyDecimal:
		d, err := decimal.NewFromString(x.String())
		if err != nil {
			return nil
		}
		return d
	case float32:
		return float64(x)
	case test_driver.BinaryLiteral:
		return hexLiteral(x)
	}
	return v
}

func (c *compiler) binary(x *ast.BinaryOperationExpr) (evalFn, error) {
	l, err := c.expr(x.L)
	if err != nil {
		return nil, err
	}
	r, err := c.expr(x.R)
	if err != nil {
		return nil, err
	}
	cmp := func(test func(int) bool) evalFn {
		return func(row change.Row) any {
			n, ok := compare(l(row), r(row))
			return boolOrNull(ok && test(n), ok)
		}
	}
	switch x.Op {
	case opcode.LogicAnd:
		return func(row change.Row) any { return and3(l(row), r(row)) }, nil
	case opcode.LogicOr:
		return func(row change.Row) any { return or3(l(row), r(row)) }, nil
	case opcode.LogicXor:
		return func(row change.Row) any {
			a, ok1 := truth(l(row))
			b, ok2 := truth(r(row))
			return boolOrNull(a != b, ok1 && ok2)
		}, nil
	case opcode.EQ:
		return cmp(func(n int) bool { return n == 0 }), nil
	case opcode.NE:
		return cmp(func(n int) bool { return n != 0 }), nil
	case opcode.LT:
		return cmp(func(n int) bool { return n < 0 }), nil
	case opcode.LE:
		return cmp(func(n int) bool { return n <= 0 }), nil
	case opcode.GT:
		return cmp(func(n int) bool { return n > 0 }), nil
	case opcode.GE:
		return cmp(func(n int) bool { return n >= 0 }), nil
	case opcode.NullEQ:
		return func(row change.Row) any {
			a, b := l(row), r(row)
			if a == nil || b == nil {
				return boolValue(a == nil && b == nil)
			}
			n, ok := compare(a, b)
			return boolValue(ok && n == 0)
		}, nil
	case opcode.Plus, opcode.Minus, opcode.Mul, opcode.Div, opcode.IntDiv, opcode.Mod:
		return func(row change.Row) any { return arith(x.Op, l(row), r(row)) }, nil
	}
	return nil, fmt.Errorf("operator %s: %w", x.Op, errUnsupported)
}

func (c *compiler) unary(x *ast.UnaryOperationExpr) (evalFn, error) {
	f, err := c.expr(x.V)
	if err != nil {
		return nil, err
	}
	switch x.Op {
	case opcode.Not, opcode.Not2:
		return func(row change.Row) any { return not(f(row), true) }, nil
	case opcode.Minus:
		return func(row change.Row) any { return arith(opcode.Minus, int64(0), f(row)) }, nil
	case opcode.Plus:
		return f, nil
	}
	return nil, fmt.Errorf("operator %s: %w", x.Op, errUnsupported)
}

func (c *compiler) in(x *ast.PatternInExpr) (evalFn, error) {
	if x.Sel != nil {
		return nil, fmt.Errorf("IN (subquery): %w", errUnsupported)
	}
	v, err := c.expr(x.Expr)
	if err != nil {
		return nil, err
	}
	list, err := c.exprs(x.List)
	if err != nil {
		return nil, err
	}
	return func(row change.Row) any {
		a := v(row)
		if a == nil {
			return nil
		}
		sawNull := false
		for _, f := range list {
			n, ok := compare(a, f(row))
			if ok && n == 0 {
				return boolValue(!x.Not)
			}
			sawNull = sawNull || !ok
		}
		if sawNull {
			return nil
		}
		return boolValue(x.Not)
	}, nil
}

func (c *compiler) like(x *ast.PatternLikeOrIlikeExpr) (evalFn, error) {
	fs, err := c.exprs([]ast.ExprNode{x.Expr, x.Pattern})
	if err != nil {
		return nil, err
	}
	escape := x.Escape
	if escape == 0 {
		escape = '\\'
	}
	if escape >= utf8.RuneSelf {
		// The parser keeps one byte of it, which is no character of its own
		// in utf8mb4: the servers would read the pattern otherwise.
		return nil, fmt.Errorf("LIKE ... ESCAPE takes one ASCII character, not the byte 0x%02x", escape)
	}
	return c.pattern(fs[0], fs[1], x.Not, func(p string, fold bool) (*regexp.Regexp, error) {
		return likeRegexp(p, escape, fold || !x.IsLike)
	})
}

func (c *compiler) regexp(x *ast.PatternRegexpExpr) (evalFn, error) {
	fs, err := c.exprs([]ast.ExprNode{x.Expr, x.Pattern})
	if err != nil {
		return nil, err
	}
	return c.pattern(fs[0], fs[1], x.Not, func(p string, fold bool) (*regexp.Regexp, error) {
		if fold {
			p = "(?i)" + p
		}
		return regexp.Compile(p)
	})
}

// pattern evaluates LIKE and REGEXP: text matches case-insensitively,
// binary strings exactly. A constant pattern compiles once.
func (c *compiler) pattern(v, p evalFn, negate bool, compile func(string, bool) (*regexp.Regexp, error)) (evalFn, error) {
	var last *regexp.Regexp
	var lastPattern string
	var lastFold bool
	return func(row change.Row) any {
		a, pat := v(row), p(row)
		if a == nil || pat == nil {
			return nil
		}
		_, binA := a.([]byte)
		_, binP := pat.([]byte)
		_, hexP := pat.(hexLiteral)
		binP = binP || hexP
		fold := !binA && !binP
		ps := asString(pat)
		if last == nil || ps != lastPattern || fold != lastFold {
			re, err := compile(ps, fold)
			if err != nil {
				return nil
			}
			last, lastPattern, lastFold = re, ps, fold
		}
		return boolValue(last.MatchString(asString(a)) != negate)
	}, nil
}

// likeRegexp turns a LIKE pattern into an anchored regular expression.
func likeRegexp(p string, escape byte, fold bool) (*regexp.Regexp, error) {
	var b strings.Builder
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteString("(?s)^")
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case ch == escape && i+1 < len(p):
			i++
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		case ch == '%':
			b.WriteString(".*")
		case ch == '_':
			b.WriteString(".")
		default:
			// Copy the whole UTF-8 sequence.
			j := i + 1
			for j < len(p) && p[j]&0xC0 == 0x80 {
				j++
			}
			b.WriteString(regexp.QuoteMeta(p[i:j]))
			i = j - 1
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

func (c *compiler) call(x *ast.FuncCallExpr) (evalFn, error) {
	args, err := c.exprs(x.Args)
	if err != nil {
		return nil, err
	}
	name := x.FnName.L
	fn, ok := functions[name]
	if !ok || len(args) < fn.min || (fn.max >= 0 && len(args) > fn.max) {
		if ok {
			return nil, fmt.Errorf("%s() takes %d to %d arguments", name, fn.min, fn.max)
		}
		return nil, fmt.Errorf("function %s(): %w (use comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, REGEXP, IS NULL, arithmetic, %s)",
			name, errUnsupported, functionList())
	}
	vals := make([]any, len(args)) // a Bound evaluates one row at a time
	return func(row change.Row) any {
		for i, a := range args {
			vals[i] = a(row)
		}
		return fn.f(vals)
	}, nil
}
