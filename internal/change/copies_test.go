package change

import "testing"

// Names with dots must not collide: "a.b"."c" and "a"."b.c" were one key
// while tables were keyed by "schema.table".
func TestCopySnapshotsKeepDottedNamesApart(t *testing.T) {
	const flavor = FlavorMariaDB
	tables := []TableProgress{
		{Schema: "a.b", Table: "c", Done: true, Snapshot: "0-1-10"},
		{Schema: "a", Table: "b.c", Done: true, Snapshot: "0-1-5"},
	}
	c, err := NewCopySnapshots(flavor, tables, nil)
	if err != nil || c == nil {
		t.Fatalf("snapshots: %v %v", c, err)
	}
	cases := []struct {
		table TableName
		gtid  string
		want  bool
	}{
		{TableName{"a.b", "c"}, "0-1-8", true},
		{TableName{"a", "b.c"}, "0-1-8", false},
		{TableName{"a", "b.c"}, "0-1-5", true},
		{TableName{"a.b.c", ""}, "0-1-1", false},
	}
	for _, tc := range cases {
		got, err := c.Holds(tc.table, tc.gtid)
		if err != nil || got != tc.want {
			t.Errorf("Holds(%q.%q, %s) = %v, %v; want %v", tc.table.Schema, tc.table.Table, tc.gtid, got, err, tc.want)
		}
	}
}

func TestBinlogStartIsTheEarliestSnapshot(t *testing.T) {
	start, err := BinlogStart(FlavorMariaDB, "0-1-20", []TableProgress{
		{Schema: "s", Table: "x", Done: true, Snapshot: "0-1-12"},
		{Schema: "s", Table: "y", Done: true, Snapshot: "0-1-15"},
	})
	if err != nil || start.String() != "0-1-12" {
		t.Fatalf("start %v, %v; want 0-1-12", start, err)
	}
	if _, err := BinlogStart(FlavorMariaDB, "0-1-20", []TableProgress{{Schema: "s", Table: "x", Snapshot: "garbage"}}); err == nil {
		t.Fatal("a bad table position was accepted")
	}
}
