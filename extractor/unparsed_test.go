package extractor

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A statement the parser cannot read does not reach the destination past
// the schema rules: before, MariaDB's CREATE OR REPLACE TABLE other.t, run
// with a replicated default schema, was shipped as written and created
// other.t on the destination; CREATE OR REPLACE DATABASE other was run as
// if it were the default schema's.
func TestUnparsedDDLKeepsToTheRules(t *testing.T) {
	e := routingExtractor(t) // replicates shop (renamed to shop2) and plain
	ctx := context.Background()
	skipped := []string{
		"CREATE OR REPLACE TABLE other.t (a INT) WITH SYSTEM VERSIONING",
		"CREATE OR REPLACE DATABASE other",
	}
	for _, sql := range skipped {
		if d, err := e.routeDDL(ctx, sql, "plain"); err != nil || d != nil {
			t.Errorf("%s: routed to %+v, %v; want left out", sql, d, err)
		}
	}
	if d, err := e.routeDDL(ctx, "CREATE OR REPLACE TABLE plain.t (a INT) WITH SYSTEM VERSIONING", "plain"); err != nil || d == nil {
		t.Errorf("a replicated table: %+v, %v", d, err)
	}
	for _, sql := range []string{
		"CREATE OR REPLACE TABLE t (a INT, FOREIGN KEY (a) REFERENCES other.p (a)) WITH SYSTEM VERSIONING",
		"CREATE OR REPLACE TABLE shop.t (a INT) WITH SYSTEM VERSIONING",
		"CREATE OR REPLACE DATABASE shop",
	} {
		_, err := e.routeDDL(ctx, sql, "plain")
		if !errors.Is(err, ErrBadRule) || !strings.Contains(err.Error(), "ignore_sql") {
			t.Errorf("%s: %v, want ErrBadRule with the fix", sql, err)
		}
	}
}
