package position

import (
	"fmt"
	"regexp"
	"slices"
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

// ddlVerbs start every schema change a destination runs: what the
// extractor replicates (tables, indexes, views, schemas).
var ddlVerbs = []string{"CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE"}

// origin is who wrote a statement, which decides what it may be.
type origin struct {
	// operator: an operator's replacement, run without a default schema. It
	// may be a row change too; it must parse, hold no executable comment
	// and name every table with its schema.
	operator bool
	// defaultSchema stands for names without a schema (the source's
	// current database); "" for an operator's statement.
	defaultSchema string
	// refused is the error every refusal wraps.
	refused error
}

// CheckStatement decides whether an operator's statement may replace a
// transaction: one statement that TiDB's parser reads, a row change or one
// of the schema changes CheckDDL takes, without executable comments, every
// table named with its schema (it runs without a default schema), none in a
// system schema (tableinfo.SystemSchemas, dtle's own included). The API
// checks a request with it, and the applier again when it meets the
// transaction, so a replacement the API took is one the applier runs.
func CheckStatement(sql string) (Kind, error) {
	o := origin{operator: true, refused: ErrBadStatement}
	if strings.TrimSpace(sql) == "" {
		return 0, fmt.Errorf("%w: an empty statement", o.refused)
	}
	if executableComment.MatchString(sql) {
		return 0, fmt.Errorf("%w: executable comments (/*! */, /*M! */) are not taken: write the statement plainly", o.refused)
	}
	stmts, err := sqlnames.Parse(sql)
	if err != nil {
		return 0, fmt.Errorf("%w: it does not parse: %w", o.refused, err)
	}
	if len(stmts) != 1 {
		return 0, fmt.Errorf("%w: %d statements in one item: give one statement per item", o.refused, len(stmts))
	}
	return o.check(stmts[0])
}

// CheckDDL decides whether a schema change from the source may run on a
// destination, before it runs. It must be one statement, a create, alter,
// drop, rename or truncate of tables, indexes, views or schemas (what the
// extractor replicates), that names no system schema
// (tableinfo.SystemSchemas: the server's own and the checkpoint schema);
// defaultSchema stands for names without one. A statement TiDB's parser
// cannot read (MariaDB's own syntax) must at least start as a schema
// change and name no system schema in a lexical scan; it runs on a
// connection that takes one statement only, so nothing can follow it.
// Refusals wrap ErrRefusedDDL.
func CheckDDL(sql, defaultSchema string) error {
	o := origin{defaultSchema: defaultSchema, refused: ErrRefusedDDL}
	stmts, err := sqlnames.Parse(sql)
	if err != nil {
		return o.checkUnparsed(sql)
	}
	if len(stmts) != 1 {
		return fmt.Errorf("%w: %d statements in one", o.refused, len(stmts))
	}
	_, err = o.check(stmts[0])
	return err
}

// check decides on one parsed statement: its kind, then every schema it
// names.
func (o origin) check(stmt ast.StmtNode) (Kind, error) {
	kind, database, err := o.kindOf(stmt)
	if err != nil {
		return 0, err
	}
	if database != "" && tableinfo.SystemSchemas[strings.ToLower(database)] {
		return 0, fmt.Errorf("%w: it changes the schema %q, which replication never touches", o.refused, database)
	}
	var bad error
	stmt.Accept(tableVisitor(func(t *ast.TableName) {
		schema := t.Schema.O
		if schema == "" {
			schema = o.defaultSchema
		}
		switch {
		case bad != nil:
		case schema == "" && o.operator:
			bad = fmt.Errorf("%w: name the table %q with its schema (schema.table): the statement runs without a default schema",
				o.refused, t.Name.O)
		case tableinfo.SystemSchemas[strings.ToLower(schema)]:
			bad = fmt.Errorf("%w: it names the schema %q, which replication never touches", o.refused, schema)
		}
	}))
	if bad != nil {
		return 0, bad
	}
	return kind, nil
}

// kindOf is what stmt changes, and the schema a CREATE, ALTER or DROP
// DATABASE names; any statement the destination does not run for a job
// (LOCK TABLES, OPTIMIZE, FLASHBACK, sequences, placement policies, ...)
// is refused.
func (o origin) kindOf(stmt ast.StmtNode) (Kind, string, error) {
	switch s := stmt.(type) {
	case *ast.InsertStmt, *ast.UpdateStmt, *ast.DeleteStmt:
		if o.operator {
			return RowChange, "", nil
		}
		return 0, "", fmt.Errorf("%w: a %s is not a schema change", o.refused, stmtName(stmt))
	case *ast.CreateTableStmt:
		if s.TemporaryKeyword != ast.TemporaryNone {
			return 0, "", fmt.Errorf("%w: a temporary table is not replicated", o.refused)
		}
	case *ast.DropTableStmt:
		if s.TemporaryKeyword != ast.TemporaryNone {
			return 0, "", fmt.Errorf("%w: a temporary table is not replicated", o.refused)
		}
	case *ast.AlterTableStmt, *ast.RenameTableStmt, *ast.TruncateTableStmt,
		*ast.CreateIndexStmt, *ast.DropIndexStmt, *ast.CreateViewStmt:
	case *ast.CreateDatabaseStmt:
		return SchemaChange, s.Name.O, nil
	case *ast.DropDatabaseStmt:
		return SchemaChange, s.Name.O, nil
	case *ast.AlterDatabaseStmt:
		name := s.Name.O
		if name == "" {
			name = o.defaultSchema
		}
		if name == "" {
			return 0, "", fmt.Errorf("%w: name the schema ALTER DATABASE changes: the statement runs without a default schema", o.refused)
		}
		return SchemaChange, name, nil
	default:
		if o.operator {
			return 0, "", fmt.Errorf("%w: a %s is neither a row change (INSERT, REPLACE, UPDATE, DELETE) nor a schema change "+
				"(CREATE, ALTER, DROP, RENAME or TRUNCATE of a table, index, view or schema)", o.refused, stmtName(stmt))
		}
		return 0, "", fmt.Errorf("%w: a %s is not a replicated schema change", o.refused, stmtName(stmt))
	}
	return SchemaChange, "", nil
}

// stmtName is a statement's kind as its parser names it: "Insert",
// "LockTables".
func stmtName(stmt ast.StmtNode) string {
	return strings.TrimSuffix(strings.TrimPrefix(fmt.Sprintf("%T", stmt), "*ast."), "Stmt")
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

// checkUnparsed checks a statement the parser cannot read by the names a
// lexical scan finds: it must start as a schema change, and the table it
// changes (its own schema, or the default one) and every schema.table it
// names must be outside the system schemas.
func (o origin) checkUnparsed(sql string) error {
	verb := firstWord(sql)
	if !slices.ContainsFunc(ddlVerbs, func(v string) bool { return strings.EqualFold(v, verb) }) {
		return fmt.Errorf("%w: it does not parse and does not start as a schema change (%q)", o.refused, verb)
	}
	target, _ := sqlnames.TargetOf(sql, "TABLE")
	if target == "" {
		target = o.defaultSchema
	}
	for _, s := range append(sqlnames.QualifiedSchemas(sql), target, sqlnames.SchemaOfDatabaseDDL(sql)) {
		if tableinfo.SystemSchemas[strings.ToLower(s)] {
			return fmt.Errorf("%w: it changes the schema %q, which replication never touches", o.refused, s)
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
