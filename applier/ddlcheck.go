package applier

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions in DDL (defaults)

	"github.com/dtle-io/dtle/internal/position"
	"github.com/dtle-io/dtle/internal/sqlnames"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// ErrRefusedDDL: a schema change from the source is not one DDL statement
// on the job's own tables, so the applier does not run it.
var ErrRefusedDDL = errors.New("refused schema change")

// wordName is what a character set's or collation's name may be when it
// goes into SQL written here; anything else never does.
var wordName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// ddlVerbs start every statement the applier runs for the source: what
// the extractor replicates (tables, indexes, views, schemas).
var ddlVerbs = []string{"CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE"}

// checkDDL decides whether a statement that came from the source may run
// on the destination, before it runs. It must be one statement, a schema
// change, that names no system schema (tableinfo.SystemSchemas: the
// server's own and the checkpoint schema) (defaultSchema stands for names
// without one). A statement TiDB's parser cannot read (MariaDB's own
// syntax) must at least start as a schema change; it runs on a connection
// that takes one statement only, so nothing can follow it.
func checkDDL(sql, defaultSchema string) error {
	stmts, err := sqlnames.Parse(sql)
	if err != nil {
		return checkUnparsed(sql, defaultSchema)
	}
	if len(stmts) != 1 {
		return fmt.Errorf("%w: %d statements in one", ErrRefusedDDL, len(stmts))
	}
	if _, ok := stmts[0].(ast.DDLNode); !ok {
		return fmt.Errorf("%w: %T is not a schema change", ErrRefusedDDL, stmts[0])
	}
	var bad string
	check := func(schema string) {
		if schema == "" {
			schema = defaultSchema
		}
		if tableinfo.SystemSchemas[strings.ToLower(schema)] && bad == "" {
			bad = schema
		}
	}
	switch s := stmts[0].(type) {
	case *ast.CreateDatabaseStmt:
		check(s.Name.O)
	case *ast.AlterDatabaseStmt:
		check(s.Name.O)
	case *ast.DropDatabaseStmt:
		check(s.Name.O)
	}
	stmts[0].Accept(tableVisitor(func(t *ast.TableName) { check(t.Schema.O) }))
	if bad != "" {
		return fmt.Errorf("%w: it changes the schema %q, which replication never touches", ErrRefusedDDL, bad)
	}
	return nil
}

// checkReplacement decides whether an operator's statements may replace a
// transaction (position.CheckStatements: one statement each, all row
// changes or all schema changes, outside the system schemas); schema
// changes must also pass checkDDL, as the source's do. It returns their
// kind, 0 for none.
func checkReplacement(stmts []string) (position.Kind, error) {
	kind, err := position.CheckStatements(stmts)
	if err != nil {
		return 0, err
	}
	if kind == position.SchemaChange {
		for i, s := range stmts {
			if err := checkDDL(s, ""); err != nil {
				return 0, fmt.Errorf("sql[%d]: %w", i, err)
			}
		}
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

// checkUnparsed checks a statement the parser cannot read by the names a
// lexical scan finds: it must start as a schema change, and the table it
// changes (its own schema, or the default one) and every schema.table it
// names must be outside the system schemas.
func checkUnparsed(sql, defaultSchema string) error {
	verb := firstWord(sql)
	if !slices.ContainsFunc(ddlVerbs, func(v string) bool { return strings.EqualFold(v, verb) }) {
		return fmt.Errorf("%w: it does not parse and does not start as a schema change (%q)", ErrRefusedDDL, verb)
	}
	target, _ := sqlnames.TargetOf(sql, "TABLE")
	if target == "" {
		target = defaultSchema
	}
	for _, s := range append(sqlnames.QualifiedSchemas(sql), target, sqlnames.SchemaOfDatabaseDDL(sql)) {
		if tableinfo.SystemSchemas[strings.ToLower(s)] {
			return fmt.Errorf("%w: it changes the schema %q, which replication never touches", ErrRefusedDDL, s)
		}
	}
	return nil
}

// firstWord is a statement's first word, after white space and comments.
func firstWord(sql string) string {
	s := sql
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		switch {
		case strings.HasPrefix(s, "/*"):
			end := strings.Index(s, "*/")
			if end < 0 {
				return ""
			}
			s = s[end+2:]
		case strings.HasPrefix(s, "#"), strings.HasPrefix(s, "-- "):
			end := strings.IndexByte(s, '\n')
			if end < 0 {
				return ""
			}
			s = s[end+1:]
		default:
			end := strings.IndexFunc(s, func(r rune) bool { return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') })
			if end < 0 {
				return s
			}
			return s[:end]
		}
	}
}
