package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/internal/change"
)

func (s *Sink) begin() error {
	if s.open {
		return nil
	}
	if err := s.cl.BeginTransaction(); err != nil {
		return fmt.Errorf("begin kafka transaction: %w", err)
	}
	s.open, s.openedAt, s.bytes = true, time.Now(), 0
	s.pending.txns, s.pending.rows = 0, 0
	return nil
}

// produce queues one record of the open transaction; headers may be nil.
func (s *Sink) produce(ctx context.Context, topic string, key, value []byte, headers ...kgo.RecordHeader) {
	s.bytes += len(key) + len(value)
	s.cl.Produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: value, Headers: headers}, func(_ *kgo.Record, err error) {
		if err != nil {
			err = fmt.Errorf("produce to %s: %w", topic, err)
			s.prodErr.CompareAndSwap(nil, &err)
		}
	})
}

// commit writes the position and commits the open transaction.
func (s *Sink) commit(ctx context.Context) error {
	if !s.open {
		if err := s.begin(); err != nil {
			return err
		}
	}
	if s.executed != nil {
		s.st.GTIDSet = s.executed.String()
	}
	pos, err := json.Marshal(s.st)
	if err != nil {
		return err
	}
	s.produce(ctx, s.topics.offsets, []byte(s.cfg.JobID), pos)
	if err := s.cl.Flush(ctx); err != nil {
		return fmt.Errorf("flush kafka records: %w", err)
	}
	if p := s.prodErr.Load(); p != nil {
		s.abort(ctx)
		return *p
	}
	if err := s.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("commit kafka transaction: %w", err)
	}
	s.open = false
	if s.last != nil {
		gs := s.st.GTIDSet
		s.Stats.Committed(s.pending.txns, s.pending.rows, s.last.Timestamp, s.last.LogFile, s.last.LogPos, func() string { return gs })
	}
	return nil
}

// abort drops the open transaction; the next session resumes from what is
// committed.
func (s *Sink) abort(ctx context.Context) {
	if !s.open {
		return
	}
	s.open, s.partial = false, false
	_ = s.cl.AbortBufferedRecords(ctx)
	if err := s.cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		s.log.Warn("abort kafka transaction", "error", err)
	}
	s.prodErr.Store(nil)
}

// commitDue commits a transaction that is open longer than
// message_group_timeout, unless a source transaction is half sent.
func (s *Sink) commitDue(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open || s.partial || time.Since(s.openedAt) < s.timeout() || s.st.Stage != change.StageIncr {
		return nil
	}
	return s.commit(ctx)
}

func (s *Sink) ensureTopic(ctx context.Context, name string) error {
	if s.known[name] {
		return nil
	}
	if err := ensureTopic(ctx, s.adm, name, -1, false); err != nil {
		return err
	}
	s.known[name] = true
	return nil
}

// setDef records a table's definition in the schemas topic and forgets its
// codec; d nil drops it.
func (s *Sink) setDef(ctx context.Context, id change.TableName, d *tableDef) error {
	delete(s.codecs, id)
	key := []byte(quotedID(id))
	if d == nil {
		delete(s.cat.tables, id)
		s.produce(ctx, s.topics.schemas, key, nil)
		return nil
	}
	s.cat.tables[id] = d
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	s.produce(ctx, s.topics.schemas, key, b)
	return s.ensureTopic(ctx, tableTopic(s.prefix, d.Schema, d.Name))
}

func (s *Sink) codec(schema, table string) (*tableCodec, error) {
	id := change.TableName{Schema: schema, Table: table}
	if tc := s.codecs[id]; tc != nil {
		return tc, nil
	}
	d := s.cat.tables[id]
	if d == nil {
		return nil, fmt.Errorf("%w %s", ErrUnknownTable, id)
	}
	tc := newTableCodec(s.prefix, d, &s.opts)
	s.codecs[id] = tc
	return tc, nil
}
