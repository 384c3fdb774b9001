package extractor

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/filter"
)

// recorder keeps what an extractor sends.
type recorder struct{ txns []change.Txn }

func (r *recorder) Hello(context.Context) (*change.Checkpoint, error) {
	return &change.Checkpoint{}, nil
}

func (r *recorder) Send(_ context.Context, m *change.Message) error {
	r.txns = append(r.txns, m.Txns...)
	return nil
}

// binlogExtractor is an extractor of the MariaDB binlog for task, sending
// through sender.
func binlogExtractor(t *testing.T, task *config.Task, sender Sender) *Extractor {
	t.Helper()
	task.Defaults()
	rules, err := filter.New(task)
	if err != nil {
		t.Fatal(err)
	}
	return &Extractor{cfg: Config{Task: task, Sender: sender}, log: hclog.NewNullLogger(), rules: rules,
		flavor: change.FlavorMariaDB, shapes: map[string]*shape{}}
}

// binlogTxn is one source transaction as binlog events.
type binlogTxn struct {
	seq uint64
	// rows are (schema, table, first column) of each insert, in order.
	rows [][3]string
	ddl  string
}

func (b binlogTxn) events() []*replication.BinlogEvent {
	h := func(t replication.EventType) *replication.EventHeader {
		return &replication.EventHeader{EventType: t, Timestamp: 1, ServerID: 2, LogPos: 1000, EventSize: 100}
	}
	evs := []*replication.BinlogEvent{{Header: h(replication.MARIADB_GTID_EVENT),
		Event: &replication.MariadbGTIDEvent{GTID: gomysqlGTID(b.seq)}}}
	if b.ddl != "" {
		return append(evs, &replication.BinlogEvent{Header: h(replication.QUERY_EVENT),
			Event: &replication.QueryEvent{Schema: []byte("shop"), Query: []byte(b.ddl)}})
	}
	evs = append(evs, &replication.BinlogEvent{Header: h(replication.QUERY_EVENT), Event: &replication.QueryEvent{Query: []byte("BEGIN")}})
	for _, r := range b.rows {
		tm := &replication.TableMapEvent{Schema: []byte(r[0]), Table: []byte(r[1]), ColumnCount: 2,
			ColumnType: []byte{0x0f, 0x03}} // VARCHAR, LONG
		evs = append(evs, &replication.BinlogEvent{Header: h(replication.WRITE_ROWS_EVENTv1),
			Event: &replication.RowsEvent{Table: tm, Rows: [][]any{{r[2], int32(1)}}}})
	}
	return append(evs, &replication.BinlogEvent{Header: h(replication.XID_EVENT), Event: &replication.XIDEvent{}})
}

func gomysqlGTID(seq uint64) gomysql.MariadbGTID {
	return gomysql.MariadbGTID{DomainID: 0, ServerID: 2, SequenceNumber: seq}
}

// With skip_dtle_applied, the transactions a dtle applier committed (they
// write dtle.checkpoint; its DDL carries the applier's mark) go empty, so
// their GTIDs still count, and nothing else changes; with
// skip_dtle_applied_by, only the named job's are dropped.
func TestSkipDtleAppliedDropsExactlyTheAppliedTransactions(t *testing.T) {
	binlog := []binlogTxn{
		{seq: 1, rows: [][3]string{{"shop", "t", "user write"}}},
		{seq: 2, rows: [][3]string{{"shop", "t", "applied by fwd"}, {"dtle", "checkpoint", "fwd"}}},
		{seq: 3, rows: [][3]string{{"shop", "t", "applied by other"}, {"dtle", "checkpoint", "other"}}},
		{seq: 4, ddl: change.AppliedMark("fwd") + "ALTER TABLE t ADD c INT"},
		{seq: 5, ddl: "ALTER TABLE t ADD d INT"},
		{seq: 6, rows: [][3]string{{"shop", "t", "user write 2"}, {"shop", "t", "same txn"}}},
		// A user's transaction that writes another dtle table is the user's.
		{seq: 7, rows: [][3]string{{"shop", "t", "user write 3"}, {"dtle", "copy_progress", "fwd"}}},
		// The peer recording what this job sent it: not sent back at all.
		{seq: 8, rows: [][3]string{{"dtle", "checkpoint", "fwd"}}},
	}
	for _, tc := range []struct {
		name    string
		skip    bool
		by      string
		dropped []uint64
		// unsent are left out whole (their GTIDs are still read).
		unsent []uint64
	}{
		{"off: everything goes, as before", false, "", nil, nil},
		{"any dtle job's", true, "", []uint64{2, 3, 4}, []uint64{8}},
		{"only the peer job's", true, "fwd", []uint64{2, 4}, []uint64{8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := &config.Task{ReplicateDoDB: []*config.ReplicateDB{{TableSchema: "shop"}},
				SkipDtleApplied: tc.skip, SkipDtleAppliedBy: tc.by}
			rec := &recorder{}
			e := binlogExtractor(t, task, rec)
			g := txnGrouper{e: e, max: 1, timeout: time.Second}
			for _, b := range binlog {
				for _, ev := range b.events() {
					if err := g.handle(context.Background(), ev); err != nil {
						t.Fatal(err)
					}
				}
			}
			var sent []binlogTxn
			for _, b := range binlog {
				if !slices.Contains(tc.unsent, b.seq) {
					sent = append(sent, b)
				}
			}
			if len(rec.txns) != len(sent) {
				t.Fatalf("sent %d transactions, want %d (dropped ones empty)", len(rec.txns), len(sent))
			}
			for i, txn := range rec.txns {
				seq := sent[i].seq
				empty := len(txn.Changes) == 0 && txn.DDL == nil
				// 8 holds no replicated row: empty whatever the option.
				if want := slices.Contains(tc.dropped, seq) || seq == 8; empty != want {
					t.Errorf("transaction %d (%s): sent empty = %v, want %v (%+v)", seq, txn.GTID, empty, want, txn)
				}
				for _, c := range txn.Changes {
					if c.Schema == change.CheckpointSchema {
						t.Errorf("transaction %d sent a change of %s.%s", seq, c.Schema, c.Table)
					}
				}
			}
			if n := len(rec.txns[5].Changes); n != 2 {
				t.Errorf("a user's transaction after a dropped one has %d changes, want 2", n)
			}
		})
	}
}

// A two-way source holds a transaction over the message limit whole until
// its commit: the other direction's applier may write its checkpoint row
// last, and parts sent before it would go back where they came from.
func TestSkipDtleAppliedSendsNoPartsOfABigAppliedTransaction(t *testing.T) {
	big := strings.Repeat("x", 64<<10)
	var rows [][3]string
	for range (maxMessageBytes / len(big)) + 8 {
		rows = append(rows, [3]string{"shop", "t", big})
	}
	rows = append(rows, [3]string{"dtle", "checkpoint", "fwd"}) // written last, as a group's
	for _, skip := range []bool{false, true} {
		task := &config.Task{ReplicateDoDB: []*config.ReplicateDB{{TableSchema: "shop"}}, SkipDtleApplied: skip}
		rec := &recorder{}
		e := binlogExtractor(t, task, rec)
		g := txnGrouper{e: e, max: 1, timeout: time.Second}
		for _, ev := range (binlogTxn{seq: 1, rows: rows}).events() {
			if err := g.handle(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
		}
		var sentRows int
		for _, txn := range rec.txns {
			sentRows += len(txn.Changes)
		}
		switch {
		case skip && sentRows != 0:
			t.Errorf("two-way: %d rows of a transaction dtle applied were sent back", sentRows)
		case !skip && (len(rec.txns) < 2 || sentRows != len(rows)-1):
			t.Errorf("one-way: %d messages with %d rows, want the transaction in parts with all %d", len(rec.txns), sentRows, len(rows)-1)
		}
	}
}
