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
// ShowCreate.
func Load(ctx context.Context, q querier, schema, table string) (*change.Table, error) {
	t := &change.Table{Schema: schema, Name: table}
	if err := loadColumns(ctx, q, t); err != nil {
		return nil, err
	}
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("load %s.%s: %w", schema, table, ErrNoTable)
	}
	key, uniques, err := loadKeys(ctx, q, t)
	if err != nil {
		return nil, err
	}
	t.Key, t.Uniques = key, uniques
	return t, nil
}

func loadColumns(ctx context.Context, q querier, t *change.Table) error {
	schema, table := t.Schema, t.Name
	rows, err := q.QueryContext(ctx, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IFNULL(CHARACTER_SET_NAME, ''), "+
		"IFNULL(COLLATION_NAME, ''), IFNULL(GENERATION_EXPRESSION, ''), EXTRA FROM information_schema.COLUMNS "+
		"WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", schema, table)
	if err != nil {
		return fmt.Errorf("load %s.%s columns: %w", schema, table, err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var name, dataType, colType, charset, collation, genExpr, extra string
		if err := rows.Scan(&name, &dataType, &colType, &charset, &collation, &genExpr, &extra); err != nil {
			return fmt.Errorf("load %s.%s columns: %w", schema, table, err)
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
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load %s.%s columns: %w", schema, table, err)
	}
	return nil
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

// loadKeys returns the key (the primary key, else the first unique key
// whose columns are all NOT NULL, without functional parts) and the columns
// of every unique index. A unique index with a prefix or functional part is
// listed with no columns: which values it holds equal is the server's to
// compute. A prefix index may still be the key: its whole values are
// unique too.
func loadKeys(ctx context.Context, q querier, t *change.Table) ([]int, [][]int, error) {
	rows, err := q.QueryContext(ctx, "SELECT s.INDEX_NAME, s.COLUMN_NAME, s.SUB_PART, COALESCE(c.IS_NULLABLE, 'YES') FROM information_schema.STATISTICS s "+
		"LEFT JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME "+
		"WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0 "+
		"ORDER BY s.INDEX_NAME = 'PRIMARY' DESC, s.INDEX_NAME, s.SEQ_IN_INDEX", t.Schema, t.Name)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s.%s keys: %w", t.Schema, t.Name, err)
	}
	defer func() { _ = rows.Close() }()
	index := map[string]int{}
	for i, c := range t.Columns {
		index[c.Name] = i
	}
	type key struct {
		cols       []int
		nullable   bool
		prefix     bool // a part indexes a prefix of its column
		functional bool // a part is an expression (MySQL 8)
	}
	var order []string
	keys := map[string]*key{}
	for rows.Next() {
		var name, nullable string
		var col sql.NullString
		var subPart sql.NullInt64
		if err := rows.Scan(&name, &col, &subPart, &nullable); err != nil {
			return nil, nil, fmt.Errorf("load %s.%s keys: %w", t.Schema, t.Name, err)
		}
		k, ok := keys[name]
		if !ok {
			k = &key{}
			keys[name] = k
			order = append(order, name)
		}
		i, ok := index[col.String]
		if !col.Valid || !ok {
			k.functional = true
			continue
		}
		k.prefix = k.prefix || subPart.Valid
		k.cols = append(k.cols, i)
		k.nullable = k.nullable || nullable == "YES"
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("load %s.%s keys: %w", t.Schema, t.Name, err)
	}
	var chosen []int
	var uniques [][]int
	for _, name := range order {
		k := keys[name]
		if chosen == nil && !k.nullable && !k.functional {
			chosen = k.cols
		}
		if k.prefix || k.functional {
			uniques = append(uniques, []int{})
		} else {
			uniques = append(uniques, k.cols)
		}
	}
	return chosen, uniques, nil
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
