package kafka

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions in DDL (defaults)
	"github.com/pingcap/tidb/pkg/parser/types"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/sqlnames"
)

// colDef is one column as the events need it. It is stored, as JSON, in
// the job's schema topic.
type colDef struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"` // lower-case type: "int", "varchar", "decimal", ...
	Unsigned bool     `json:"unsigned,omitempty"`
	Length   int      `json:"length,omitempty"` // display width, characters, bits or precision; 0: unknown
	Scale    int      `json:"scale,omitempty"`  // decimal scale or fractional-second digits
	Elems    []string `json:"elems,omitempty"`  // ENUM and SET members
	Charset  string   `json:"charset,omitempty"`
	Nullable bool     `json:"nullable"`
	AutoInc  bool     `json:"auto_increment,omitempty"`
	Type     string   `json:"type"` // the type as the server spells it, e.g. "decimal(10,2) unsigned"
	// ScaleSet: a FLOAT or DOUBLE written with a scale, (M,D).
	ScaleSet bool `json:"scale_set,omitempty"`
	// Declared is the type as DDL in the binlog wrote it, upper case,
	// where Debezium's parser takes the word for a type of its own:
	// BOOLEAN and BOOL (a TINYINT(1) to the server), REAL (a DOUBLE) and
	// NUMERIC (a DECIMAL). SHOW CREATE TABLE never says so.
	Declared string `json:"declared,omitempty"`
	// HasDefault says the column has a constant default, Default its text
	// (see defaultOf); none for no default, DEFAULT NULL or an expression.
	HasDefault bool   `json:"has_default,omitempty"`
	Default    []byte `json:"default,omitempty"`
}

// tableDef is a table's definition as of the events being sent: the full
// copy starts it, DDL in the binlog changes it.
type tableDef struct {
	Schema  string   `json:"schema"`
	Name    string   `json:"name"`
	Columns []colDef `json:"columns"`
	// Key are the columns of the event key, in key order: the primary
	// key's, else (KeyIsUnique) those of the first unique index over NOT
	// NULL columns, as Debezium keys a table without a primary key.
	Key         []string `json:"key,omitempty"`
	KeyIsUnique bool     `json:"key_is_unique,omitempty"`
	// Uniques are the table's unique indexes, in the order they were
	// defined. (Definitions stored before the field have none: their key
	// stays as stored.)
	Uniques []uniqueIndex `json:"uniques,omitempty"`
	Charset string        `json:"charset,omitempty"`
}

// uniqueIndex is a unique index: its name and its columns.
type uniqueIndex struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
}

func (t *tableDef) name() change.TableName { return change.TableName{Schema: t.Schema, Table: t.Name} }

func (t *tableDef) column(name string) int {
	return slices.IndexFunc(t.Columns, func(c colDef) bool { return strings.EqualFold(c.Name, name) })
}

// keyIndexes are the positions of the key columns.
func (t *tableDef) keyIndexes() []int {
	out := make([]int, 0, len(t.Key))
	for _, k := range t.Key {
		if i := t.column(k); i >= 0 {
			out = append(out, i)
		}
	}
	return out
}

// catalog tracks the definitions of the replicated tables.
type catalog struct {
	tables map[change.TableName]*tableDef
}

func newCatalog() *catalog { return &catalog{tables: map[change.TableName]*tableDef{}} }

func (c *catalog) get(schema, table string) *tableDef {
	return c.tables[change.TableName{Schema: schema, Table: table}]
}

func parseOne(sql string) (ast.StmtNode, error) {
	stmts, err := sqlnames.Parse(sql)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("%d statements, want 1", len(stmts))
	}
	return stmts[0], nil
}

// fromCopy builds a table's definition from what the full copy sends: its
// SHOW CREATE TABLE, or, when the parser cannot read that, its columns.
func fromCopy(t *change.Table) *tableDef {
	if st, spatial, err := parseDDL(t.CreateSQL); err == nil {
		if ct, ok := st.(*ast.CreateTableStmt); ok {
			d := fromCreate(ct, t.Schema)
			d.markHints(spatial)
			d.Name = t.Name
			if len(d.Columns) == len(t.Columns) {
				return d
			}
		}
	}
	d := &tableDef{Schema: t.Schema, Name: t.Name}
	for _, c := range t.Columns {
		d.Columns = append(d.Columns, colDef{Name: c.Name, Kind: c.DataType, Unsigned: c.Unsigned, Charset: c.Charset,
			Nullable: true, Type: c.DataType})
	}
	for _, k := range t.Key {
		d.Key = append(d.Key, t.Columns[k].Name)
	}
	return d
}

