package extractor

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// shape is how the rows of one source table reach the destination: under
// the target's names, only the mapped columns, only the rows the where
// filter passes.
type shape struct {
	src *change.Table
	// proj lists the source columns sent, in destination order; nil: all.
	proj  []int
	where *filter.Bound
	// out is the table as the destination defines it.
	out *change.Table
}

// newShape applies a target to a source table's definition.
func newShape(src *change.Table, tg *filter.Target) (*shape, error) {
	where, err := tg.Bind(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRule, err)
	}
	s := &shape{src: src, where: where}
	out := *src
	out.Schema, out.Name = tg.Schema, tg.Table
	if tg.From != nil {
		index := map[string]int{}
		for i, c := range src.Columns {
			index[strings.ToLower(c.Name)] = i
		}
		pos := map[int]int{} // source index: destination index
		out.Columns = make([]change.Column, len(tg.From))
		for i, name := range tg.From {
			j := index[strings.ToLower(name)] // Check found it
			s.proj = append(s.proj, j)
			pos[j] = i
			out.Columns[i] = src.Columns[j]
			out.Columns[i].Name = tg.To[i]
		}
		out.Key = remap(src.Key, pos)
		out.Uniques = nil
		for _, u := range src.Uniques {
			if r := remap(u, pos); r != nil {
				out.Uniques = append(out.Uniques, r)
			}
		}
	}
	if src.CreateSQL != "" {
		create, err := reshapeCreate(src.CreateSQL, src.Name, tg)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", src.Schema, src.Name, err)
		}
		out.CreateSQL = create
	}
	s.out = &out
	return s, nil
}

// remap translates column indexes; nil when a column is not sent.
func remap(cols []int, pos map[int]int) []int {
	if len(cols) == 0 {
		return nil
	}
	out := make([]int, len(cols))
	for i, c := range cols {
		p, ok := pos[c]
		if !ok {
			return nil
		}
		out[i] = p
	}
	return out
}

// sourceColumns are the quoted source names of the columns sent.
func (s *shape) sourceColumns() []string {
	cols := make([]string, len(s.out.Columns))
	for i := range s.out.Columns {
		j := i
		if s.proj != nil {
			j = s.proj[i]
		}
		cols[i] = tableinfo.Quote(s.src.Columns[j].Name)
	}
	return cols
}

func (s *shape) project(row change.Row) change.Row {
	if row == nil || s.proj == nil {
		return row
	}
	out := make(change.Row, len(s.proj))
	for i, j := range s.proj {
		out[i] = row[j]
	}
	return out
}

func (s *shape) match(row change.Row) (bool, error) {
	if row == nil {
		return false, nil
	}
	if len(row) != len(s.src.Columns) {
		return false, fmt.Errorf("%w: the row has %d columns, %s.%s %d", ErrSchemaAhead, len(row), s.src.Schema, s.src.Name, len(s.src.Columns))
	}
	return s.where.Match(row), nil
}

// apply reshapes one binlog row change; keep is false when the where filter
// drops it. An update that moves a row out of the filter becomes a delete,
// one that moves it in an insert.
func (s *shape) apply(c change.RowChange) (out change.RowChange, keep bool, err error) {
	if s.where != nil {
		before, err := s.match(c.Before)
		if err != nil {
			return c, false, err
		}
		after, err := s.match(c.After)
		if err != nil {
			return c, false, err
		}
		switch {
		case c.Op == change.OpUpdate && before && !after:
			c.Op, c.After = change.OpDelete, nil
		case c.Op == change.OpUpdate && after && !before:
			c.Op, c.Before = change.OpInsert, nil
		case !before && !after:
			return c, false, nil
		}
	}
	c.Before, c.After = s.project(c.Before), s.project(c.After)
	if c.Op == change.OpUpdate && s.proj != nil && sameRow(c.Before, c.After) {
		return c, false, nil // only unmapped columns changed
	}
	return c, true, nil
}

func sameRow(a, b change.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, xb := a[i].([]byte)
		y, yb := b[i].([]byte)
		switch {
		case xb || yb:
			if !xb || !yb || string(x) != string(y) {
				return false
			}
		case a[i] != b[i]:
			return false
		}
	}
	return true
}

