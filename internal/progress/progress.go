// Package progress holds the live figures the stages keep for the monitor
// to read: Source for the extractor, Dest for every destination (the MySQL
// applier and the Kafka sink alike). Both name their stage with the job's
// stages of internal/change: "" (starting), "full" and "incr".
package progress

import (
	"sync"
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

	gtidMu   sync.Mutex
	gtidAt   time.Time     // when GTIDSet was last refreshed
	gtidNext func() string // the applied set committed since, not in GTIDSet yet
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
	// group_timeout passed or the stream paused (idleFlush), or
	// group_max_size was reached.
	SentByTimeout  atomic.Int64
	SentBySizeFull atomic.Int64
	// tables are the full copy's tables (tables.go).
	tables copyTables
}

// Set replaces a string figure.
func Set(p *atomic.Pointer[string], v string) { p.Store(&v) }

// Committed records a destination commit of txns source transactions
// holding rows row changes; last* describe the last of them: its source
// commit time (unix seconds) and binlog coordinates. gtidSet, the applied
// set, is computed only when asked, at most once a second (it can be long),
// here or later by AppliedGTIDSet on the goroutine reading the figures: it
// must read only what no longer changes once committed.
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
	d.refreshGTID(gtidSet)
}

// AppliedGTIDSet is the applied set, at most a second behind the last
// commit: it also publishes a set the last commits left pending, so that a
// destination that stopped committing shows all it applied.
func (d *Dest) AppliedGTIDSet() string {
	d.refreshGTID(nil)
	return Load(&d.GTIDSet)
}

// refreshGTID keeps next (when not nil) as the latest applied set, and
// publishes the latest in GTIDSet when a second has passed since the last.
func (d *Dest) refreshGTID(next func() string) {
	d.gtidMu.Lock()
	defer d.gtidMu.Unlock()
	if next != nil {
		d.gtidNext = next
	}
	if d.gtidNext == nil || time.Since(d.gtidAt) < time.Second {
		return
	}
	Set(&d.GTIDSet, d.gtidNext())
	d.gtidAt, d.gtidNext = time.Now(), nil
}
