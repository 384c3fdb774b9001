package repltest

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/rowdiff"
)

// Two-way sync: job A→B and its reverse B→A run at once, each with
// skip_dtle_applied naming the other. Writes on both sides (different
// keys, counters incremented on one side, a DDL) converge row by row; a
// counter ends at its count, not doubled; once writes stop, both binlogs
// stop growing (no loop).
func TestTwoWaySyncConvergesWithoutLoops(t *testing.T) {
	const schema = "twoway"
	a, b := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, a, b, schema)
	exec(t, a, "USE "+schema, "CREATE TABLE t (id INT PRIMARY KEY, side VARCHAR(8), n INT NOT NULL DEFAULT 0)",
		"INSERT INTO t VALUES (1, 'a', 0), (1001, 'b', 0)")
	natsURL := startNATS(t)
	fwd, rev := jobID("fwd"), jobID("rev")
	fSrc, fDest := tasks(schema)
	fSrc.SkipDtleApplied, fSrc.SkipDtleAppliedBy = true, rev
	fd := startDest(t, natsURL, fwd, fDest)
	startSrc(t, natsURL, fwd, fSrc)
	waitEvent(t, fd, "job_stage_incr")
	waitSame(t, a, b, schema, 30*time.Second)

	rSrc, rDest := tasks(schema)
	rSrc.ConnectionConfig, rDest.ConnectionConfig = pair.Dest, pair.Source
	rSrc.Gtid = executedGTIDs(t, b) // the data is there: no copy
	rSrc.SkipDtleApplied, rSrc.SkipDtleAppliedBy = true, fwd
	rd := startDest(t, natsURL, rev, rDest)
	startSrc(t, natsURL, rev, rSrc)
	waitEvent(t, rd, "job_stage_incr")

	for i := range 20 {
		exec(t, a, "USE "+schema, fmt.Sprintf("INSERT INTO t VALUES (%d, 'a', 0)", 2+i), "UPDATE t SET n = n + 1 WHERE id = 1")
		exec(t, b, "USE "+schema, fmt.Sprintf("INSERT INTO t VALUES (%d, 'b', 0)", 1002+i), "UPDATE t SET n = n + 1 WHERE id = 1001")
	}
	waitSame(t, a, b, schema, 60*time.Second)
	// Rows that came from the other side, changed where they arrived.
	exec(t, b, "USE "+schema, "UPDATE t SET n = n + 100 WHERE id = 5")
	exec(t, a, "USE "+schema, "UPDATE t SET n = n + 100 WHERE id = 1005", "ALTER TABLE t ADD COLUMN note VARCHAR(8) DEFAULT 'x'")
	waitSame(t, a, b, schema, 60*time.Second)
	for _, db := range []*sql.DB{a, b} {
		want := map[int]int{1: 20, 1001: 20, 5: 100, 1005: 100}
		for id, n := range want {
			var got int
			if err := db.QueryRowContext(context.Background(), "SELECT n FROM "+schema+".t WHERE id = ?", id).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != n {
				t.Errorf("row %d: n = %d, want %d (a change applied twice or lost)", id, got, n)
			}
		}
	}
	// No loop: after a quiet spell, neither binlog grows any more.
	settle := func() (int, int) { return gtidCount(executedGTIDs(t, a)), gtidCount(executedGTIDs(t, b)) }
	deadline := time.Now().Add(30 * time.Second)
	pa, pb := settle()
	for {
		time.Sleep(3 * time.Second)
		na, nb := settle()
		if na == pa && nb == pb {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the servers keep writing with no user writes: a loop (A %d→%d, B %d→%d)", pa, na, pb, nb)
		}
		pa, pb = na, nb
	}
	if err := rowdiff.Schema(context.Background(), a, b, schema); err != nil {
		t.Fatal(err)
	}
}
