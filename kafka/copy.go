package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/dtle-io/dtle/internal/change"
)

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
	if err := s.ensureTopic(ctx, s.prefix); err != nil {
		return err
	}
	o := &origin{snapshot: "true", tsMS: time.Now().Truncate(time.Second).UnixMilli()}
	key, value := schemaChange(s.prefix, d.Schema, m.Table.CreateSQL, []tableChange{describe("CREATE", d.name(), d)}, o, time.Now())
	s.produce(ctx, s.prefix, key, value)
	return nil
}

func (s *Sink) copyRows(ctx context.Context, m *change.Message) error {
	tc, err := s.codec(m.Table.Schema, m.Table.Name)
	if err != nil {
		return err
	}
	now := time.Now()
	o := &origin{snapshot: "true", tsMS: now.Truncate(time.Second).UnixMilli()}
	rows, err := m.Rows.Unpack()
	if err != nil {
		return fmt.Errorf("rows of %s.%s: %w", m.Table.Schema, m.Table.Name, err)
	}
	for _, row := range rows {
		if err := s.event1(ctx, tc, 'r', nil, row, o, now); err != nil {
			return err
		}
	}
	s.Stats.RowsCopied.Add(int64(len(rows)))
	return nil
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
