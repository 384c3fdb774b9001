package applier

import (
	"context"
	"testing"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// Two tables whose "schema.table" strings are the same keep their own
// entries in the cache: it is keyed by change.TableName.
func TestTableCacheKeepsNamesWithDotsApart(t *testing.T) {
	ctx := context.Background()
	db := sandboxtest.OpenDB(t, pair.Dest)
	sandboxtest.Exec(t, db, []string{"DROP DATABASE IF EXISTS `applier_dot.a`", "DROP DATABASE IF EXISTS applier_dot",
		"CREATE DATABASE `applier_dot.a`", "CREATE DATABASE applier_dot",
		"CREATE TABLE `applier_dot.a`.b (in_schema_with_dot INT)", "CREATE TABLE applier_dot.`a.b` (in_table_with_dot INT, other INT)"})
	defer sandboxtest.Exec(t, db, []string{"DROP DATABASE `applier_dot.a`", "DROP DATABASE applier_dot"})
	dotSchema := change.TableName{Schema: "applier_dot.a", Table: "b"}
	dotTable := change.TableName{Schema: "applier_dot", Table: "a.b"}
	if dotSchema.String() != dotTable.String() {
		t.Fatalf("the case needs names that print alike: %s, %s", dotSchema, dotTable)
	}
	c := newTableCache()
	for _, step := range []struct {
		what   string
		forget *change.TableName
		name   change.TableName
		column string
	}{
		{what: "schema with a dot", name: dotSchema, column: "in_schema_with_dot"},
		{what: "table with a dot, after the other is cached", name: dotTable, column: "in_table_with_dot"},
		{what: "schema with a dot, once the other is forgotten", forget: &dotTable, name: dotSchema, column: "in_schema_with_dot"},
	} {
		if step.forget != nil {
			c.forget(*step.forget)
		}
		tb, err := c.get(ctx, db, step.name)
		if err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		if tb.Schema != step.name.Schema || tb.Name != step.name.Table || tb.Columns[0].Name != step.column {
			t.Fatalf("%s: got %s.%s with column %s, want %s with column %s", step.what, tb.Schema, tb.Name, tb.Columns[0].Name, step.name, step.column)
		}
	}
	if len(c.m) != 1 {
		t.Fatalf("%d entries after forgetting one of two, want 1", len(c.m))
	}
}
