package extractor

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// filter decides which tables a job replicates: replicate_do_db (empty:
// every non-system schema) minus replicate_ignore_db.
type filter struct {
	do, ignore []rule
}

type rule struct {
	schema   string
	schemaRE *regexp.Regexp
	tables   []tableRule // empty: the whole schema
}

type tableRule struct {
	name string
	re   *regexp.Regexp
}

func newFilter(task *config.Task) (*filter, error) {
	do, err := compileRules("replicate_do_db", task.ReplicateDoDB)
	if err != nil {
		return nil, err
	}
	ignore, err := compileRules("replicate_ignore_db", task.ReplicateIgnoreDB)
	if err != nil {
		return nil, err
	}
	return &filter{do: do, ignore: ignore}, nil
}

func compileRules(field string, in []*config.ReplicateDB) ([]rule, error) {
	var out []rule
	for i, r := range in {
		if r == nil {
			continue
		}
		ru := rule{schema: r.TableSchema}
		if r.TableSchemaRegex != "" {
			re, err := regexp.Compile(r.TableSchemaRegex)
			if err != nil {
				return nil, fmt.Errorf("%s[%d].table_schema_regex: %w", field, i, err)
			}
			ru.schemaRE = re
		}
		for j, t := range r.Tables {
			if t == nil {
				continue
			}
			tr := tableRule{name: t.TableName}
			if t.TableRegex != "" {
				re, err := regexp.Compile(t.TableRegex)
				if err != nil {
					return nil, fmt.Errorf("%s[%d].tables[%d].table_regex: %w", field, i, j, err)
				}
				tr.re = re
			}
			ru.tables = append(ru.tables, tr)
		}
		out = append(out, ru)
	}
	return out, nil
}

func (r rule) matchSchema(schema string) bool {
	if r.schemaRE != nil {
		return r.schemaRE.MatchString(schema)
	}
	return r.schema == schema
}

func (r rule) match(schema, table string) bool {
	if !r.matchSchema(schema) {
		return false
	}
	if len(r.tables) == 0 || table == "" {
		return true
	}
	for _, t := range r.tables {
		if (t.re != nil && t.re.MatchString(table)) || (t.re == nil && t.name == table) {
			return true
		}
	}
	return false
}

// table reports whether schema.table is replicated.
func (f *filter) table(schema, table string) bool {
	if tableinfo.SystemSchemas[strings.ToLower(schema)] {
		return false
	}
	for _, r := range f.ignore {
		if len(r.tables) == 0 || table != "" {
			if r.match(schema, table) {
				return false
			}
		}
	}
	if len(f.do) == 0 {
		return true
	}
	for _, r := range f.do {
		if r.match(schema, table) {
			return true
		}
	}
	return false
}

// schema reports whether anything of the schema is replicated (for
// CREATE/DROP DATABASE).
func (f *filter) schema(schema string) bool {
	if tableinfo.SystemSchemas[strings.ToLower(schema)] {
		return false
	}
	for _, r := range f.ignore {
		if len(r.tables) == 0 && r.matchSchema(schema) {
			return false
		}
	}
	if len(f.do) == 0 {
		return true
	}
	for _, r := range f.do {
		if r.matchSchema(schema) {
			return true
		}
	}
	return false
}
