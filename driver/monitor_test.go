package driver

import (
	"testing"

	"github.com/dtle-io/dtle/internal/progress"
)

func TestCopyTables(t *testing.T) {
	tables := []progress.TableCopy{
		{Schema: "d", Table: "a", SourceSchema: "s", SourceTable: "a", Estimate: 100, Rows: 100, Done: true},
		{Schema: "d", Table: "b", SourceSchema: "s", SourceTable: "b", Estimate: 1000, Rows: 250},
		{Schema: "d", Table: "c", SourceSchema: "s", SourceTable: "c", Estimate: 500},
		{Schema: "d", Table: "e", SourceSchema: "s", SourceTable: "e"},
		{Schema: "d", Table: "f", SourceSchema: "s", SourceTable: "f", Estimate: 10, Rows: 30},
	}
	got := copyTables(tables, 250)
	for i, want := range []struct {
		pct float64
		eta string
	}{
		{100, "0s"},    // done
		{25, "3s"},     // 750 rows left at 250 a second
		{0, "5s"},      // after b: 750 + 500 rows
		{0, "unknown"}, // no estimate
		{99.9, "5s"},   // past its estimate, not done: nothing more counted
	} {
		if g := got[i]; g.Percent != want.pct || g.ETA != want.eta {
			t.Errorf("table %s: %.1f%% eta %s, want %.1f%% eta %s", g.DestTable, g.Percent, g.ETA, want.pct, want.eta)
		}
	}
	if got[0].SourceSchema != "s" || got[0].DestSchema != "d" || got[1].Rows != 250 || got[1].EstimatedRows != 1000 {
		t.Errorf("names or counts: %+v", got[:2])
	}
	if copyTables(nil, 1) != nil {
		t.Error("no tables: want none")
	}
	if g := copyTables(tables[1:2], 0); g[0].ETA != "unknown" {
		t.Errorf("no rate: eta %s", g[0].ETA)
	}
}