func fromCreate(s *ast.CreateTableStmt, defaultSchema string) *tableDef {
	d := &tableDef{Schema: schemaOf(s.Table, defaultSchema), Name: s.Table.Name.O}
	for _, o := range s.Options {
		if o.Tp == ast.TableOptionCharset {
			d.Charset = strings.ToLower(o.StrValue)
		}
	}
	for _, cd := range s.Cols {
		d.Columns = append(d.Columns, d.colFrom(cd))
		for _, o := range cd.Options {
			switch o.Tp {
			case ast.ColumnOptionPrimaryKey:
				d.Key = []string{cd.Name.Name.O}
			case ast.ColumnOptionUniqKey:
				// The server names the index after the column.
				d.addUnique(cd.Name.Name.O, []string{cd.Name.Name.O})
			}
		}
	}
	for _, cons := range s.Constraints {
		switch {
		case cons.Tp == ast.ConstraintPrimaryKey:
			d.Key = keyNames(cons)
		case isUnique(cons.Tp):
			d.addUnique(cons.Name, keyNames(cons))
		}
	}
	d.markKeyNotNull()
	d.pickKey()
	return d
}

func isUnique(tp ast.ConstraintType) bool {
	return tp == ast.ConstraintUniq || tp == ast.ConstraintUniqKey || tp == ast.ConstraintUniqIndex
}

// addUnique records a unique index; one without a name is named after its
// first column, as the server names it.
func (d *tableDef) addUnique(name string, cols []string) {
	if len(cols) == 0 {
		return
	}
	if name == "" {
		name = cols[0]
	}
	d.Uniques = append(d.Uniques, uniqueIndex{Name: name, Columns: cols})
}

// pickKey keys a table without a primary key by its first unique index
// whose columns are all NOT NULL, as Debezium does; by nothing without one.
func (d *tableDef) pickKey() {
	if len(d.Key) > 0 && !d.KeyIsUnique {
		return
	}
	d.Key, d.KeyIsUnique = nil, false
	for _, u := range d.Uniques {
		ok := true
		for _, n := range u.Columns {
			if i := d.column(n); i < 0 || d.Columns[i].Nullable {
				ok = false
			}
		}
		if ok {
			d.Key, d.KeyIsUnique = slices.Clone(u.Columns), true
			return
		}
	}
}

// dropUnique forgets the unique index name, if the table has it.
func (d *tableDef) dropUnique(name string) {
	d.Uniques = slices.DeleteFunc(d.Uniques, func(u uniqueIndex) bool { return strings.EqualFold(u.Name, name) })
	if d.KeyIsUnique {
		d.Key = nil // picked again
	}
}

func keyNames(cons *ast.Constraint) []string {
	var out []string
	for _, k := range cons.Keys {
		if k.Column != nil {
			out = append(out, k.Column.Name.O)
		}
	}
	return out
}

// markKeyNotNull makes the primary key's columns NOT NULL, as the server
// does.
func (d *tableDef) markKeyNotNull() {
	if d.KeyIsUnique {
		return
	}
	for _, k := range d.keyIndexes() {
		d.Columns[k].Nullable = false
	}
}

func schemaOf(t *ast.TableName, defaultSchema string) string {
	if t.Schema.O != "" {
		return t.Schema.O
	}
	return defaultSchema
}

