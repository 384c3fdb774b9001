// Package progress holds the live figures a destination stage keeps (the
// MySQL applier and the Kafka sink alike) for the monitor to read.
package progress

import "sync/atomic"

// Dest are live figures of a destination. Counters only grow; strings are
// replaced whole.
type Dest struct {
	RowsCopied   atomic.Int64
	TxnsApplied  atomic.Int64
	RowsApplied  atomic.Int64
	LastCommitTS atomic.Int64 // source commit time of the last applied transaction, unix seconds
	// TxnsReceived and RowsReceived count binlog transactions and their rows
	// as they arrive, before they are applied.
	TxnsReceived atomic.Int64
	RowsReceived atomic.Int64
	// QueueBytes is the row data received and not applied yet, out of
	// QueueCapacity.
	QueueBytes    atomic.Int64
	QueueCapacity int64
	// Stage is the checkpoint's stage ("", full, incr).
	Stage atomic.Pointer[string]
	// GTIDSet is the applied set, refreshed at most once a second.
	GTIDSet atomic.Pointer[string]
	// LogFile and LogPos are the source binlog coordinates after the last
	// applied transaction.
	LogFile atomic.Pointer[string]
	LogPos  atomic.Int64
}

// Load reads a string figure; "" when unset.
func Load(p *atomic.Pointer[string]) string {
	if s := p.Load(); s != nil {
		return *s
	}
	return ""
}
