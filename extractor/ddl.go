package extractor

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions in DDL (defaults)

	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/sqlnames"
)

// ddlKind is what a statement in the binlog is to the pipeline.
type ddlKind int

const (
	// notDDL: not replicated (users, grants, routines, FLUSH, ...).
	notDDL ddlKind = iota
	// tableDDL changes the tables in stmtInfo.tables.
	tableDDL
	// schemaDDL creates or drops the schema in stmtInfo.schema.
	schemaDDL
)

// stmtInfo is what classifyDDL learned of a statement.
type stmtInfo struct {
	kind   ddlKind
	schema string      // CREATE/DROP DATABASE
	tables [][2]string // schema, table; schema filled from the default
	event  filter.Event
	stmt   ast.StmtNode // nil when the parser could not read it
}

// classifyDDL parses a statement from a query event with TiDB's SQL parser.
// defaultSchema is the event's current database. A statement the parser
// cannot read but that starts like a table or schema DDL is still
// replicated, touching an unknown set of tables.
func classifyDDL(sql, defaultSchema string) stmtInfo {
	stmts, err := sqlnames.Parse(sql)
	if err != nil || len(stmts) != 1 {
		return fallbackDDL(sql)
	}
	name := func(t *ast.TableName) [2]string {
		s := t.Schema.O
		if s == "" {
			s = defaultSchema
		}
		return [2]string{s, t.Name.O}
	}
	info := stmtInfo{stmt: stmts[0]}
	switch s := stmts[0].(type) {
	case *ast.CreateTableStmt:
		if s.TemporaryKeyword != ast.TemporaryNone {
			return info
		}
		info.kind, info.tables, info.event = tableDDL, [][2]string{name(s.Table)}, filter.CreateTable
	case *ast.AlterTableStmt:
		info.kind, info.tables, info.event = tableDDL, [][2]string{name(s.Table)}, filter.AlterTable
	case *ast.DropTableStmt:
		if s.IsView || s.TemporaryKeyword != ast.TemporaryNone {
			return info
		}
		info.kind, info.event = tableDDL, filter.DropTable
		for _, t := range s.Tables {
			info.tables = append(info.tables, name(t))
		}
	case *ast.RenameTableStmt:
		info.kind, info.event = tableDDL, filter.RenameTable
		for _, tt := range s.TableToTables {
			info.tables = append(info.tables, name(tt.OldTable), name(tt.NewTable))
		}
	case *ast.TruncateTableStmt:
		info.kind, info.tables, info.event = tableDDL, [][2]string{name(s.Table)}, filter.TruncateTable
	case *ast.CreateIndexStmt:
		info.kind, info.tables, info.event = tableDDL, [][2]string{name(s.Table)}, filter.CreateIndex
	case *ast.DropIndexStmt:
		info.kind, info.tables, info.event = tableDDL, [][2]string{name(s.Table)}, filter.DropIndex
	case *ast.CreateDatabaseStmt:
		info.kind, info.schema, info.event = schemaDDL, s.Name.O, filter.CreateDatabase
	case *ast.DropDatabaseStmt:
		info.kind, info.schema, info.event = schemaDDL, s.Name.O, filter.DropDatabase
	case *ast.AlterDatabaseStmt:
		info.kind, info.schema, info.event = schemaDDL, s.Name.O, filter.AlterDatabase
		if info.schema == "" {
			info.schema = defaultSchema
		}
	}
	return info
}

// fallbackDDL handles syntax the parser does not know (some MariaDB
// extensions): table DDL touching unknown tables of the default schema.
func fallbackDDL(sql string) stmtInfo {
	fields := strings.Fields(strings.ToUpper(sql))
	if len(fields) < 2 {
		return stmtInfo{}
	}
	switch fields[0] {
	case "CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE":
	default:
		return stmtInfo{}
	}
	for _, f := range fields[1:min(4, len(fields))] {
		switch f {
		case "TABLE", "TABLES":
			return stmtInfo{kind: tableDDL, event: filter.Event(strings.ToLower(fields[0]) + " table")}
		case "INDEX", "UNIQUE":
			return stmtInfo{kind: tableDDL, event: filter.Event(strings.ToLower(fields[0]) + " index")}
		case "DATABASE", "SCHEMA":
			return stmtInfo{kind: schemaDDL, event: filter.Event(strings.ToLower(fields[0]) + " database")}
		}
	}
	return stmtInfo{}
}
