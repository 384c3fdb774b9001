package driver

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/pipeline"
	"github.com/dtle-io/dtle/internal/progress"
)

// Stage texts of the monitor, in the words MySQL replicas use where one fits.
const (
	stageStarting   = "Starting: checking the server and finding the destination"
	stageCopying    = "Copying table data (full copy)"
	stageWriting    = "Writing table data (full copy)"
	stageSourceIdle = "Master has sent all binlog to slave; waiting for more updates"
	stageReading    = "Reading binlog events"
	stageDestIdle   = "Slave has read all relay log; waiting for more updates"
	stageApplying   = "Applying binlog transactions"
)

// liveStats is the monitor side of a task handle.
type liveStats struct {
	cur      atomic.Pointer[pipeline.Live]
	streamed atomic.Bool // an attempt went live once
	failures atomic.Int64
	lastErr  atomic.Pointer[api.TaskError]

	mu       sync.Mutex
	kind     string
	lastAt   time.Time
	lastRows int64
	lastTxns int64
	rate     api.ThroughputStatus
}

// set publishes an attempt's figures, nil when it ends.
func (l *liveStats) set(v *pipeline.Live) {
	if v != nil {
		l.streamed.Store(true)
	}
	l.cur.Store(v)
}

// failed counts a failure the task recovers from and keeps it as the last,
// unless the task never streamed yet: a source waiting for its destination
// to start has not failed.
func (l *liveStats) failed(err error) {
	l.failures.Add(1)
	if l.streamed.Load() {
		l.lastErr.Store(&api.TaskError{Time: time.Now().UTC().Format(time.RFC3339), Message: err.Error()})
	}
}

// throughput updates the rates from counters that only grow (within one
// live stage) and returns them; samples closer than a second keep the last.
func (l *liveStats) throughput(kind string, rows, txns int64) *api.ThroughputStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.lastAt.IsZero() || kind != l.kind || rows < l.lastRows || txns < l.lastTxns {
		l.kind, l.lastAt, l.lastRows, l.lastTxns, l.rate = kind, now, rows, txns, api.ThroughputStatus{}
		return &api.ThroughputStatus{}
	}
	if dt := now.Sub(l.lastAt).Seconds(); dt >= 1 {
		l.rate = api.ThroughputStatus{Rows: float64(rows-l.lastRows) / dt, Txns: float64(txns-l.lastTxns) / dt}
		l.lastAt, l.lastRows, l.lastTxns = now, rows, txns
	}
	r := l.rate
	return &r
}

// TaskMonitor returns the figures of a task running in this plugin.
func (d *Driver) TaskMonitor(allocID, taskName string) (*api.TaskMonitor, bool) {
	for _, h := range d.tasks.All() {
		if h.cfg.AllocID == allocID && h.cfg.Name == taskName && h.isRunning() {
			return h.monitor(), true
		}
	}
	return nil, false
}

// Tasks lists the tasks running in this plugin with their figures.
func (d *Driver) Tasks() []api.LocalTask {
	var out []api.LocalTask
	for _, h := range d.tasks.All() {
		if h.isRunning() {
			out = append(out, api.LocalTask{JobID: h.cfg.JobID, TaskName: h.cfg.Name, AllocID: h.cfg.AllocID, Status: h.monitor()})
		}
	}
	return out
}

func (h *taskHandle) monitor() *api.TaskMonitor {
	m := &api.TaskMonitor{
		CurrentCoordinates: &api.Coordinates{},
		DelayCount:         &api.DelayCount{},
		NatsMessageStatus:  &api.NatsMessageStatus{},
		BufferStatus:       &api.BufferStatus{},
		ThroughputStatus:   &api.ThroughputStatus{},
		ProgressPCT:        "0.0",
		ETA:                "",
		Backlog:            "0/0",
		Stage:              stageStarting,
		Timestamp:          time.Now().UnixNano(),
		ErrorCount:         h.live.failures.Load(),
		SpeedLimit:         h.speedLimitStatus(),
		LastError:          h.live.lastErr.Load(),
	}
	l := h.live.cur.Load()
	if l == nil {
		return m
	}
	if l.NATS != nil {
		s := l.NATS.Stats()
		m.NatsMessageStatus = &api.NatsMessageStatus{InMessages: s.InMsgs, OutMessages: s.OutMsgs,
			InBytes: s.InBytes, OutBytes: s.OutBytes, Reconnects: s.Reconnects}
	}
	if t := l.Direct; t != nil {
		// Messages between two tasks in this process skip NATS; they are
		// the job's messages all the same.
		n := m.NatsMessageStatus
		n.InMessages += t.InMsgs.Load()
		n.OutMessages += t.OutMsgs.Load()
		n.InBytes += t.InBytes.Load()
		n.OutBytes += t.OutBytes.Load()
	}
	switch {
	case l.Source != nil:
		h.sourceFigures(m, l.Source)
	case l.Dest != nil:
		h.destFigures(m, l.Dest)
	}
	return m
}

