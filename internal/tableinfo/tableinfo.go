// Package tableinfo reads table definitions from a server's
// information_schema into change.Table, for both pipeline stages.
package tableinfo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
)

// ErrNoTable: the table does not exist.
var ErrNoTable = errors.New("table does not exist")

// SystemSchemas are never replicated. "dtle" holds dtle's own checkpoints.
var SystemSchemas = map[string]bool{
	"mysql": true, "information_schema": true, "performance_schema": true, "sys": true, "dtle": true,
}

// binaryTypes hold bytes rather than text.
var binaryTypes = map[string]bool{
	"binary": true, "varbinary": true, "tinyblob": true, "blob": true, "mediumblob": true,
	"longblob": true, "bit": true, "geometry": true, "point": true, "linestring": true,
	"polygon": true, "multipoint": true, "multilinestring": true, "multipolygon": true,
	"geometrycollection": true, "geomcollection": true, "vector": true,
}

// Name is a table's name (change.TableName).
type Name = change.TableName

// ListTables lists the base tables of every non-system schema.
func ListTables(ctx context.Context, db *sql.DB) ([]Name, error) {
	rows, err := db.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "+
		"WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME")
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []Name
	for rows.Next() {
		var n Name
		if err := rows.Scan(&n.Schema, &n.Table); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		if !SystemSchemas[strings.ToLower(n.Schema)] {
			out = append(out, n)
		}
	}
	return out, rows.Err()
}

// querier is a *sql.DB, *sql.Conn or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Load reads one table's columns and key. CreateSQL is left empty; see
// ShowCreate. To read many tables, LoadSchema costs a query per schema
// where Load costs two per table.
func Load(ctx context.Context, q querier, schema, table string) (*change.Table, error) {
	tables, err := load(ctx, q, schema, table)
	if err != nil {
		return nil, err
	}
	t := tables[table]
	if t == nil {
		return nil, fmt.Errorf("load %s.%s: %w", schema, table, ErrNoTable)
	}
	return t, nil
}

// LoadSchema reads the columns and keys of every table of schema, by
// name, in two queries whatever their number. MariaDB answers a query on
// information_schema.COLUMNS or STATISTICS by opening each table it may
// concern: reading n tables one at a time costs n queries, and a condition
// it cannot narrow to constant names (a join on columns) opens every table
// of the server for each of them. Views are there too (with their columns
// and no key), and tables created or dropped meanwhile may or may not be:
// look up the tables ListTables lists.
func LoadSchema(ctx context.Context, q querier, schema string) (map[string]*change.Table, error) {
	return load(ctx, q, schema, "")
}

// load reads the tables of schema, only table when it is not empty.
func load(ctx context.Context, q querier, schema, table string) (map[string]*change.Table, error) {
	what := schema
	if table != "" {
		what = schema + "." + table
	}
	tables, nullable, err := loadColumns(ctx, q, schema, table)
	if err != nil {
		return nil, fmt.Errorf("load %s columns: %w", what, err)
	}
	if len(tables) == 0 {
		return tables, nil
	}
	if err := loadKeys(ctx, q, schema, table, tables, nullable); err != nil {
		return nil, fmt.Errorf("load %s keys: %w", what, err)
	}
	return tables, nil
}

// filterSQL is the condition on TABLE_SCHEMA, and on TABLE_NAME when table
// is not empty, with its arguments. Both are constants, which MariaDB and
// MySQL use to open only the tables named.
func filterSQL(prefix, schema, table string) (string, []any) {
	if table == "" {
		return prefix + "TABLE_SCHEMA = ?", []any{schema}
	}
	return prefix + "TABLE_SCHEMA = ? AND " + prefix + "TABLE_NAME = ?", []any{schema, table}
}

// loadColumns reads the columns of the tables, and which are nullable (by
// table, then column name), for loadKeys.
func loadColumns(ctx context.Context, q querier, schema, table string) (map[string]*change.Table, map[string]map[string]bool, error) {
	cond, args := filterSQL("", schema, table)
	rows, err := q.QueryContext(ctx, "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IFNULL(CHARACTER_SET_NAME, ''), "+
		"IFNULL(COLLATION_NAME, ''), IFNULL(GENERATION_EXPRESSION, ''), EXTRA, IS_NULLABLE FROM information_schema.COLUMNS "+
		"WHERE "+cond+" ORDER BY TABLE_NAME, ORDINAL_POSITION", args...)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = rows.Close() }()
	tables := map[string]*change.Table{}
	nullable := map[string]map[string]bool{}
	for rows.Next() {
		var tname, name, dataType, colType, charset, collation, genExpr, extra, null string
		if err := rows.Scan(&tname, &name, &dataType, &colType, &charset, &collation, &genExpr, &extra, &null); err != nil {
			return nil, nil, err
		}
		t := tables[tname]
		if t == nil {
			t = &change.Table{Schema: schema, Name: tname}
			tables[tname] = t
			nullable[tname] = map[string]bool{}
		}
		dataType = strings.ToLower(dataType)
		extra = strings.ToUpper(extra)
		t.Columns = append(t.Columns, change.Column{
			Name:          name,
			DataType:      dataType,
			Unsigned:      strings.Contains(strings.ToLower(colType), "unsigned"),
			Binary:        binaryTypes[dataType] || charset == "binary",
			Generated:     genExpr != "" || strings.Contains(extra, "GENERATED"),
			Charset:       charset,
			Elems:         members(dataType, colType),
			Collation:     strings.ToLower(collation),
			AutoIncrement: strings.Contains(extra, "AUTO_INCREMENT"),
		})
		nullable[tname][name] = null == "YES"
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return tables, nullable, nil
}

