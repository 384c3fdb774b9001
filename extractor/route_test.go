package extractor

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/filter"
)

func routingExtractor(t testing.TB) *Extractor {
	rules, err := filter.New(&config.Task{ReplicateDoDB: []*config.ReplicateDB{
		{TableSchema: "shop", TableSchemaRename: "shop2", Tables: []*config.Table{{TableRegex: `^o_(\w+)$`, TableRename: "orders_$1"}}},
		{TableSchema: "plain"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &Extractor{rules: rules, log: hclog.NewNullLogger(), shapes: map[string]*shape{}}
}

func TestRouteDDL(t *testing.T) {
	e := routingExtractor(t)
	cases := []struct{ sql, schema, want, wantSchema string }{
		{"ALTER TABLE o_1 ADD COLUMN c INT", "shop", "ALTER TABLE `shop2`.`orders_1` ADD COLUMN `c` INT", "shop2"},
		{"RENAME TABLE shop.o_1 TO shop.other", "plain", "RENAME TABLE `shop2`.`orders_1` TO `shop2`.`other`", "shop2"},
		{"CREATE TABLE o_x LIKE o_y", "shop", "CREATE TABLE `shop2`.`orders_x` LIKE `shop2`.`orders_y`", "shop2"},
		{"CREATE DATABASE shop", "plain", "CREATE DATABASE `shop2`", ""},
		{"ALTER TABLE plain.t ADD c INT", "elsewhere", "ALTER TABLE plain.t ADD c INT", ""}, // not renamed: as written
		{"ALTER TABLE t ADD c INT", "plain", "ALTER TABLE t ADD c INT", "plain"},
		{"ALTER TABLE shop.unlisted ADD c INT", "shop", "", ""}, // not selected
	}
	for _, c := range cases {
		d, err := e.routeDDL(context.Background(), c.sql, c.schema)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		switch {
		case c.want == "" && d != nil:
			t.Errorf("%s: replicated as %+v", c.sql, d)
		case c.want != "" && (d == nil || d.SQL != c.want || d.Schema != c.wantSchema):
			t.Errorf("%s: got %+v, want %q under %q", c.sql, d, c.want, c.wantSchema)
		}
	}
	if _, err := e.routeDDL(context.Background(), "ALTER TABLE o_1 ADD SYSTEM VERSIONING", "shop"); err == nil ||
		!strings.Contains(err.Error(), "does not parse") {
		t.Fatalf("unparsed DDL in a renamed schema: %v", err)
	}
}

// FuzzRouteDDL: any statement is routed or refused; a rewritten one parses
// again.
func FuzzRouteDDL(f *testing.F) {
	for _, s := range []string{"ALTER TABLE o_1 ADD COLUMN c INT", "RENAME TABLE o_1 TO o_2, plain.a TO plain.b",
		"DROP TABLE IF EXISTS o_1, shop.o_2", "CREATE TABLE o_3 (id INT PRIMARY KEY, KEY (id))", "TRUNCATE o_1",
		"CREATE INDEX i ON o_1 (a)", "DROP DATABASE shop", "CREATE TEMPORARY TABLE x (a INT)"} {
		f.Add(s, uint8(0))
	}
	e := routingExtractor(f)
	// The default schema comes from the server, which only has valid names.
	schemas := []string{"shop", "plain", "", "other"}
	f.Fuzz(func(t *testing.T, sql string, pick uint8) {
		d, err := e.routeDDL(context.Background(), sql, schemas[int(pick)%len(schemas)])
		if err != nil || d == nil || d.SQL == sql {
			return
		}
		if _, err := parseOne(d.SQL); err != nil {
			t.Fatalf("%q became %q, which does not parse: %v", sql, d.SQL, err)
		}
	})
}

func TestRefersToPlainIndex(t *testing.T) {
	tb := &change.Table{Columns: []change.Column{{Name: "id"}, {Name: "a"}, {Name: "b"}}, Uniques: [][]int{{0}, {1, 2}}}
	for _, c := range []struct {
		refs [][]string
		want bool
	}{
		{nil, false},
		{[][]string{{"ID"}}, false},             // the primary key
		{[][]string{{"a", "b"}, {"id"}}, false}, // a unique key, in its order
		{[][]string{{"b", "a"}}, true},          // not in a unique key's order
		{[][]string{{"a"}}, true},               // a prefix of one: a plain index serves it
	} {
		if got := refersToPlainIndex(tb, c.refs); got != c.want {
			t.Errorf("refs %v: %v, want %v", c.refs, got, c.want)
		}
	}
}
