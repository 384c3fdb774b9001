package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/dtle-io/dtle/internal/change"
)

// Values of source.snapshot, as Debezium 2.x and 3.x mark the records of a
// snapshot.
const (
	snapshotFirst            = "first"
	snapshotFirstInTable     = "first_in_data_collection"
	snapshotTrue             = "true"
	snapshotLastInTable      = "last_in_data_collection"
	snapshotLast             = "last"
	snapshotSchemaChangeMark = "true" // the CREATE TABLE record of a copied table
)

// tableCopy is the table being copied. Its last row read is held back
// until what follows it says whether it is the table's last.
type tableCopy struct {
	tc *tableCodec
	// file and pos are the snapshot's binlog coordinates.
	file string
	pos  int64
	// firstTable: no table of the snapshot is committed, so this table's
	// first row is the snapshot's first.
	firstTable bool
	rows       int64      // rows of the table sent or held
	held       change.Row // the last row read, not sent yet
}

// marker is the snapshot marker of a table's row, as Debezium sets it: the
// snapshot's very last row is "last" and its first "first"; otherwise a
// table's last row is "last_in_data_collection", its first
// "first_in_data_collection", and the others "true". lastTable says no
// table follows this one in the snapshot.
func (c *tableCopy) marker(firstInTable, lastInTable, lastTable bool) string {
	switch {
	case lastInTable && lastTable:
		return snapshotLast
	case firstInTable && c.firstTable:
		return snapshotFirst
	case lastInTable:
		return snapshotLastInTable
	case firstInTable:
		return snapshotFirstInTable
	}
	return snapshotTrue
}

// startTable opens the table's copy transaction with its definition.
func (s *Sink) startTable(ctx context.Context, m *change.Message) error {
	if s.st.Stage == "" {
		s.st.Stage = change.StageFull
		s.setStage(change.StageFull)
		s.event("job_stage_full")
	}
	if err := s.begin(); err != nil {
		return err
	}
	d := fromCopy(m.Table)
	if err := s.setDef(ctx, d.name(), d); err != nil {
		return err
	}
	firstTable := true
	for _, t := range s.st.Tables {
		firstTable = firstTable && !t.Done
	}
	s.copying = &tableCopy{file: m.SnapshotFile, pos: int64(m.SnapshotPos), firstTable: firstTable}
	if !s.opts.schemaChanges {
		return nil
	}
	if err := s.ensureTopic(ctx, s.prefix); err != nil {
		return err
	}
	o := s.copying.origin(snapshotSchemaChangeMark)
	o.tables = d.Name
	key, value := schemaChange(s.prefix, d.Schema, m.Table.CreateSQL, []tableChange{describe("CREATE", d.name(), d)}, o, time.Now())
	s.produce(ctx, s.prefix, key, value)
	return nil
}

// origin is the source block of the copy's records: Debezium gives them
// the snapshot's binlog coordinates, row 0, no server id or thread, and
// the time they are read.
func (c *tableCopy) origin(marker string) *origin {
	return &origin{snapshot: marker, tsMS: time.Now().Truncate(time.Second).UnixMilli(), file: c.file, pos: c.pos}
}

func (s *Sink) copyRows(ctx context.Context, m *change.Message) error {
	c := s.copying
	if c == nil {
		return fmt.Errorf("rows of %s.%s: %w", m.Table.Schema, m.Table.Name, ErrNotStarted)
	}
	tc, err := s.codec(m.Table.Schema, m.Table.Name)
	if err != nil {
		return err
	}
	c.tc = tc
	rows, err := m.Rows.Unpack()
	if err != nil {
		return fmt.Errorf("rows of %s.%s: %w", m.Table.Schema, m.Table.Name, err)
	}
	now := time.Now()
	for _, row := range rows {
		if c.held != nil {
			if err := s.event1(ctx, tc, 'r', nil, c.held, c.origin(c.marker(c.rows == 1, false, false)), now, nil); err != nil {
				return err
			}
		}
		c.held = row
		c.rows++
	}
	s.Stats.RowsCopied.Add(int64(len(rows)))
	return nil
}

// tableDone sends the table's last row, marked as such, and commits the
// table's copy with the position that says it is done.
func (s *Sink) tableDone(ctx context.Context, m *change.Message) error {
	if c := s.copying; c != nil && c.held != nil {
		if err := s.event1(ctx, c.tc, 'r', nil, c.held, c.origin(c.marker(c.rows == 1, true, m.LastTable)), time.Now(), nil); err != nil {
			return err
		}
	}
	s.copying = nil
	s.st.Tables = append(s.st.Tables, change.TableProgress{Schema: m.Table.Schema, Table: m.Table.Name, Done: true, Snapshot: m.Snapshot})
	return s.commit(ctx)
}

// copyDone starts the binlog at the earliest snapshot any table was copied at.
func (s *Sink) copyDone(ctx context.Context, m *change.Message) error {
	start, err := change.BinlogStart(m.Flavor, m.Snapshot, s.st.Tables)
	if err != nil {
		return err
	}
	s.st.Flavor, s.st.Stage, s.st.GTIDSet = m.Flavor, change.StageIncr, start.String()
	s.executed = start
	if err := s.setCopies(); err != nil {
		return err
	}
	if err := s.commit(ctx); err != nil {
		return err
	}
	s.setStage(change.StageIncr)
	s.log.Info("full copy done", "binlog_from", s.st.GTIDSet)
	s.event("job_stage_incr")
	return nil
}
