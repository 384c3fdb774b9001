package applier

import (
	"context"
	"fmt"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// createSchema creates a replicated schema with the source's default
// character set and collation, unless it exists or the job skips creating
// schemas (skip_create_db_table). A schema that exists is left as it is.
func (c *copier) createSchema(ctx context.Context, m *change.Message) error {
	name := m.Table.Schema
	if m.SkipCreate || name == "" {
		return nil
	}
	if tableinfo.SystemSchemas[strings.ToLower(name)] {
		return &ApplyError{What: "create schema " + name, Err: fmt.Errorf("%w: it is a system schema", ErrRefusedDDL)}
	}
	var exists bool
	if err := c.conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?)",
		name).Scan(&exists); err != nil {
		return &ApplyError{What: "look for schema " + name, Err: err}
	}
	if exists {
		return nil
	}
	q := "CREATE DATABASE IF NOT EXISTS " + tableinfo.Quote(name)
	if wordName.MatchString(m.Charset) {
		q += " CHARACTER SET " + m.Charset
		if wordName.MatchString(m.Collation) {
			q += " COLLATE " + m.Collation
		}
	}
	if _, err := c.ddl.ExecContext(ctx, q); err != nil {
		return &ApplyError{What: "create schema " + name, Err: err}
	}
	return nil
}