func (h *taskHandle) sourceFigures(m *api.TaskMonitor, s *progress.Source) {
	pending := s.Pending.Load()
	m.CurrentCoordinates.File = progress.Load(&s.BinlogFile)
	m.CurrentCoordinates.Position = s.BinlogPos.Load()
	m.CurrentCoordinates.GtidSet = progress.Load(&s.GTIDSet)
	m.ReadMasterRowCount, m.ReadMasterTxCount = s.RowsRead.Load(), s.TxnsRead.Load()
	m.ExecMasterRowCount, m.ExecMasterTxCount = m.ReadMasterRowCount, m.ReadMasterTxCount-pending
	m.TotalRowCount = s.RowsEstimate.Load()
	m.Backlog = fmt.Sprintf("%d/%d", pending, max(h.task.GroupMaxSize, 1))
	m.BufferStatus.ExtractorTxQueueSize = pending
	m.BufferStatus.SendByTimeout, m.BufferStatus.SendBySizeFull = s.SentByTimeout.Load(), s.SentBySizeFull.Load()
	m.ThroughputStatus = h.live.throughput("read", m.ReadMasterRowCount, m.ReadMasterTxCount)
	m.DelayCount.Num = pending
	switch progress.Load(&s.Stage) {
	case change.StageFull:
		m.Stage = stageCopying
		done, all := s.TablesDone.Load(), s.TablesAll.Load()
		pct := 0.0
		if est := s.RowsEstimate.Load(); est > 0 {
			pct = 100 * float64(m.ReadMasterRowCount) / float64(est)
		} else if all > 0 {
			pct = 100 * float64(done) / float64(all)
		}
		pct = min(pct, 99.9)
		m.ProgressPCT = fmt.Sprintf("%.1f", pct)
		m.ETA = eta(pct, m.ThroughputStatus.Rows, s.RowsEstimate.Load()-m.ReadMasterRowCount)
	case change.StageIncr:
		m.ProgressPCT, m.ETA, m.Stage = "100.0", "0s", stageSourceIdle
		if pending > 0 {
			m.Stage = stageReading
			m.DelayCount.Time = lag(s.LastCommitTS.Load())
		}
	}
	m.Tables = copyTables(s.Tables(), m.ThroughputStatus.Rows)
}

func (h *taskHandle) destFigures(m *api.TaskMonitor, s *progress.Dest) {
	queued := max(s.TxnsReceived.Load()-s.TxnsApplied.Load(), 0)
	m.CurrentCoordinates.File = progress.Load(&s.LogFile)
	m.CurrentCoordinates.Position = s.LogPos.Load()
	m.CurrentCoordinates.GtidSet = s.AppliedGTIDSet()
	m.ReadMasterRowCount, m.ReadMasterTxCount = s.RowsReceived.Load(), s.TxnsReceived.Load()
	m.ExecMasterRowCount, m.ExecMasterTxCount = s.RowsApplied.Load(), s.TxnsApplied.Load()
	m.CopiedRowCount = s.RowsCopied.Load()
	m.Backlog = fmt.Sprintf("%d/%d", queued, s.QueueTxns)
	m.DelayCount.Num = queued
	m.BufferStatus.ApplierTxQueueSize = queued
	m.BufferStatus.ApplierQueueBytes = s.QueueBytes.Load()
	m.BufferStatus.ApplierQueueBytesFree = s.QueueCapacity - m.BufferStatus.ApplierQueueBytes
	switch progress.Load(&s.Stage) {
	case change.StageIncr:
		m.ThroughputStatus = h.live.throughput("applied", m.ExecMasterRowCount, m.ExecMasterTxCount)
		m.ProgressPCT, m.ETA, m.Stage = "100.0", "0s", stageDestIdle
		if queued > 0 {
			m.Stage = stageApplying
			m.DelayCount.Time = lag(s.LastCommitTS.Load())
		}
	case change.StageFull:
		m.ThroughputStatus = h.live.throughput("copied", m.CopiedRowCount, 0)
		m.Stage, m.ProgressPCT = stageWriting, ""
	}
}

// copyTables are the figures of a full copy's tables; a table's ETA is when
// it will be copied at rate rows a second, after the tables before it.
func copyTables(tables []progress.TableCopy, rate float64) []api.TableCopyStatus {
	if len(tables) == 0 {
		return nil
	}
	out := make([]api.TableCopyStatus, len(tables))
	var left int64 // rows to copy up to this table's end
	for i, t := range tables {
		o := api.TableCopyStatus{SourceSchema: t.SourceSchema, SourceTable: t.SourceTable, DestSchema: t.Schema,
			DestTable: t.Table, Done: t.Done, Rows: t.Rows, EstimatedRows: t.Estimate, Percent: 100, ETA: "0s"}
		if !t.Done {
			o.Percent = 0
			if t.Estimate > 0 {
				o.Percent = min(math.Round(1000*float64(t.Rows)/float64(t.Estimate))/10, 99.9)
			}
			left += max(t.Estimate-t.Rows, 0)
			o.ETA = eta(o.Percent, rate, left)
			if t.Estimate == 0 {
				o.ETA = "unknown"
			}
		}
		out[i] = o
	}
	return out
}

// lag is the seconds since a source commit time.
func lag(ts int64) int64 {
	if ts <= 0 {
		return 0
	}
	return max(time.Now().Unix()-ts, 0)
}

// eta is the time left to copy remaining rows at rate rows a second.
func eta(pct, rate float64, remaining int64) string {
	if rate <= 0 || remaining <= 0 {
		if pct >= 99.9 {
			return "0s"
		}
		return "unknown"
	}
	return (time.Duration(float64(remaining)/rate) * time.Second).Round(time.Second).String()
}
