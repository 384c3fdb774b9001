package driver

import (
	"fmt"
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
	failures atomic.Int64

	mu       sync.Mutex
	kind     string
	lastAt   time.Time
	lastRows int64
	lastTxns int64
	rate     api.ThroughputStatus
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
}

func (h *taskHandle) destFigures(m *api.TaskMonitor, s *progress.Dest) {
	queued := max(s.TxnsReceived.Load()-s.TxnsApplied.Load(), 0)
	m.CurrentCoordinates.File = progress.Load(&s.LogFile)
	m.CurrentCoordinates.Position = s.LogPos.Load()
	m.CurrentCoordinates.GtidSet = progress.Load(&s.GTIDSet)
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
