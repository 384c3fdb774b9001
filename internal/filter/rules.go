package filter

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// Rules are a job's compiled replicate_do_db and replicate_ignore_db. Safe
// for concurrent use.
type Rules struct {
	do, ignore []*rule

	mu    sync.Mutex
	cache map[string]*Target // schema NUL table: the table's target, nil if not replicated
}

// rule is one entry of replicate_do_db or replicate_ignore_db.
type rule struct {
	field    string // "replicate_do_db[0]", for messages
	schema   string
	schemaRE *regexp.Regexp
	rename   string
	events   eventSet
	sql      []*regexp.Regexp
	tables   []*tableRule // empty: the whole schema
}

type tableRule struct {
	field    string
	name     string
	re       *regexp.Regexp
	rename   string
	from, to []string
	where    *Where
	events   eventSet
	sql      []*regexp.Regexp
}

// Target is how one source table (or, from Schema, one schema) is
// replicated.
type Target struct {
	// Rule is the path of the rule that selected the table, such as
	// "replicate_do_db[0].tables[1]"; empty when the do list is empty.
	Rule string
	// Schema and Table are the names on the destination.
	Schema, Table string
	// From lists the source columns replicated, in destination order, and To
	// their names on the destination; nil: every column, as it is.
	From, To []string
	// RenamesTables, from Schema: the rule renames some of the schema's
	// tables.
	RenamesTables bool
	// Where selects the rows replicated; nil: every row.
	Where  *Where
	events eventSet
	sql    []*regexp.Regexp
}

// Ignores reports whether ignore_event drops events of this kind.
func (t *Target) Ignores(e Event) bool { return t.events[e] }

// IgnoresSQL reports whether an ignore_sql expression matches a statement.
func (t *Target) IgnoresSQL(stmt string) bool {
	for _, re := range t.sql {
		if re.MatchString(stmt) {
			return true
		}
	}
	return false
}

// Reshapes reports whether rows need their source column names: a column
// map or a row filter.
func (t *Target) Reshapes() bool { return t.From != nil || t.Where != nil }

