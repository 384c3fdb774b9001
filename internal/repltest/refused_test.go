package repltest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/applier"
	"github.com/dtle-io/dtle/internal/change"
)

// A transaction the destination refuses stops the job at that transaction.
// It arrives in a group with others, sent as statements several per round
// trip with the group's checkpoint and COMMIT: the failed group leaves
// nothing behind, its transactions are applied again one at a time, and
// everything before the refused one is committed with its checkpoint while
// nothing of it, or after it, is. The error names its GTID, so that an
// operator can skip it.
func TestRefusedTransactionStopsTheJobAtIt(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("parallel_workers=%d", workers), func(t *testing.T) {
			refusedTransaction(t, fmt.Sprintf("repl_refused_%d", workers), workers)
		})
	}
}

func refusedTransaction(t *testing.T, schema string, workers int) {
	ctx := context.Background()
	table := schema + ".t"
	natsURL := startNATS(t)
	c := startCaughtUp(t, natsURL, schema, "refused", workers,
		"CREATE TABLE "+table+" (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO "+table+" VALUES (1, 'a'), (2, 'b')")
	src, dst, job, destTask, s, dest := c.src, c.dst, c.job, c.destTask, c.s, c.dest

	// With the destination stopped, the source's transactions pile up and
	// come back in groups; the destination now refuses one of them.
	dest.stop(t)
	exec(t, dst, "ALTER TABLE "+table+" ADD CONSTRAINT short CHECK (CHAR_LENGTH(v) < 5)")
	for i := 10; i < 20; i++ {
		exec(t, src, fmt.Sprintf("UPDATE %s SET v = 'u%d' WHERE id = 1", table, i),
			fmt.Sprintf("INSERT INTO %s VALUES (%d, 'ok')", table, i))
	}
	var before string
	if err := src.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&before); err != nil {
		t.Fatal(err)
	}
	conn, err := src.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var bad string
	if _, err := conn.ExecContext(ctx, "INSERT INTO "+table+" VALUES (20, 'much too long')"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT @@last_gtid").Scan(&bad); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()
	for i := 21; i < 30; i++ {
		exec(t, src, fmt.Sprintf("INSERT INTO %s VALUES (%d, 'ok')", table, i), fmt.Sprintf("DELETE FROM %s WHERE id = 2", table))
	}

	dest = startDest(t, natsURL, job, destTask)
	select {
	case <-dest.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("the destination did not stop at the refused transaction; it holds %s", pairsOf(t, dst, "SELECT id, v FROM "+table+" ORDER BY id"))
	}
	var te *applier.TxnError
	if err := dest.Err(); !errors.As(err, &te) || te.GTID != bad {
		t.Fatalf("the destination ended with %v, want the TxnError of %s", err, bad)
	}
	s.stop(t)

	// Row by row, the destination is the source as it was before the
	// refused transaction: the rows after it are the source's now, so they
	// are compared by what the source wrote.
	got := pairsOf(t, dst, "SELECT id, v FROM "+table+" ORDER BY id")
	want := "1=u19 2=b 10=ok 11=ok 12=ok 13=ok 14=ok 15=ok 16=ok 17=ok 18=ok 19=ok"
	if got != want {
		t.Errorf("destination rows:\n%s\nwant (the source's before the refused transaction):\n%s", got, want)
	}
	if srcRows := pairsOf(t, src, "SELECT id, v FROM "+table+" WHERE id < 20 ORDER BY id"); srcRows != strings.Replace(want, "2=b ", "", 1) {
		t.Errorf("the source's rows before id 20 are %s", srcRows)
	}
	var applied string
	if err := dst.QueryRowContext(ctx, "SELECT gtid_set FROM "+applier.CheckpointSchema+".checkpoint WHERE job_id = ?", job).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	a, err := change.ParseGTIDSet(change.FlavorMariaDB, applied)
	if err != nil {
		t.Fatal(err)
	}
	b, err := change.ParseGTIDSet(change.FlavorMariaDB, before)
	if err != nil {
		t.Fatal(err)
	}
	if !a.ContainsSet(b) || !b.ContainsSet(a) {
		t.Errorf("the checkpoint holds %s, want the source's set before the refused transaction, %s", applied, before)
	}
}

// pairsOf renders a two-column result as "k=v k=v".
func pairsOf(t *testing.T, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, k+"="+v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, " ")
}
