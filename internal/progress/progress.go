// Package progress holds the live figures the stages keep for the monitor
// to read: Source for the extractor, Dest for every destination (the MySQL
// applier and the Kafka sink alike). Both name their stage with the job's
// stages of internal/change: "" (starting), "full" and "incr".
package progress

import (
	"sync/atomic"
	"time"
)

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
	// QueueTxns is how many binlog transactions the destination queues at
	// most, the monitor's backlog bound; 0 when only bytes bound it.
	QueueTxns int64
	// Stage is the checkpoint's stage ("", full, incr).
	Stage atomic.Pointer[string]
	// GTIDSet is the applied set, refreshed at most once a second.
	GTIDSet atomic.Pointer[string]
	// LogFile and LogPos are the source binlog coordinates after the last
	// applied transaction.
	LogFile atomic.Pointer[string]
	LogPos  atomic.Int64
	gtidAt  atomic.Int64 // when GTIDSet was last refreshed, unix nanoseconds
}

// Load reads a string figure; "" when unset.
func Load(p *atomic.Pointer[string]) string {
	if s := p.Load(); s != nil {
		return *s
	}
	return ""
}

// Source are live figures of a source. Counters only grow; strings are
// replaced whole.
type Source struct {
	// Stage is "" while starting, then "full" and "incr" (change.StageFull,
	// change.StageIncr).
	Stage      atomic.Pointer[string]
	RowsRead   atomic.Int64
	TxnsRead   atomic.Int64
	TablesDone atomic.Int64
	TablesAll  atomic.Int64
	// RowsEstimate is the server's estimate of the rows this copy reads.
	RowsEstimate atomic.Int64
	BinlogFile   atomic.Pointer[string]
	BinlogPos    atomic.Int64
	// GTIDSet is what has been read, refreshed at most once a second.
	GTIDSet atomic.Pointer[string]
	// LastCommitTS is the source commit time of the last transaction read,
	// unix seconds.
	LastCommitTS atomic.Int64
	// Pending is how many complete transactions wait to be sent.
	Pending atomic.Int64
	// SentByTimeout and SentBySizeFull count the groups sent because
	// group_timeout passed or group_max_size was reached.
	SentByTimeout  atomic.Int64
	SentBySizeFull atomic.Int64
}

// Set replaces a string figure.
func Set(p *atomic.Pointer[string], v string) { p.Store(&v) }

// Committed records a destination commit of txns source transactions
// holding rows row changes; last* describe the last of them: its source
// commit time (unix seconds) and binlog coordinates. gtidSet, the applied
// set, is computed only when asked, at most once a second (it can be long).
func (d *Dest) Committed(txns, rows int64, lastTS uint32, lastFile string, lastPos uint32, gtidSet func() string) {
	d.TxnsApplied.Add(txns)
	d.RowsApplied.Add(rows)
	if txns == 0 {
		return
	}
	d.LastCommitTS.Store(int64(lastTS))
	d.LogPos.Store(int64(lastPos))
	if f := d.LogFile.Load(); lastFile != "" && (f == nil || *f != lastFile) {
		Set(&d.LogFile, lastFile)
	}
	now := time.Now().UnixNano()
	if last := d.gtidAt.Load(); now-last >= int64(time.Second) && d.gtidAt.CompareAndSwap(last, now) {
		Set(&d.GTIDSet, gtidSet())
	}
}