// New compiles a source task's rules. Every problem is reported, each
// naming its rule.
func New(task *config.Task) (*Rules, error) {
	var errs []error
	do := compile("replicate_do_db", task.ReplicateDoDB, &errs)
	ignore := compile("replicate_ignore_db", task.ReplicateIgnoreDB, &errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Rules{do: do, ignore: ignore, cache: map[string]*Target{}}, nil
}

func compile(field string, in []*config.ReplicateDB, errs *[]error) []*rule {
	fail := func(format string, args ...any) { *errs = append(*errs, fmt.Errorf(format, args...)) }
	var out []*rule
	for i, r := range in {
		if r == nil {
			continue
		}
		ru := &rule{field: fmt.Sprintf("%s[%d]", field, i), schema: r.TableSchema, rename: r.TableSchemaRename}
		if r.TableSchema == "" && r.TableSchemaRegex == "" {
			fail("%s: table_schema or table_schema_regex is required", ru.field)
		}
		ru.schemaRE = compileRE(ru.field+".table_schema_regex", r.TableSchemaRegex, errs)
		ru.events, ru.sql = compileEvents(ru.field, r.IgnoreEvent, r.IgnoreSQL, errs)
		for j, t := range r.Tables {
			if t == nil {
				continue
			}
			tr := &tableRule{field: fmt.Sprintf("%s.tables[%d]", ru.field, j), name: t.TableName, rename: t.TableRename}
			if t.TableName == "" && t.TableRegex == "" {
				fail("%s: table_name or table_regex is required", tr.field)
			}
			tr.re = compileRE(tr.field+".table_regex", t.TableRegex, errs)
			tr.from, tr.to = compileColumnMap(tr.field, t.ColumnMapFrom, t.ColumnMapTo, errs)
			if strings.TrimSpace(t.Where) != "" {
				w, err := ParseWhere(t.Where)
				if err != nil {
					fail("%s.where: %w", tr.field, err)
				}
				tr.where = w
			}
			tr.events, tr.sql = compileEvents(tr.field, t.IgnoreEvent, t.IgnoreSQL, errs)
			ru.tables = append(ru.tables, tr)
		}
		out = append(out, ru)
	}
	return out
}

func compileRE(field, expr string, errs *[]error) *regexp.Regexp {
	if expr == "" {
		return nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s: %w", field, err))
	}
	return re
}

func compileEvents(field string, events, sqls []string, errs *[]error) (eventSet, []*regexp.Regexp) {
	set, err := parseEvents(field+".ignore_event", events)
	if err != nil {
		*errs = append(*errs, err)
	}
	var res []*regexp.Regexp
	for i, s := range sqls {
		if re := compileRE(fmt.Sprintf("%s.ignore_sql[%d]", field, i), s, errs); re != nil {
			res = append(res, re)
		}
	}
	return set, res
}

// compileColumnMap checks column_map_from and column_map_to: names given
// once each, the target list (when given) as long as the source list.
func compileColumnMap(field string, from, to []string, errs *[]error) ([]string, []string) {
	if len(from) == 0 {
		if len(to) > 0 {
			*errs = append(*errs, fmt.Errorf("%s.column_map_to: needs column_map_from (the source columns it renames)", field))
		}
		return nil, nil
	}
	if len(to) == 0 {
		to = from
	}
	if len(to) != len(from) {
		*errs = append(*errs, fmt.Errorf("%s.column_map_to: %d names for %d columns of column_map_from", field, len(to), len(from)))
		return nil, nil
	}
	for _, list := range []struct {
		name  string
		names []string
	}{{"column_map_from", from}, {"column_map_to", to}} {
		seen := map[string]bool{}
		for i, n := range list.names {
			key := strings.ToLower(n)
			switch {
			case strings.TrimSpace(n) == "":
				*errs = append(*errs, fmt.Errorf("%s.%s[%d]: empty column name", field, list.name, i))
			case seen[key]:
				*errs = append(*errs, fmt.Errorf("%s.%s[%d]: column %q is listed twice", field, list.name, i, n))
			}
			seen[key] = true
		}
	}
	return from, to
}

func (r *rule) matchSchema(schema string) bool {
	if r.schemaRE != nil {
		return r.schemaRE.MatchString(schema)
	}
	return r.schema == schema
}

func (t *tableRule) match(table string) bool {
	if t.re != nil {
		return t.re.MatchString(table)
	}
	return t.name == table
}

// expand is a rename: the template with the regex's captures of name
// ($1, ${name}) when the rule matched by regex; empty keeps the name.
func expand(re *regexp.Regexp, template, name string) string {
	if template == "" {
		return name
	}
	if re == nil {
		return template
	}
	return string(re.ExpandString(nil, template, name, re.FindStringSubmatchIndex(name)))
}

// ignored reports whether replicate_ignore_db excludes a table (table
// empty: the whole schema).
func (r *Rules) ignored(schema, table string) bool {
	if tableinfo.SystemSchemas[strings.ToLower(schema)] {
		return true
	}
	for _, ru := range r.ignore {
		if !ru.matchSchema(schema) {
			continue
		}
		if len(ru.tables) == 0 {
			return true
		}
		for _, t := range ru.tables {
			if table != "" && t.match(table) {
				return true
			}
		}
	}
	return false
}

// Table returns how a source table is replicated, nil if it is not:
// ignore rules win, then the first do rule that matches (an empty do list
// matches every table).
func (r *Rules) Table(schema, table string) *Target {
	key := schema + "\x00" + table
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.cache[key]; ok {
		return t
	}
	t := r.table(schema, table)
	r.cache[key] = t
	return t
}

func (r *Rules) table(schema, table string) *Target {
	if r.ignored(schema, table) {
		return nil
	}
	if len(r.do) == 0 {
		return &Target{Schema: schema, Table: table}
	}
	for _, ru := range r.do {
		if !ru.matchSchema(schema) {
			continue
		}
		dest := expand(ru.schemaRE, ru.rename, schema)
		if len(ru.tables) == 0 {
			return &Target{Rule: ru.field, Schema: dest, Table: table, events: ru.events, sql: ru.sql}
		}
		for _, t := range ru.tables {
			if t.match(table) {
				return &Target{Rule: t.field, Schema: dest, Table: expand(t.re, t.rename, table), From: t.from, To: t.to,
					Where: t.where, events: ru.events.union(t.events), sql: append(ru.sql[:len(ru.sql):len(ru.sql)], t.sql...)}
			}
		}
	}
	return nil
}

// Schema returns how a schema's own DDL (CREATE/DROP/ALTER DATABASE) is
// replicated, with Table empty; nil if no table of it is replicated by
// name or pattern.
func (r *Rules) Schema(schema string) *Target {
	if r.ignored(schema, "") {
		return nil
	}
	if len(r.do) == 0 {
		return &Target{Schema: schema}
	}
	for _, ru := range r.do {
		if ru.matchSchema(schema) {
			tg := &Target{Rule: ru.field, Schema: expand(ru.schemaRE, ru.rename, schema), events: ru.events, sql: ru.sql}
			for _, t := range ru.tables {
				tg.RenamesTables = tg.RenamesTables || t.rename != ""
			}
			return tg
		}
	}
	return nil
}

// Unmatched lists the rules of replicate_do_db and replicate_ignore_db that
// match none of the given tables, by their paths: a misspelt name or
// pattern that would silently replicate nothing (or exclude nothing).
func (r *Rules) Unmatched(tables []tableinfo.Name) []string {
	var out []string
	for _, list := range [][]*rule{r.do, r.ignore} {
		for _, ru := range list {
			schemaSeen := false
			tableSeen := make([]bool, len(ru.tables))
			for _, n := range tables {
				if !ru.matchSchema(n.Schema) {
					continue
				}
				schemaSeen = true
				for i, t := range ru.tables {
					tableSeen[i] = tableSeen[i] || t.match(n.Table)
				}
			}
			if !schemaSeen {
				out = append(out, ru.field+": no schema on the source matches")
				continue
			}
			for i, seen := range tableSeen {
				if !seen {
					out = append(out, ru.tables[i].field+": no table on the source matches")
				}
			}
		}
	}
	return out
}

// Check reports what of the target does not fit a source table: a mapped
// column or a column of the where filter the table lacks.
func (t *Target) Check(src *change.Table) error {
	_, err := t.Bind(src)
	return err
}

// Bind checks the target against a source table (see Check) and returns
// its where filter bound to the table's columns, nil without one.
func (t *Target) Bind(src *change.Table) (*Bound, error) {
	have := map[string]bool{}
	for _, c := range src.Columns {
		have[strings.ToLower(c.Name)] = true
	}
	var errs []error
	for i, name := range t.From {
		if !have[strings.ToLower(name)] {
			errs = append(errs, fmt.Errorf("%s.column_map_from[%d]: %s.%s has no column %q", t.Rule, i, src.Schema, src.Name, name))
		}
	}
	var bound *Bound
	if t.Where != nil {
		b, err := t.Where.Bind(src.Columns)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.where on %s.%s: %w", t.Rule, src.Schema, src.Name, err))
		}
		bound = b
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return bound, nil
}
