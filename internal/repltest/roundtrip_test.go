package repltest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A quiet source's transaction reaches the destination in one round trip,
// with parallel workers too: its rows, the checkpoint and the COMMIT in one
// text. The destination's general log holds one entry per request a client
// sends, so the entry that carries the row must carry the COMMIT too.
func TestQuietTransactionTakesOneRoundTrip(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("parallel_workers=%d", workers), func(t *testing.T) {
			oneRoundTrip(t, fmt.Sprintf("repl_one_trip_%d", workers), workers)
		})
	}
}

func oneRoundTrip(t *testing.T, schema string, workers int) {
	ctx := context.Background()
	table := schema + ".t"
	c := startCaughtUp(t, startDirect(t), schema, "onetrip", workers, "CREATE TABLE "+table+" (id INT PRIMARY KEY, v VARCHAR(40))")
	src, dst, s, dest := c.src, c.dst, c.s, c.dest

	var output string
	var on int
	if err := dst.QueryRowContext(ctx, "SELECT @@GLOBAL.log_output, @@GLOBAL.general_log").Scan(&output, &on); err != nil {
		t.Fatal(err)
	}
	exec(t, dst, "SET GLOBAL log_output = 'TABLE'", "SET GLOBAL general_log = 1")
	t.Cleanup(func() {
		exec(t, dst, fmt.Sprintf("SET GLOBAL general_log = %d", on), "SET GLOBAL log_output = '"+output+"'")
	})
	for i := range 3 {
		mark := fmt.Sprintf("quiet-%d-%d", i, time.Now().UnixNano())
		exec(t, src, fmt.Sprintf("INSERT INTO %s VALUES (%d, '%s')", table, i, mark))
		waitSame(t, src, dst, schema, 30*time.Second)
		rows := queryAll(t, dst, "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log "+
			"WHERE command_type = 'Query' AND CONVERT(argument USING utf8mb4) LIKE '%"+mark+"%' "+
			"AND CONVERT(argument USING utf8mb4) NOT LIKE '%general_log%'") // not this query itself
		if len(rows) != 1 {
			t.Fatalf("transaction %d: %d requests carry its row, want 1: %v", i, len(rows), rows)
		}
		text := rows[0][0]
		if !strings.Contains(text, "START TRANSACTION") || !strings.Contains(text, "COMMIT") || !strings.Contains(text, "checkpoint") {
			t.Fatalf("transaction %d went in more than one round trip; the request with its row:\n%s", i, text)
		}
	}
	s.stop(t)
	dest.stop(t)
}
