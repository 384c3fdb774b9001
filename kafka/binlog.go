package kafka

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/internal/change"
)

// txns writes binlog transactions; the Kafka transaction commits once it
// holds message_group_max_size bytes, or by the timer.
func (s *Sink) txns(ctx context.Context, txns []change.Txn) error {
	if s.st.Stage != change.StageIncr {
		return fmt.Errorf("%w (stage %q)", ErrNotStarted, s.st.Stage)
	}
	for i := range txns {
		t := &txns[i]
		s.Stats.TxnsReceived.Add(1)
		s.Stats.RowsReceived.Add(int64(len(t.Changes)))
		if err := s.begin(); err != nil {
			return err
		}
		if err := s.txn(ctx, t); err != nil {
			return fmt.Errorf("transaction %s: %w", t.GTID, err)
		}
		s.partial = t.More
		if t.More {
			continue
		}
		if err := s.executed.Add(t.GTID); err != nil {
			return err
		}
		s.pending.txns++
		s.last = t
		s.passCopies()
	}
	if !s.partial && s.bytes >= max(s.cfg.Task.MessageGroupMaxSize, 1) {
		return s.commit(ctx)
	}
	return nil
}

func (s *Sink) txn(ctx context.Context, t *change.Txn) error {
	now := time.Now()
	o := &origin{snapshot: "false", gtid: t.GTID, file: t.LogFile, serverID: int64(t.ServerID),
		thread: int64(t.Thread), hasThread: t.ThreadKnown}
	if o.serverID == 0 {
		o.serverID = serverOf(t.GTID)
	}
	if t.DDL != nil {
		// A table's definition came from its copy: a DDL inside the
		// copy's snapshot is already in it.
		if in, err := s.copies.HoldsAll(t.DDL.Tables, t.GTID); err != nil || in {
			return err
		}
		o.at(t.Timestamp, t.CommitMicros)
		o.pos = int64(cmp.Or(t.DDL.Pos, t.LogPos))
		return s.ddl(ctx, t.DDL, o, now)
	}
	for i := range t.Changes {
		c := &t.Changes[i]
		in, err := s.copies.Holds(c.Name(), t.GTID)
		if err != nil {
			return err
		}
		if in {
			continue // the copy holds it
		}
		tc, err := s.codec(c.Schema, c.Table)
		if err != nil {
			return err
		}
		// Where Debezium's source block points: the rows event and the
		// row's index in it.
		o.at(cmp.Or(c.When, t.Timestamp), t.CommitMicros)
		o.pos, o.row = int64(cmp.Or(c.Pos, t.LogPos)), int(c.Row)
		if err := s.change(ctx, tc, c, o, now); err != nil {
			return err
		}
		s.pending.rows++
	}
	return nil
}

// change writes one row change, unless skipped_operations skips its kind:
// an update that moves the key is a delete and a create, as Debezium
// sends it, with the other key in a header of each.
func (s *Sink) change(ctx context.Context, tc *tableCodec, c *change.RowChange, o *origin, now time.Time) error {
	n := len(tc.fields)
	for _, r := range []change.Row{c.Before, c.After} {
		if r != nil && len(r) != n {
			return &RowError{Table: tc.def.name().String(), Have: len(r), Expected: n}
		}
	}
	switch c.Op {
	case change.OpInsert:
		if s.opts.skip.Inserts {
			return nil
		}
		return s.event1(ctx, tc, 'c', nil, c.After, o, now, nil)
	case change.OpDelete:
		if s.opts.skip.Deletes {
			return nil
		}
		return s.event1(ctx, tc, 'd', c.Before, nil, o, now, nil)
	}
	if s.opts.skip.Updates {
		return nil
	}
	oldKey, err := tc.appendKey(nil, c.Before, false)
	if err != nil {
		return err
	}
	newKey, err := tc.appendKey(nil, c.After, false)
	if err != nil {
		return err
	}
	if string(oldKey) == string(newKey) {
		return s.event1(ctx, tc, 'u', c.Before, c.After, o, now, nil)
	}
	oldHeader, err := tc.keyHeader(headerOldKey, c.Before)
	if err != nil {
		return err
	}
	newHeader, err := tc.keyHeader(headerNewKey, c.After)
	if err != nil {
		return err
	}
	if err := s.event1(ctx, tc, 'd', c.Before, nil, o, now, newHeader); err != nil {
		return err
	}
	return s.event1(ctx, tc, 'c', nil, c.After, o, now, oldHeader)
}