func (d *tableDef) colFrom(cd *ast.ColumnDef) colDef {
	ft := cd.Tp
	c := colDef{Name: cd.Name.Name.O, Nullable: true, Unsigned: mysql.HasUnsignedFlag(ft.GetFlag()),
		Charset: strings.ToLower(ft.GetCharset()), Elems: ft.GetElems()}
	c.Kind = strings.ToLower(types.TypeToStr(ft.GetType(), ft.GetCharset()))
	if ft.GetType() == mysql.TypeString && ft.GetCharset() == "binary" {
		c.Kind = "binary"
	}
	if c.Kind == "binary" || c.Kind == "varbinary" || strings.HasSuffix(c.Kind, "blob") {
		c.Charset = "binary"
	}
	if c.Charset == "" {
		c.Charset = d.Charset
	}
	c.Length, c.Scale = max(ft.GetFlen(), 0), max(ft.GetDecimal(), 0)
	switch c.Kind {
	case "decimal":
		if c.Length == 0 {
			c.Length = 10 // DECIMAL is DECIMAL(10,0)
		}
	case "float", "double":
		c.ScaleSet = ft.GetDecimal() >= 0
	}
	c.Type = strings.ToLower(ft.CompactStr())
	if c.Unsigned && !strings.Contains(c.Type, "unsigned") {
		c.Type += " unsigned"
	}
	for _, o := range cd.Options {
		switch o.Tp {
		case ast.ColumnOptionNotNull, ast.ColumnOptionPrimaryKey:
			c.Nullable = false
		case ast.ColumnOptionNull:
			c.Nullable = true
		case ast.ColumnOptionAutoIncrement:
			c.AutoInc = true
		case ast.ColumnOptionDefaultValue:
			c.Default, c.HasDefault = defaultOf(o.Expr, &c)
		}
	}
	return c
}

// applied is what one DDL statement did to the catalog.
type applied struct {
	// IDs name the definitions the statement changed or removed, in
	// order; a renamed table's old and new names both.
	IDs []change.TableName
	// Renamed maps each new name a table was renamed to to its old name.
	Renamed map[change.TableName]change.TableName
	// Truncate: the statement is a TRUNCATE TABLE, which changes no
	// definition and is no schema change; IDs names the table.
	Truncate bool
}

// apply changes the catalog by one DDL statement run with defaultSchema
// and says what it changed. A statement that changes no definition
// changes none.
func (c *catalog) apply(defaultSchema, sql string) (applied, error) {
	st, spatial, err := parseDDL(sql)
	if err != nil {
		return applied{}, fmt.Errorf("parse DDL: %w", err)
	}
	if t, ok := st.(*ast.TruncateTableStmt); ok {
		return applied{Truncate: true, IDs: []change.TableName{{Schema: schemaOf(t.Table, defaultSchema), Table: t.Table.Name.O}}}, nil
	}
	var out applied
	out.IDs, err = c.applyStmt(st, defaultSchema, spatial, &out)
	return out, err
}

func (c *catalog) applyStmt(st ast.StmtNode, defaultSchema string, spatial map[string]string, out *applied) ([]change.TableName, error) {
	switch s := st.(type) {
	case *ast.CreateTableStmt:
		if s.TemporaryKeyword != ast.TemporaryNone {
			return nil, nil
		}
		if s.ReferTable != nil {
			src := c.get(schemaOf(s.ReferTable, defaultSchema), s.ReferTable.Name.O)
			if src == nil {
				return nil, nil
			}
			d := src.clone()
			d.Schema, d.Name = schemaOf(s.Table, defaultSchema), s.Table.Name.O
			c.tables[d.name()] = d
			return []change.TableName{d.name()}, nil
		}
		d := fromCreate(s, defaultSchema)
		d.markHints(spatial)
		if s.IfNotExists && c.get(d.Schema, d.Name) != nil {
			return nil, nil
		}
		c.tables[d.name()] = d
		return []change.TableName{d.name()}, nil
	case *ast.DropTableStmt:
		var out []change.TableName
		for _, t := range s.Tables {
			id := change.TableName{Schema: schemaOf(t, defaultSchema), Table: t.Name.O}
			if _, ok := c.tables[id]; ok {
				delete(c.tables, id)
				out = append(out, id)
			}
		}
		return out, nil
	case *ast.RenameTableStmt:
		var ids []change.TableName
		for _, tt := range s.TableToTables {
			moved := c.rename(schemaOf(tt.OldTable, defaultSchema), tt.OldTable.Name.O,
				schemaOf(tt.NewTable, defaultSchema), tt.NewTable.Name.O)
			if len(moved) == 2 {
				out.renamed(moved[0], moved[1])
			}
			ids = append(ids, moved...)
		}
		return ids, nil
	case *ast.DropDatabaseStmt:
		var out []change.TableName
		for id, t := range c.tables {
			if t.Schema == s.Name.O {
				delete(c.tables, id)
				out = append(out, id)
			}
		}
		slices.SortFunc(out, func(a, b change.TableName) int {
			return cmp.Or(strings.Compare(a.Schema, b.Schema), strings.Compare(a.Table, b.Table))
		})
		return out, nil
	case *ast.AlterTableStmt:
		ids, err := c.alter(s, defaultSchema, spatial)
		if len(ids) == 2 {
			out.renamed(ids[0], ids[1])
		}
		return ids, err
	case *ast.CreateIndexStmt:
		d := c.get(schemaOf(s.Table, defaultSchema), s.Table.Name.O)
		if d == nil || s.KeyType != ast.IndexKeyTypeUnique {
			return nil, nil
		}
		var cols []string
		for _, k := range s.IndexPartSpecifications {
			if k.Column != nil {
				cols = append(cols, k.Column.Name.O)
			}
		}
		next := d.clone()
		next.addUnique(s.IndexName, cols)
		next.pickKey()
		c.tables[next.name()] = next
		return []change.TableName{next.name()}, nil
	case *ast.DropIndexStmt:
		d := c.get(schemaOf(s.Table, defaultSchema), s.Table.Name.O)
		if d == nil || !slices.ContainsFunc(d.Uniques, func(u uniqueIndex) bool { return strings.EqualFold(u.Name, s.IndexName) }) {
			return nil, nil
		}
		next := d.clone()
		next.dropUnique(s.IndexName)
		next.pickKey()
		c.tables[next.name()] = next
		return []change.TableName{next.name()}, nil
	}
	return nil, nil
}