// members reads the members of an ENUM or SET from its COLUMN_TYPE, such
// as enum('a','b'); a quote inside a member is doubled.
func members(dataType, colType string) []string {
	if dataType != "enum" && dataType != "set" {
		return nil
	}
	open := strings.IndexByte(colType, '(')
	if open < 0 {
		return nil
	}
	var out []string
	var cur strings.Builder
	in := false
	s := colType[open+1:]
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case !in && c == '\'':
			in = true
		case in && c == '\'' && i+1 < len(s) && s[i+1] == '\'':
			cur.WriteByte('\'')
			i++
		case in && c == '\'':
			in = false
			out = append(out, cur.String())
			cur.Reset()
		case in:
			cur.WriteByte(c)
		}
	}
	return out
}

// loadKeys sets each table's key (the primary key, else the first unique
// key whose columns are all NOT NULL, without functional parts) and the
// columns of every unique index. A unique index with a prefix or functional
// part is listed with no columns: which values it holds equal is the
// server's to compute. A prefix index may still be the key: its whole
// values are unique too. nullable is loadColumns'. Only STATISTICS is
// read: joined with COLUMNS on columns rather than constants, MariaDB would
// open every table of every schema for each query.
func loadKeys(ctx context.Context, q querier, schema, table string, tables map[string]*change.Table, nullable map[string]map[string]bool) error {
	cond, args := filterSQL("", schema, table)
	rows, err := q.QueryContext(ctx, "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS "+
		"WHERE "+cond+" AND NON_UNIQUE = 0 "+
		"ORDER BY TABLE_NAME, INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX", args...)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	type key struct {
		cols       []int
		nullable   bool
		prefix     bool // a part indexes a prefix of its column
		functional bool // a part is an expression (MySQL 8)
	}
	type tableKeys struct {
		index map[string]int // column positions by name
		order []string
		keys  map[string]*key
	}
	all := map[string]*tableKeys{}
	for rows.Next() {
		var tname, name string
		var col sql.NullString
		var subPart sql.NullInt64
		if err := rows.Scan(&tname, &name, &col, &subPart); err != nil {
			return err
		}
		t := tables[tname]
		if t == nil {
			continue // created after the columns were read
		}
		tk := all[tname]
		if tk == nil {
			tk = &tableKeys{index: map[string]int{}, keys: map[string]*key{}}
			for i, c := range t.Columns {
				tk.index[c.Name] = i
			}
			all[tname] = tk
		}
		k, ok := tk.keys[name]
		if !ok {
			k = &key{}
			tk.keys[name] = k
			tk.order = append(tk.order, name)
		}
		i, ok := tk.index[col.String]
		if !col.Valid || !ok {
			k.functional = true
			continue
		}
		k.prefix = k.prefix || subPart.Valid
		k.cols = append(k.cols, i)
		k.nullable = k.nullable || nullable[tname][col.String]
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for tname, tk := range all {
		t := tables[tname]
		for _, name := range tk.order {
			k := tk.keys[name]
			if t.Key == nil && !k.nullable && !k.functional {
				t.Key = k.cols
			}
			if k.prefix || k.functional {
				t.Uniques = append(t.Uniques, []int{})
			} else {
				t.Uniques = append(t.Uniques, k.cols)
			}
		}
	}
	return nil
}

// ShowCreate returns SHOW CREATE TABLE for the table.
func ShowCreate(ctx context.Context, q querier, schema, table string) (string, error) {
	rows, err := q.QueryContext(ctx, "SHOW CREATE TABLE "+QuoteName(schema, table))
	if err != nil {
		return "", fmt.Errorf("show create table %s.%s: %w", schema, table, err)
	}
	defer func() { _ = rows.Close() }()
	var name, create string
	if !rows.Next() {
		return "", fmt.Errorf("show create table %s.%s: %w", schema, table, ErrNoTable)
	}
	if err := rows.Scan(&name, &create); err != nil {
		return "", fmt.Errorf("show create table %s.%s: %w", schema, table, err)
	}
	return create, rows.Err()
}

// Quote quotes an identifier with backticks.
func Quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// QuoteName quotes schema.table.
func QuoteName(schema, table string) string { return Quote(schema) + "." + Quote(table) }
