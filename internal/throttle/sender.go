package throttle

import (
	"context"

	"github.com/dtle-io/dtle/internal/change"
)

// Next is where a throttled Sender sends (extractor.Sender).
type Next interface {
	Hello(ctx context.Context) (*change.Checkpoint, error)
	Send(ctx context.Context, m *change.Message) error
}

// Sender paces the full copy's chunks and the binlog's transactions by its
// Limiter, then sends them on; every other message, and Hello, go at once.
type Sender struct {
	Next
	Limiter *Limiter
}

// Send waits for the limit, then sends m.
func (s Sender) Send(ctx context.Context, m *change.Message) error {
	switch m.Kind {
	case change.KindChunk:
		if err := s.Limiter.Wait(ctx, Copy, int64(m.Rows.N), int64(len(m.Rows.Data))); err != nil {
			return err
		}
	case change.KindTxns:
		if s.Limiter.capped(Binlog) {
			var rows, bytes int64
			for i := range m.Txns {
				for _, c := range m.Txns[i].Changes {
					rows++
					bytes += int64(change.RowBytes(c.Before) + change.RowBytes(c.After))
				}
			}
			if err := s.Limiter.Wait(ctx, Binlog, rows, bytes); err != nil {
				return err
			}
		}
	}
	return s.Next.Send(ctx, m)
}

// capped says whether the stage has a cap now.
func (l *Limiter) capped(stage Stage) bool {
	_, caps := l.Limit()
	if stage == Copy {
		return caps.CopyRowsPerSecond > 0 || caps.CopyBytesPerSecond > 0
	}
	return caps.BinlogRowsPerSecond > 0 || caps.BinlogBytesPerSecond > 0
}
