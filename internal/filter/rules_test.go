package filter

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

func TestRulesSelectAndRename(t *testing.T) {
	r, err := New(&config.Task{
		ReplicateDoDB: []*config.ReplicateDB{
			{TableSchema: "shop", TableSchemaRename: "shop2", Tables: []*config.Table{
				{TableName: "orders", TableRename: "orders_copy", ColumnMapFrom: []string{"id", "total"}, ColumnMapTo: []string{"order_id", "amount"}},
				{TableRegex: `^log_(\d+)$`, TableRename: "archive_${1}", IgnoreEvent: []string{"Delete", "truncate table"}},
			}},
			{TableSchemaRegex: `^tenant_(\w+)$`, TableSchemaRename: "t_$1", IgnoreSQL: []string{`(?i)^drop`}},
			{TableSchema: "plain"},
		},
		ReplicateIgnoreDB: []*config.ReplicateDB{
			{TableSchema: "plain", Tables: []*config.Table{{TableName: "secret"}}},
			{TableSchemaRegex: "^tenant_test"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := func(schema, table string) string {
		tg := r.Table(schema, table)
		if tg == nil {
			return "-"
		}
		return tg.Schema + "." + tg.Table
	}
	for in, want := range map[string]string{
		"shop.orders":   "shop2.orders_copy",
		"shop.log_42":   "shop2.archive_42",
		"shop.other":    "-",
		"tenant_a.x":    "t_a.x",
		"tenant_test.x": "-",
		"plain.x":       "plain.x",
		"plain.secret":  "-",
		"mysql.user":    "-",
		"dtle.cp":       "-",
		"elsewhere.x":   "-",
	} {
		s, tb, _ := strings.Cut(in, ".")
		if g := got(s, tb); g != want {
			t.Errorf("%s: got %s, want %s", in, g, want)
		}
	}
	orders := r.Table("shop", "orders")
	if !reflect.DeepEqual(orders.From, []string{"id", "total"}) || !reflect.DeepEqual(orders.To, []string{"order_id", "amount"}) || !orders.Reshapes() {
		t.Fatalf("orders: %+v", orders)
	}
	logs := r.Table("shop", "log_1")
	if !logs.Ignores(Delete) || !logs.Ignores(TruncateTable) || logs.Ignores(Insert) {
		t.Fatalf("log events: %+v", logs.events)
	}
	tenant := r.Table("tenant_b", "x")
	if !tenant.IgnoresSQL("DROP TABLE x") || tenant.IgnoresSQL("ALTER TABLE x ADD c INT") {
		t.Fatal("ignore_sql")
	}
	if s := r.Schema("tenant_b"); s == nil || s.Schema != "t_b" {
		t.Fatalf("schema tenant_b: %+v", s)
	}
	if r.Schema("tenant_test") != nil || r.Schema("mysql") != nil || r.Schema("elsewhere") != nil {
		t.Fatal("schema selected that should not be")
	}
	unmatched := r.Unmatched([]tableinfo.Name{{Schema: "shop", Table: "orders"}, {Schema: "plain", Table: "x"}})
	want := []string{
		"replicate_do_db[0].tables[1]: no table on the source matches",
		"replicate_do_db[1]: no schema on the source matches",
		"replicate_ignore_db[0].tables[0]: no table on the source matches",
		"replicate_ignore_db[1]: no schema on the source matches",
	}
	if !reflect.DeepEqual(unmatched, want) {
		t.Fatalf("unmatched:\n%s", strings.Join(unmatched, "\n"))
	}
}

func TestEmptyDoListIsEverythingButSystem(t *testing.T) {
	r, err := New(&config.Task{})
	if err != nil {
		t.Fatal(err)
	}
	if tg := r.Table("a", "b"); tg == nil || tg.Schema != "a" || tg.Table != "b" || tg.Reshapes() {
		t.Fatalf("a.b: %+v", tg)
	}
	for _, s := range []string{"mysql", "information_schema", "performance_schema", "sys", "dtle"} {
		if r.Table(s, "x") != nil || r.Schema(s) != nil {
			t.Errorf("%s replicated", s)
		}
	}
}

func TestRuleErrorsNameTheRule(t *testing.T) {
	_, err := New(&config.Task{ReplicateDoDB: []*config.ReplicateDB{
		{TableSchemaRegex: "(", Tables: []*config.Table{
			{TableName: "a", Where: "id >"},
			{TableName: "b", ColumnMapFrom: []string{"x", "y"}, ColumnMapTo: []string{"z"}},
			{TableName: "c", IgnoreEvent: []string{"explode"}},
			{TableName: "d", IgnoreSQL: []string{"["}},
			{TableName: "e", ColumnMapFrom: []string{"x", "X"}},
			{},
		}},
	}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"replicate_do_db[0].table_schema_regex:",
		"replicate_do_db[0].tables[0].where:",
		"replicate_do_db[0].tables[1].column_map_to: 1 names for 2 columns",
		`replicate_do_db[0].tables[2].ignore_event[0]: unknown event "explode"`,
		"replicate_do_db[0].tables[3].ignore_sql[0]:",
		`replicate_do_db[0].tables[4].column_map_from[1]: column "X" is listed twice`,
		"replicate_do_db[0].tables[5]: table_name or table_regex is required",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