// binlogShape is the shape of a table's binlog rows, from the source's
// definition read when first needed (and again after DDL touches it). The
// binlog's table map must agree with it: a definition changed again after
// the event being read would misplace columns.
func (e *Extractor) binlogShape(ctx context.Context, tg *filter.Target, tm *replication.TableMapEvent) (*shape, error) {
	schema, name := string(tm.Schema), string(tm.Table)
	key := schema + "\x00" + name
	s, ok := e.shapes[key]
	if !ok {
		t, err := tableinfo.Load(ctx, e.db, schema, name)
		if err != nil {
			return nil, err
		}
		if s, err = newShape(t, tg); err != nil {
			return nil, err
		}
		e.shapes[key] = s
	}
	if int(tm.ColumnCount) != len(s.src.Columns) {
		return nil, fmt.Errorf("%w: %s.%s has %d columns in the binlog and %d on the source now", ErrSchemaAhead,
			schema, name, tm.ColumnCount, len(s.src.Columns))
	}
	for i, n := range tm.ColumnName {
		if i < len(s.src.Columns) && !strings.EqualFold(string(n), s.src.Columns[i].Name) {
			return nil, fmt.Errorf("%w: %s.%s column %d is %q in the binlog and %q on the source now", ErrSchemaAhead,
				schema, name, i+1, n, s.src.Columns[i].Name)
		}
	}
	return s, nil
}

// forgetShapes drops the definitions of tables a DDL touched (nil: all).
func (e *Extractor) forgetShapes(tables [][2]string) {
	if tables == nil {
		clear(e.shapes)
		return
	}
	for _, t := range tables {
		delete(e.shapes, t[0]+"\x00"+t[1])
	}
}

// reshapeCreate turns SHOW CREATE TABLE of a source table into the
// destination's: renamed, and with a column map only the mapped columns
// under their new names, with the indexes over them.
func reshapeCreate(create, srcName string, tg *filter.Target) (string, error) {
	if tg.From == nil {
		if tg.Table == srcName {
			return create, nil
		}
		// SHOW CREATE TABLE always starts so.
		if prefix := "CREATE TABLE " + tableinfo.Quote(srcName) + " "; strings.HasPrefix(create, prefix) {
			return "CREATE TABLE " + tableinfo.Quote(tg.Table) + " " + create[len(prefix):], nil
		}
	}
	st, err := parseOne(create)
	if err != nil {
		return "", err
	}
	ct, ok := st.(*ast.CreateTableStmt)
	if !ok {
		return "", fmt.Errorf("not a CREATE TABLE: %q", create)
	}
	ct.Table.Name, ct.Table.Schema = ast.NewCIStr(tg.Table), ast.CIStr{}
	projectCreate(ct, tg)
	return restore(ct)
}

// projectCreate keeps the mapped columns of a CREATE TABLE, renamed and in
// the map's order, and the keys and indexes made only of them; foreign
// keys, checks and partitioning, which may name dropped columns, go.
func projectCreate(ct *ast.CreateTableStmt, tg *filter.Target) {
	if tg.From == nil {
		return
	}
	byName := map[string]*ast.ColumnDef{}
	for _, c := range ct.Cols {
		byName[c.Name.Name.L] = c
	}
	rename := map[string]string{}
	var cols []*ast.ColumnDef
	for i, from := range tg.From {
		c, ok := byName[strings.ToLower(from)]
		if !ok {
			continue
		}
		rename[strings.ToLower(from)] = tg.To[i]
		c.Name.Name = ast.NewCIStr(tg.To[i])
		cols = append(cols, c)
	}
	ct.Cols = cols
	var cons []*ast.Constraint
	for _, c := range ct.Constraints {
		switch c.Tp {
		case ast.ConstraintForeignKey, ast.ConstraintCheck:
			continue
		}
		kept := len(c.Keys) > 0
		for _, k := range c.Keys {
			if k.Column == nil {
				kept = false
				break
			}
			to, ok := rename[k.Column.Name.L]
			if !ok {
				kept = false
				break
			}
			k.Column.Name = ast.NewCIStr(to)
		}
		if kept {
			cons = append(cons, c)
		}
	}
	ct.Constraints = cons
	ct.Partition = nil
}