func (a *applied) renamed(from, to change.TableName) {
	if a.Renamed == nil {
		a.Renamed = map[change.TableName]change.TableName{}
	}
	if orig, ok := a.Renamed[from]; ok {
		delete(a.Renamed, from) // a chain of renames in one statement: from its start
		from = orig
	}
	a.Renamed[to] = from
}

// clone is a copy of d that changes to it do not reach.
func (d *tableDef) clone() *tableDef {
	next := *d
	next.Columns = slices.Clone(d.Columns)
	next.Key = slices.Clone(d.Key)
	next.Uniques = slices.Clone(d.Uniques)
	for i := range next.Uniques {
		next.Uniques[i].Columns = slices.Clone(d.Uniques[i].Columns)
	}
	return &next
}

func (c *catalog) rename(fromSchema, from, toSchema, to string) []change.TableName {
	d := c.get(fromSchema, from)
	if d == nil {
		return nil
	}
	old := d.name()
	delete(c.tables, old)
	d.Schema, d.Name = toSchema, to
	c.tables[d.name()] = d
	return []change.TableName{old, d.name()}
}

func (c *catalog) alter(s *ast.AlterTableStmt, defaultSchema string, spatial map[string]string) ([]change.TableName, error) {
	d := c.get(schemaOf(s.Table, defaultSchema), s.Table.Name.O)
	if d == nil {
		return nil, nil
	}
	old := d.name()
	next := d.clone()
	for _, spec := range s.Specs {
		if err := next.alterOne(spec, defaultSchema); err != nil {
			return nil, fmt.Errorf("%s: %w", old, err)
		}
	}
	next.markKeyNotNull()
	next.pickKey()
	next.markHints(spatial)
	delete(c.tables, old)
	c.tables[next.name()] = next
	if next.name() != old {
		return []change.TableName{old, next.name()}, nil
	}
	return []change.TableName{old}, nil
}

