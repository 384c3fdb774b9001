package position

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dtle-io/dtle/internal/sqlnames"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// Kind is what a replacement statement changes.
type Kind int

// Kinds of replacement statement.
const (
	// RowChange: INSERT, REPLACE, UPDATE or DELETE. Row changes run in the
	// transaction that advances the checkpoint.
	RowChange Kind = iota + 1
	// SchemaChange: a DDL statement, which commits on its own.
	SchemaChange
)

// executableComment matches comments a server runs as SQL: MySQL's /*! */
// and MariaDB's /*M! */. The parser may read them as plain comments, so a
// statement could hide another in one.
var executableComment = regexp.MustCompile(`(?i)/\*M?!`)

// CheckStatement decides whether an operator's statement may replace a
// transaction: one statement that TiDB's parser reads, a row change or a
// schema change, without executable comments, every table named with its
// schema (it runs without a default schema), none in a system schema
// (tableinfo.SystemSchemas, dtle's own included).
func CheckStatement(sql string) (Kind, error) {
	if strings.TrimSpace(sql) == "" {
		return 0, fmt.Errorf("%w: an empty statement", ErrBadStatement)
	}
	if executableComment.MatchString(sql) {
		return 0, fmt.Errorf("%w: executable comments (/*! */, /*M! */) are not taken: write the statement plainly", ErrBadStatement)
	}
	stmts, err := sqlnames.Parse(sql)
	if err != nil {
		return 0, fmt.Errorf("%w: it does not parse: %w", ErrBadStatement, err)
	}
	if len(stmts) != 1 {
		return 0, fmt.Errorf("%w: %d statements in one item: give one statement per item", ErrBadStatement, len(stmts))
	}
	var kind Kind
	switch s := stmts[0].(type) {
	case *ast.InsertStmt, *ast.UpdateStmt, *ast.DeleteStmt:
		kind = RowChange
	case ast.DDLNode:
		kind = SchemaChange
		var name string
		switch d := s.(type) {
		case *ast.CreateDatabaseStmt:
			name = d.Name.O
		case *ast.AlterDatabaseStmt:
			name = d.Name.O
		case *ast.DropDatabaseStmt:
			name = d.Name.O
		}
		if tableinfo.SystemSchemas[strings.ToLower(name)] {
			return 0, fmt.Errorf("%w: it changes the schema %q, which replication never touches", ErrBadStatement, name)
		}
	default:
		return 0, fmt.Errorf("%w: a %s is neither a row change (INSERT, REPLACE, UPDATE, DELETE) nor a schema change",
			ErrBadStatement, strings.TrimSuffix(strings.TrimPrefix(fmt.Sprintf("%T", s), "*ast."), "Stmt"))
	}
	var bad error
	stmts[0].Accept(tableVisitor(func(t *ast.TableName) {
		switch {
		case bad != nil:
		case t.Schema.O == "":
			bad = fmt.Errorf("%w: name the table %q with its schema (schema.table): the statement runs without a default schema",
				ErrBadStatement, t.Name.O)
		case tableinfo.SystemSchemas[strings.ToLower(t.Schema.O)]:
			bad = fmt.Errorf("%w: it names the schema %q, which replication never touches", ErrBadStatement, t.Schema.O)
		}
	}))
	return kind, bad
}

// CheckStatements checks every statement of a replacement, which must all
// be row changes or all schema changes: a schema change commits on its own,
// so row changes beside it could not commit with the checkpoint. It
// returns their kind; 0 for none (a skip).
func CheckStatements(stmts []string) (Kind, error) {
	var kind Kind
	for i, s := range stmts {
		k, err := CheckStatement(s)
		if err != nil {
			return 0, fmt.Errorf("sql[%d]: %w", i, err)
		}
		if kind != 0 && k != kind {
			return 0, fmt.Errorf("%w: sql[%d]: give row changes or schema changes, not both (a schema change commits on its own, "+
				"so the row changes could not commit with the checkpoint)", ErrBadStatement, i)
		}
		kind = k
	}
	return kind, nil
}

type tableVisitor func(*ast.TableName)

func (f tableVisitor) Enter(n ast.Node) (ast.Node, bool) {
	if t, ok := n.(*ast.TableName); ok {
		f(t)
	}
	return n, false
}

func (f tableVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }
