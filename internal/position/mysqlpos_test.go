package position

import (
	"errors"
	"strings"
	"testing"
)

// A binlog file as MySQL's SHOW BINLOG EVENTS lists it (gtid_mode ON):
// its Previous_gtids event, then transactions, each starting at its Gtid
// event.
var mysqlFile = []binlogEvent{
	{4, 126, "Format_desc", "Server ver: 8.0.36, Binlog ver: 4"},
	{126, 197, "Previous_gtids", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n8f8d2ad4-71ca-11e1-9e33-c80aa9429562:1-2"},
	{197, 276, "Gtid", "SET @@SESSION.GTID_NEXT= '3e11fa47-71ca-11e1-9e33-c80aa9429562:6'"},
	{276, 351, "Query", "BEGIN"},
	{351, 402, "Table_map", "table_id: 90 (db.t)"},
	{402, 446, "Write_rows", "table_id: 90 flags: STMT_END_F"},
	{446, 477, "Xid", "COMMIT /* xid=21 */"},
	{477, 556, "Gtid", "SET @@SESSION.GTID_NEXT= '3e11fa47-71ca-11e1-9e33-c80aa9429562:7'"},
	{556, 690, "Query", "create table db.u (id int primary key)"},
}

func scanTo(events []binlogEvent, pos int64) (string, error) {
	var s gtidScan
	for _, ev := range events {
		done, err := s.add(ev, pos)
		if err != nil {
			return "", err
		}
		if done {
			return s.result(pos)
		}
	}
	return s.end(pos)
}

func TestMySQLGTIDAtFilePos(t *testing.T) {
	const a, b = "3e11fa47-71ca-11e1-9e33-c80aa9429562", "8f8d2ad4-71ca-11e1-9e33-c80aa9429562"
	cases := []struct {
		name string
		pos  int64
		want string // "" for a refusal
	}{
		{"the start of the file: what the file's Previous_gtids holds", 4, a + ":1-5," + b + ":1-2"},
		{"the first transaction's Gtid event: nothing of the file yet", 197, a + ":1-5," + b + ":1-2"},
		{"the second transaction: the first is in", 477, a + ":1-6," + b + ":1-2"},
		{"the end of the file (SHOW MASTER STATUS): every transaction in", 690, a + ":1-7," + b + ":1-2"},
		{"inside a transaction is refused: half of it would be lost", 351, ""},
		{"not where an event starts", 300, ""},
		{"past the end of the file", 700, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := scanTo(mysqlFile, c.pos)
			if c.want == "" {
				if err == nil || !errors.Is(err, ErrBadPosition) {
					t.Fatalf("got %q, %v; want ErrBadPosition", got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// A file written with gtid_mode OFF holds Anonymous_Gtid events: refused
// with what to do.
func TestMySQLFilePosWithoutGTIDs(t *testing.T) {
	events := []binlogEvent{
		{4, 126, "Format_desc", ""},
		{126, 157, "Previous_gtids", ""},
		{157, 236, "Anonymous_Gtid", "SET @@SESSION.GTID_NEXT= 'ANONYMOUS'"},
		{236, 311, "Query", "BEGIN"},
		{311, 342, "Xid", "COMMIT /* xid=3 */"},
	}
	_, err := scanTo(events, 342)
	if !errors.Is(err, ErrBadPosition) || !strings.Contains(err.Error(), "gtid_mode = ON") {
		t.Fatalf("got %v; want a refusal that says to turn gtid_mode ON", err)
	}
}

func TestQuoteString(t *testing.T) {
	if got := quoteString(`a'b\c`); got != `'a\'b\\c'` {
		t.Fatalf("got %s", got)
	}
}
