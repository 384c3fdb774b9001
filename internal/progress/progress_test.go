package progress

import (
	"testing"
	"time"
)

// A destination that stops committing shows all it applied once a second
// has passed, though the commit itself came too soon to publish it.
func TestAppliedGTIDSetPublishesTheLastCommit(t *testing.T) {
	var d Dest
	calls := 0
	set := func(s string) func() string { return func() string { calls++; return s } }
	d.Committed(1, 1, 0, "bin.1", 10, set("0-1-1"))
	d.Committed(1, 1, 0, "bin.1", 20, set("0-1-2")) // within the second: pending
	if got := d.AppliedGTIDSet(); got != "0-1-1" || calls != 1 {
		t.Fatalf("right after: %q (%d computations), want 0-1-1 (1)", got, calls)
	}
	deadline := time.Now().Add(3 * time.Second)
	for d.AppliedGTIDSet() != "0-1-2" {
		if time.Now().After(deadline) {
			t.Fatal("the last commit's set was never published")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if calls != 2 {
		t.Fatalf("%d computations of the set, want 2", calls)
	}
	d.AppliedGTIDSet()
	if calls != 2 {
		t.Fatal("the set was computed again with nothing new committed")
	}
}

func TestCopyTables(t *testing.T) {
	var s Source
	if len(s.Tables()) != 0 {
		t.Fatal("tables before any copy")
	}
	s.CopyTables([]TableCopy{{Schema: "d", Table: "a", Estimate: 10}, {Schema: "d", Table: "b", Done: true}})
	s.TableRows("d", "a", 4)
	s.TableRows("d", "a", 3)
	s.TableRows("d", "zz", 3) // not the job's: ignored
	got := s.Tables()
	if len(got) != 2 || got[0].Rows != 7 || got[0].Done || !got[1].Done {
		t.Fatalf("tables: %+v", got)
	}
	got[0].Rows = 100 // a copy
	s.TableDone("d", "a")
	if got := s.Tables(); got[0].Rows != 7 || !got[0].Done {
		t.Fatalf("after done: %+v", got)
	}
}