func (d *tableDef) alterOne(spec *ast.AlterTableSpec, defaultSchema string) error {
	switch spec.Tp {
	case ast.AlterTableAddColumns:
		pos := spec.Position
		for _, cd := range spec.NewColumns {
			if err := d.place(d.colFrom(cd), -1, pos); err != nil {
				return err
			}
			if pos != nil && pos.Tp != ast.ColumnPositionNone {
				pos = &ast.ColumnPosition{Tp: ast.ColumnPositionAfter, RelativeColumn: cd.Name}
			}
		}
	case ast.AlterTableDropColumn:
		i := d.column(spec.OldColumnName.Name.O)
		if i < 0 {
			return fmt.Errorf("drop column %s: no such column", spec.OldColumnName.Name.O)
		}
		d.Columns = slices.Delete(d.Columns, i, i+1)
		d.dropColumnFromKeys(spec.OldColumnName.Name.O)
	case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
		oldName := spec.NewColumns[0].Name.Name.O
		if spec.Tp == ast.AlterTableChangeColumn {
			oldName = spec.OldColumnName.Name.O
		}
		i := d.column(oldName)
		if i < 0 {
			return fmt.Errorf("change column %s: no such column", oldName)
		}
		col := d.colFrom(spec.NewColumns[0])
		d.renameKey(oldName, col.Name)
		return d.place(col, i, spec.Position)
	case ast.AlterTableAlterColumn:
		// SET DEFAULT or DROP DEFAULT (the other forms change no column).
		cd := spec.NewColumns[0]
		i := d.column(cd.Name.Name.O)
		if i < 0 {
			return fmt.Errorf("alter column %s: no such column", cd.Name.Name.O)
		}
		c := &d.Columns[i]
		c.Default, c.HasDefault = nil, false
		for _, o := range cd.Options {
			if o.Expr != nil {
				c.Default, c.HasDefault = defaultOf(o.Expr, c)
			}
		}
	case ast.AlterTableRenameColumn:
		i := d.column(spec.OldColumnName.Name.O)
		if i < 0 {
			return fmt.Errorf("rename column %s: no such column", spec.OldColumnName.Name.O)
		}
		d.renameKey(d.Columns[i].Name, spec.NewColumnName.Name.O)
		d.Columns[i].Name = spec.NewColumnName.Name.O
	case ast.AlterTableRenameTable:
		d.Schema, d.Name = schemaOf(spec.NewTable, defaultSchema), spec.NewTable.Name.O
	case ast.AlterTableAddConstraint:
		switch cons := spec.Constraint; {
		case cons == nil:
		case cons.Tp == ast.ConstraintPrimaryKey:
			d.Key, d.KeyIsUnique = keyNames(cons), false
		case isUnique(cons.Tp):
			d.addUnique(cons.Name, keyNames(cons))
		}
	case ast.AlterTableDropPrimaryKey:
		d.Key, d.KeyIsUnique = nil, false
	case ast.AlterTableDropIndex:
		d.dropUnique(spec.Name)
	}
	return nil
}

// dropColumnFromKeys takes a dropped column out of the key and the unique
// indexes; an index left without columns is gone, as on the server.
func (d *tableDef) dropColumnFromKeys(name string) {
	drop := func(k string) bool { return strings.EqualFold(k, name) }
	d.Key = slices.DeleteFunc(d.Key, drop)
	for i := range d.Uniques {
		d.Uniques[i].Columns = slices.DeleteFunc(d.Uniques[i].Columns, drop)
	}
	d.Uniques = slices.DeleteFunc(d.Uniques, func(u uniqueIndex) bool { return len(u.Columns) == 0 })
	if d.KeyIsUnique {
		d.Key = nil // picked again
	}
}

func (d *tableDef) renameKey(from, to string) {
	for i, k := range d.Key {
		if strings.EqualFold(k, from) {
			d.Key[i] = to
		}
	}
	for _, u := range d.Uniques {
		for i, k := range u.Columns {
			if strings.EqualFold(k, from) {
				u.Columns[i] = to
			}
		}
	}
}

// place puts col at position pos; at, when not -1, is the column it
// replaces (kept in place unless pos says otherwise).
func (d *tableDef) place(col colDef, at int, pos *ast.ColumnPosition) error {
	if at >= 0 {
		d.Columns = slices.Delete(d.Columns, at, at+1)
	} else {
		at = len(d.Columns)
	}
	if pos != nil {
		switch pos.Tp {
		case ast.ColumnPositionFirst:
			at = 0
		case ast.ColumnPositionAfter:
			i := d.column(pos.RelativeColumn.Name.O)
			if i < 0 {
				return fmt.Errorf("column position: no column %s", pos.RelativeColumn.Name.O)
			}
			at = i + 1
		}
	}
	d.Columns = slices.Insert(d.Columns, at, col)
	return nil
}