// event1 produces one change event with its headers (nil: none) and, when
// tombstones_on_delete, the tombstone after a delete: the same key (null
// for a table without one, as Debezium sends it) and headers, a null
// value.
func (s *Sink) event1(ctx context.Context, tc *tableCodec, op byte, before, after change.Row, o *origin, now time.Time, headers []kgo.RecordHeader) error {
	keyRow := after
	if op == 'd' {
		keyRow = before
	}
	key, err := tc.appendKey(make([]byte, 0, len(tc.keyHead)+64), keyRow, op == 'r')
	if err != nil {
		return err
	}
	value, err := tc.appendValueRecord(make([]byte, 0, len(tc.valueHead)+tc.payloadHint(before, after)), s.prefix, op, before, after, o, now)
	if err != nil {
		return err
	}
	s.produce(ctx, tc.topic, key, value, headers...)
	if op == 'd' && s.opts.tombstones {
		s.produce(ctx, tc.topic, key, nil, headers...)
	}
	return nil
}

// truncate sends Debezium's truncate event ("t") of a table: a null key,
// no rows. A table the job does not replicate has none.
func (s *Sink) truncate(ctx context.Context, id change.TableName, o *origin, now time.Time) error {
	if s.cat.tables[id] == nil {
		return nil
	}
	tc, err := s.codec(id.Schema, id.Table)
	if err != nil {
		return err
	}
	value, err := tc.appendValueRecord(make([]byte, 0, len(tc.valueHead)+640), s.prefix, 't', nil, nil, o, now)
	if err != nil {
		return err
	}
	s.produce(ctx, tc.topic, nil, value)
	return nil
}

// ddl applies a statement to the tracked definitions and, with
// include_schema_changes, sends it to the schema-change topic: one
// record, with an entry in tableChanges for each table it created,
// altered (a renamed table under its new name) or dropped. A TRUNCATE
// TABLE is no schema change: it sends the table's truncate event ("t")
// when skipped_operations does not skip them (it does by default, as
// Debezium's skipped.operations).
func (s *Sink) ddl(ctx context.Context, d *change.DDL, o *origin, now time.Time) error {
	before := map[change.TableName]bool{}
	for id := range s.cat.tables {
		before[id] = true
	}
	res, err := s.cat.apply(d.Schema, d.SQL)
	if err != nil {
		s.log.Warn("DDL not understood; table definitions unchanged", "schema", d.Schema, "error", err)
	}
	if res.Truncate {
		if s.opts.skip.Truncates || len(res.IDs) == 0 {
			return nil
		}
		return s.truncate(ctx, res.IDs[0], o, now)
	}
	renamedFrom := map[change.TableName]bool{}
	for _, old := range res.Renamed {
		renamedFrom[old] = true
	}
	var changes []tableChange
	var names []string
	seen := map[change.TableName]bool{}
	for _, id := range res.IDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		def := s.cat.tables[id]
		if err := s.setDef(ctx, id, def); err != nil {
			return err
		}
		_, renamed := res.Renamed[id]
		kind := "ALTER"
		switch {
		case def == nil && (renamedFrom[id] || !before[id]):
			continue // the entry of its new name says it; or a name it only passed through
		case def == nil:
			kind = "DROP"
		case !before[id] && !renamed:
			kind = "CREATE"
		}
		changes = append(changes, describe(kind, id, def))
		names = append(names, id.Table)
	}
	if !s.opts.schemaChanges {
		return nil
	}
	if err := s.ensureTopic(ctx, s.prefix); err != nil {
		return err
	}
	db := d.Schema
	if len(res.IDs) > 0 {
		db = res.IDs[len(res.IDs)-1].Schema
	}
	if len(names) == 0 {
		for _, t := range d.Tables {
			names = append(names, t.Table)
		}
	}
	o.tables = strings.Join(names, ",")
	key, value := schemaChange(s.prefix, db, d.SQL, changes, o, now)
	s.produce(ctx, s.prefix, key, value)
	return nil
}

// serverOf is the server id of a MariaDB GTID (domain-server-sequence); 0
// for MySQL's, which do not carry it.
func serverOf(gtid string) int64 {
	parts := strings.Split(gtid, "-")
	if len(parts) != 3 {
		return 0
	}
	n, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return 0
	}
	return n
}
