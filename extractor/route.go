package extractor

import (
	"context"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/sqlnames"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

func parseOne(sql string) (ast.StmtNode, error) {
	stmts, err := sqlnames.Parse(sql)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", sql, err)
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("parse %q: %d statements", sql, len(stmts))
	}
	return stmts[0], nil
}

// restoreFlags write a statement back as the destination's session reads
// it (backslash escapes on): quotes doubled and backslashes escaped, so a
// string of the source's DDL (a comment, a default, an enum member) is the
// same value again and never ends its literal early.
const restoreFlags = format.DefaultRestoreFlags | format.RestoreStringEscapeBackslash

func restore(n ast.Node) (string, error) {
	var b strings.Builder
	if err := n.Restore(format.NewRestoreCtx(restoreFlags, &b)); err != nil {
		return "", fmt.Errorf("write statement: %w", err)
	}
	return b.String(), nil
}

// tableNames visits every table name of a statement.
type tableNames func(*ast.TableName)

func (f tableNames) Enter(n ast.Node) (ast.Node, bool) {
	if t, ok := n.(*ast.TableName); ok {
		f(t)
	}
	return n, false
}

func (f tableNames) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// routeDDL decides whether a statement of the binlog reaches the
// destination, and how: its tables and schema under their target names.
// nil: it does not (not replicated, or ignored by ignore_event or
// ignore_sql). The source definitions it touches are forgotten either way.
func (e *Extractor) routeDDL(ctx context.Context, stmt, defaultSchema string) (*change.DDL, error) {
	info := classifyDDL(stmt, defaultSchema)
	switch info.kind {
	case schemaDDL:
		name := info.schema
		if info.stmt == nil {
			// Unparsed: the name as a lexical scan reads it.
			if name = sqlnames.SchemaOfDatabaseDDL(stmt); name == "" {
				return nil, fmt.Errorf("%w: %q does not parse and names no schema dtle can read; "+
					"run it on the destination yourself and exclude it with ignore_sql", ErrBadRule, stmt)
			}
		}
		if name == "" {
			name = defaultSchema
		}
		tg := e.rules.Schema(name)
		if tg == nil || e.ignored(tg, info.event, stmt) {
			return nil, nil
		}
		d := &change.DDL{Schema: e.destSchema(defaultSchema), SQL: stmt}
		if tg.Schema != name {
			if info.stmt == nil {
				return nil, fmt.Errorf("%w: %q does not parse, so schema %s in it cannot be renamed; "+
					"run it on the destination yourself and exclude it with ignore_sql", ErrBadRule, stmt, name)
			}
			switch s := info.stmt.(type) {
			case *ast.CreateDatabaseStmt:
				s.Name = ast.NewCIStr(tg.Schema)
			case *ast.DropDatabaseStmt:
				s.Name = ast.NewCIStr(tg.Schema)
			case *ast.AlterDatabaseStmt:
				s.Name, s.AlterDefaultDatabase = ast.NewCIStr(tg.Schema), false
			}
			sql, err := restore(info.stmt)
			if err != nil {
				return nil, err
			}
			d.Schema, d.SQL = "", sql
		}
		return d, nil
	case tableDDL:
		e.forgetShapes(info.tables)
		return e.routeTableDDL(ctx, stmt, defaultSchema, info)
	}
	return nil, nil
}

func (e *Extractor) routeTableDDL(ctx context.Context, stmt, defaultSchema string, info stmtInfo) (*change.DDL, error) {
	if len(info.tables) == 0 {
		// Unparsed (routeDDL forgot every definition): routed by the
		// names a lexical scan finds.
		return e.routeUnparsed(stmt, defaultSchema, info.event)
	}
	var first *filter.Target
	var names []change.TableName
	renamed := false
	for _, t := range info.tables {
		tg := e.rules.Table(t[0], t[1])
		if tg == nil {
			names = append(names, change.TableName{Schema: t[0], Table: t[1]})
			continue
		}
		if first == nil {
			first = tg
		}
		names = append(names, change.TableName{Schema: tg.Schema, Table: tg.Table})
		renamed = renamed || tg.Schema != t[0] || tg.Table != t[1]
	}
	if first == nil || e.ignored(first, info.event, stmt) {
		return nil, nil
	}
	if first.From != nil && info.event != filter.CreateTable && info.event != filter.DropTable &&
		info.event != filter.RenameTable && info.event != filter.TruncateTable {
		// The column map fixes the destination's columns.
		e.log.Info("DDL not replicated: the table has a column map", "sql", stmt)
		return nil, nil
	}
	d := &change.DDL{Schema: e.destSchema(defaultSchema), SQL: stmt, Tables: names}
	ct, _ := info.stmt.(*ast.CreateTableStmt)
	if ct != nil && ct.ReferTable != nil {
		// CREATE TABLE ... LIKE: with a column map on either side the new
		// table is written from its definition on the source.
		refer := e.rules.Table(schemaOr(ct.ReferTable.Schema.O, defaultSchema), ct.ReferTable.Name.O)
		if first.From != nil || (refer != nil && refer.From != nil) {
			return e.createFromSource(ctx, info.tables[0], first, names)
		}
	}
	if !renamed && first.From == nil {
		return d, nil
	}
	if info.stmt == nil {
		return nil, fmt.Errorf("%w: %q touches renamed tables but does not parse", ErrBadRule, stmt)
	}
	info.stmt.Accept(tableNames(func(t *ast.TableName) {
		schema := schemaOr(t.Schema.O, defaultSchema)
		switch tg, sg := e.rules.Table(schema, t.Name.O), e.rules.Schema(schema); {
		case tg != nil:
			t.Schema, t.Name = ast.NewCIStr(tg.Schema), ast.NewCIStr(tg.Table)
		case sg != nil: // a table the rules do not select, in a renamed schema
			t.Schema = ast.NewCIStr(sg.Schema)
		default:
			t.Schema = ast.NewCIStr(schema)
		}
	}))
	if ct != nil {
		projectCreate(ct, first)
	}
	sql, err := restore(info.stmt)
	if err != nil {
		return nil, err
	}
	d.Schema, d.SQL = first.Schema, sql
	return d, nil
}

