package position

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
)

// A MySQL server has no BINLOG_GTID_POS: the GTID set executed at a binlog
// file and position is read from the file itself. Every binlog file of a
// server with gtid_mode ON starts with a Previous_gtids event, which holds
// the set executed before the file; each transaction in it starts with a
// Gtid event naming its GTID. The set at pos is the first, plus the GTIDs
// of the transactions that start before pos.

// binlogEvent is one row of SHOW BINLOG EVENTS.
type binlogEvent struct {
	Pos, End int64
	Type     string
	Info     string
}

// eventsPage bounds the rows SHOW BINLOG EVENTS returns per query: a big
// binlog file is read in pages, never whole into memory.
const eventsPage = 10000

// mysqlGTIDAt reads the GTID set executed at file:pos on a MySQL source.
func mysqlGTIDAt(ctx context.Context, db *sql.DB, file string, pos int64) (string, error) {
	var at gtidScan
	from := int64(4) // after the file's magic number
	for {
		n, done, err := at.page(ctx, db, file, &from, pos)
		if err != nil {
			return "", err
		}
		if done {
			return at.result(pos)
		}
		if n < eventsPage {
			return at.end(pos)
		}
	}
}

// page reads the events of file from *from on, at most eventsPage of them,
// until they reach pos (done); *from moves past those read.
func (s *gtidScan) page(ctx context.Context, db *sql.DB, file string, from *int64, pos int64) (n int, done bool, err error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf("SHOW BINLOG EVENTS IN %s FROM %d LIMIT %d", quoteString(file), *from, eventsPage))
	if err != nil {
		return 0, false, fmt.Errorf("%w: binlog position %s:%d: %w (SHOW BINARY LOGS lists the source's files)", ErrBadPosition, file, pos, err)
	}
	defer func() { _ = rows.Close() }()
	for !done && rows.Next() {
		n++
		var ev binlogEvent
		var logName string
		var serverID uint64
		if err := rows.Scan(&logName, &ev.Pos, &ev.Type, &serverID, &ev.End, &ev.Info); err != nil {
			return n, false, fmt.Errorf("read binlog %s: %w", file, err)
		}
		if done, err = s.add(ev, pos); err != nil {
			return n, false, fmt.Errorf("%w: binlog position %s:%d: %w", ErrBadPosition, file, pos, err)
		}
		*from = ev.End
	}
	if err := rows.Err(); err != nil {
		return n, false, fmt.Errorf("read binlog %s: %w", file, err)
	}
	return n, done, nil
}

// gtidScan walks a binlog file's events up to a position.
type gtidScan struct {
	set      change.GTIDSet
	anon     bool  // a transaction without a GTID (gtid_mode OFF)
	reached  bool  // the events reached pos
	boundary bool  // pos is where a transaction, or the file, starts
	last     int64 // the end of the last event seen
}

// add takes the next event; done once the events reach pos, and the file's
// Previous_gtids event is read (a position at the start of the file is
// before it).
func (s *gtidScan) add(ev binlogEvent, pos int64) (done bool, err error) {
	if !s.reached && ev.Pos >= pos {
		s.reached = true
		s.boundary = ev.Pos == pos && (s.set == nil || ev.Type == "Gtid" || ev.Type == "Anonymous_Gtid" || ev.Type == "Gtid_tagged")
	}
	if s.reached && s.set != nil {
		return true, nil
	}
	s.last = ev.End
	switch ev.Type {
	case "Previous_gtids":
		if s.set, err = change.ParseGTIDSet(change.FlavorMySQL, strings.Join(strings.Fields(ev.Info), "")); err != nil {
			return false, fmt.Errorf("its Previous_gtids event: %w", err)
		}
		return s.reached, nil
	case "Gtid", "Gtid_tagged":
		gtid, err := gtidOfEvent(ev.Info)
		if err != nil {
			return false, err
		}
		if s.set == nil {
			return false, fmt.Errorf("a Gtid event at %d before the file's Previous_gtids event", ev.Pos)
		}
		if err := s.set.Add(gtid); err != nil {
			return false, fmt.Errorf("the Gtid event at %d: %w", ev.Pos, err)
		}
	case "Anonymous_Gtid":
		s.anon = true
	}
	return false, nil
}

// end is the result when the file ends before pos: pos must be the file's
// end (SHOW MASTER STATUS gives it for the current file).
func (s *gtidScan) end(pos int64) (string, error) {
	if !s.reached {
		s.boundary = pos == s.last
	}
	if !s.boundary {
		return "", fmt.Errorf("%w: the file ends at %d, before %d", ErrBadPosition, s.last, pos)
	}
	return s.result(pos)
}

func (s *gtidScan) result(pos int64) (string, error) {
	switch {
	case s.anon:
		return "", fmt.Errorf("%w: the source wrote transactions without GTIDs before %d (gtid_mode is not ON); dtle reads a "+
			"MySQL binlog by GTID: set gtid_mode = ON and enforce_gtid_consistency = ON, then start from a position written after that", ErrBadPosition, pos)
	case s.set == nil:
		return "", fmt.Errorf("%w: no Previous_gtids event before %d: the file was not written with gtid_mode ON", ErrBadPosition, pos)
	case !s.boundary:
		return "", fmt.Errorf("%w: %d is not where a transaction starts; give the position of a Gtid event (SHOW BINLOG EVENTS "+
			"lists them) or the end of the file (SHOW MASTER STATUS)", ErrBadPosition, pos)
	}
	return s.set.String(), nil
}

// gtidOfEvent is the GTID in a Gtid event's Info column:
// SET @@SESSION.GTID_NEXT= 'uuid:number'.
func gtidOfEvent(info string) (string, error) {
	i := strings.IndexByte(info, '\'')
	j := strings.LastIndexByte(info, '\'')
	if i < 0 || j <= i {
		return "", fmt.Errorf("a Gtid event without its GTID: %q", info)
	}
	return info[i+1 : j], nil
}

// quoteString is s as an SQL string literal: SHOW BINLOG EVENTS takes no
// parameters. The file name is checked before (config.Task.CheckStart and
// the API), and quotes and backslashes are escaped whatever it holds.
func quoteString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`)
	return "'" + r.Replace(s) + "'"
}
