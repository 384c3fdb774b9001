package tableinfo

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"testing"

	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

var pair *sandbox.Pair

func TestMain(m *testing.M) { sandboxtest.RunTests(m, &pair) }

// countingQuerier counts the queries it passes on.
type countingQuerier struct {
	q       querier
	queries int
}

func (c *countingQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.queries++
	return c.q.QueryContext(ctx, query, args...)
}

// keyKinds are the tables of the test, in turn: the keys the copy tells
// apart, and a view.
var keyKinds = []string{
	"(id INT NOT NULL, k INT NOT NULL, c CHAR(8), PRIMARY KEY (id), KEY (k))",
	"(id INT NOT NULL, k INT NOT NULL, c CHAR(8), UNIQUE KEY (k, id))",
	"(id INT, k INT NOT NULL, c CHAR(8), UNIQUE KEY (id), UNIQUE KEY (k))",
	"(id INT NOT NULL, c VARCHAR(100) NOT NULL, UNIQUE KEY (c(10)), UNIQUE KEY (id))",
	"(id INT NOT NULL, k INT NOT NULL, c CHAR(8))",
}

// TestLoadSchemaReadsEveryTableInTwoQueries checks that LoadSchema reads
// what Load reads table by table, in two queries however many tables the
// schema holds: a query per table on information_schema makes MariaDB open
// tables for each, which made the copy of many tables slow.
func TestLoadSchemaReadsEveryTableInTwoQueries(t *testing.T) {
	ctx := context.Background()
	const schema = "tableinfo_many"
	db := sandboxtest.OpenDB(t, pair.Source)
	stmts := []string{"DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema}
	const n = 60
	for i := range n {
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s.t%02d %s", schema, i, keyKinds[i%len(keyKinds)]))
	}
	stmts = append(stmts, "CREATE VIEW "+schema+".v AS SELECT id FROM "+schema+".t00")
	sandboxtest.Exec(t, db, stmts)
	t.Cleanup(func() { sandboxtest.Exec(t, db, []string{"DROP DATABASE IF EXISTS " + schema}) })

	cq := &countingQuerier{q: db}
	all, err := LoadSchema(ctx, cq, schema)
	if err != nil {
		t.Fatal(err)
	}
	if cq.queries != 2 {
		t.Fatalf("LoadSchema ran %d queries for %d tables, want 2", cq.queries, n)
	}
	for i := range n {
		name := fmt.Sprintf("t%02d", i)
		one, err := Load(ctx, db, schema, name)
		if err != nil {
			t.Fatal(err)
		}
		if got := all[name]; !reflect.DeepEqual(got, one) {
			t.Fatalf("%s: LoadSchema read %+v, Load %+v", name, got, one)
		}
	}
	wantKeys := [][]int{{0}, {1, 0}, {1}, {1}, nil} // a prefix index may be the key: its whole values are unique too
	wantUniques := []int{1, 1, 2, 2, 0}
	for i := range keyKinds {
		tb := all[fmt.Sprintf("t%02d", i)]
		if !reflect.DeepEqual(tb.Key, wantKeys[i]) || len(tb.Uniques) != wantUniques[i] {
			t.Errorf("table %d %s: key %v, uniques %v; want key %v and %d uniques", i, keyKinds[i], tb.Key, tb.Uniques, wantKeys[i], wantUniques[i])
		}
	}
	if _, err := Load(ctx, db, schema, "missing"); err == nil {
		t.Fatal("Load of a missing table did not fail")
	}
}