// ignored applies ignore_event and ignore_sql to a DDL.
func (e *Extractor) ignored(tg *filter.Target, ev filter.Event, stmt string) bool {
	if tg.Ignores(ev) || tg.IgnoresSQL(stmt) {
		e.log.Info("DDL not replicated: ignore_event or ignore_sql", "event", string(ev), "sql", stmt)
		return true
	}
	return false
}

func schemaOr(schema, def string) string {
	if schema == "" {
		return def
	}
	return schema
}

// destSchema is the default schema a DDL runs under on the destination: the
// source's, renamed; empty when the rules do not select it (the statement
// then names its tables with their schemas).
func (e *Extractor) destSchema(schema string) string {
	if schema == "" {
		return ""
	}
	if sg := e.rules.Schema(schema); sg != nil {
		return sg.Schema
	}
	return ""
}

// createFromSource replaces a CREATE TABLE ... LIKE by the new table's
// definition read from the source, reshaped by its target.
func (e *Extractor) createFromSource(ctx context.Context, name [2]string, tg *filter.Target, names []change.TableName) (*change.DDL, error) {
	create, err := tableinfo.ShowCreate(ctx, e.db, name[0], name[1])
	if err != nil {
		return nil, err
	}
	sql, err := reshapeCreate(create, name[1], tg)
	if err != nil {
		return nil, err
	}
	return &change.DDL{Schema: tg.Schema, SQL: sql, Tables: names}, nil
}

// routeUnparsed routes a table DDL the parser cannot read, run with
// defaultSchema, by the schemas a lexical scan finds in it. The schema of
// the table it creates, changes or drops (its own, or the default one)
// decides whether it is replicated at all; then every schema it names must
// be replicated with its names kept, as the statement goes as written. A
// schema that is renamed, or one the job does not replicate beside one it
// does, stops the job with the fix.
func (e *Extractor) routeUnparsed(stmt, defaultSchema string, event filter.Event) (*change.DDL, error) {
	target, _ := sqlnames.TargetOf(stmt, "TABLE")
	if target == "" {
		target = defaultSchema
	}
	tg := e.rules.Schema(target)
	if tg == nil {
		e.log.Info("DDL not replicated: its table is in a schema the job does not replicate", "sql", stmt, "schema", target)
		return nil, nil
	}
	if e.ignored(tg, event, stmt) {
		return nil, nil
	}
	named := append([]string{target}, sqlnames.QualifiedSchemas(stmt)...)
	var out []string
	for _, s := range named {
		switch other := e.rules.Schema(s); {
		case other == nil:
			out = append(out, s)
		case other.Schema != s || other.RenamesTables:
			return nil, fmt.Errorf("%w: %q does not parse, so the names of schema %s in it cannot be renamed; "+
				"run it on the destination yourself and exclude it with ignore_sql", ErrBadRule, stmt, s)
		}
	}
	if len(out) > 0 {
		return nil, fmt.Errorf("%w: %q does not parse, and it names schemas the job replicates and schemas it does not (%s); "+
			"run it on the destination yourself as needed and exclude it with ignore_sql", ErrBadRule, stmt, strings.Join(out, ", "))
	}
	d := &change.DDL{SQL: stmt}
	if def := e.rules.Schema(defaultSchema); def != nil && def.Schema == defaultSchema {
		d.Schema = defaultSchema // USE'd on the destination, as on the source
	}
	return d, nil
}
