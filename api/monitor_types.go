package api

import "math"

// Coordinates is where a task is in the binlog.
type Coordinates struct {
	File               string `json:"file" example:"mysql-bin.000001"`
	Position           int64  `json:"position" example:"154"`
	GtidSet            string `json:"gtid_set"`
	RelayMasterLogFile string `json:"relay_master_log_file"`
	ReadMasterLogPos   int64  `json:"read_master_log_pos"`
	RetrievedGtidSet   string `json:"retrieved_gtid_set"`
}

// DelayCount is how far behind the source a task is: Time in seconds, Num
// the transactions received but not applied yet.
type DelayCount struct {
	Num  int64 `json:"num"`
	Time int64 `json:"time"`
}

// ThroughputStatus is the recent rate of work: rows and transactions a
// second. Num and Time are dtle 3.x's form of it, read the way delay_count
// is: Num transactions in Time seconds. The API fills them from Txns
// (withLegacyFields); the plugin fills only Rows and Txns.
type ThroughputStatus struct {
	Rows float64 `json:"rows_per_second"`
	Txns float64 `json:"txns_per_second"`
	// Num is the transactions of one second at the current rate
	// (txns_per_second, rounded).
	Num int64 `json:"num"`
	// Time is the seconds Num counts: 1.
	Time int64 `json:"time" example:"1"`
}

// withLegacyFields fills the fields dtle 3.x's clients read from those the
// plugin measures, and returns m.
func (m *TaskMonitor) withLegacyFields() *TaskMonitor {
	if m != nil && m.ThroughputStatus != nil {
		m.ThroughputStatus.Num, m.ThroughputStatus.Time = int64(math.Round(m.ThroughputStatus.Txns)), 1
	}
	return m
}

// NatsMessageStatus are the task's NATS connection counters, with the
// messages passed directly to or from the job's other task on the same node.
type NatsMessageStatus struct {
	InMessages  uint64 `json:"in_messages"`
	OutMessages uint64 `json:"out_messages"`
	InBytes     uint64 `json:"in_bytes"`
	OutBytes    uint64 `json:"out_bytes"`
	Reconnects  uint64 `json:"reconnects"`
}

// BufferStatus are the task's queues.
type BufferStatus struct {
	BinlogEventQueueSize  int64 `json:"binlog_event_queue_size"`
	ExtractorTxQueueSize  int64 `json:"extractor_tx_queue_size"`
	ApplierTxQueueSize    int64 `json:"applier_tx_queue_size"`
	SendByTimeout         int64 `json:"send_by_timeout"`
	SendBySizeFull        int64 `json:"send_by_size_full"`
	ApplierQueueBytes     int64 `json:"applier_queue_bytes"`
	ApplierQueueBytesFree int64 `json:"applier_queue_bytes_free"`
}

// TaskMonitor are the live figures of one running task.
type TaskMonitor struct {
	CurrentCoordinates *Coordinates       `json:"current_coordinates"`
	DelayCount         *DelayCount        `json:"delay_count"`
	ProgressPCT        string             `json:"progress_PCT" example:"100.0"`
	ExecMasterRowCount int64              `json:"exec_master_row_count"`
	ExecMasterTxCount  int64              `json:"exec_master_tx_count"`
	ReadMasterRowCount int64              `json:"read_master_row_count"`
	ReadMasterTxCount  int64              `json:"read_master_tx_count"`
	ETA                string             `json:"ETA" example:"0s"`
	Backlog            string             `json:"backlog" example:"0/32"`
	ThroughputStatus   *ThroughputStatus  `json:"throughput_status"`
	NatsMessageStatus  *NatsMessageStatus `json:"nats_message_status"`
	BufferStatus       *BufferStatus      `json:"buffer_status"`
	Stage              string             `json:"stage" example:"Master has sent all binlog to slave; waiting for more updates"`
	Timestamp          int64              `json:"timestamp" example:"1620882952091441700"`
	CopiedRowCount     int64              `json:"copied_row_count"`
	// TotalRowCount (source) is the server's estimate of the rows the full
	// copy reads.
	TotalRowCount int64 `json:"total_row_count"`
	ErrorCount    int64 `json:"error_count"`
	// SpeedLimit (source) is the limit the task reads under; null for none.
	SpeedLimit *SpeedLimitStatus `json:"speed_limit,omitempty"`
	// Tables (source) are the full copy's tables, in the order it copies
	// them; absent when the task made no copy since it started.
	Tables []TableCopyStatus `json:"tables,omitempty"`
	// LastError is the last failure the task recovered from by resuming
	// from the checkpoint (ErrorCount counts them); absent when none.
	LastError *TaskError `json:"last_error,omitempty"`
}

// TableCopyStatus is the full copy of one table.
type TableCopyStatus struct {
	SourceSchema string `json:"source_schema" example:"db1"`
	SourceTable  string `json:"source_table" example:"t1"`
	// DestSchema and DestTable are the names after the job's renames.
	DestSchema string `json:"dest_schema" example:"db1"`
	DestTable  string `json:"dest_table" example:"t1"`
	Done       bool   `json:"done"`
	// Rows are the rows read and sent since the task started (a table
	// resumed after a restart counts only those).
	Rows int64 `json:"rows" example:"250000"`
	// EstimatedRows is the server's estimate of the table's rows
	// (information_schema.TABLES), 0 when it has none.
	EstimatedRows int64 `json:"estimated_rows" example:"1000000"`
	// Percent is rows of estimated_rows, at most 99.9 until done (100).
	Percent float64 `json:"percent" example:"25.0"`
	// ETA is when the table will be copied at the copy's current rate,
	// after the tables before it: "0s" when done, "unknown" without a rate
	// or an estimate.
	ETA string `json:"eta" example:"1m30s"`
}

// TaskError is a failure of a task.
type TaskError struct {
	// Time is when it happened, RFC 3339.
	Time    string `json:"time" example:"2025-01-02T03:04:05Z"`
	Message string `json:"message"`
}

// MonitorResponse is the reply of GET /v2/monitor/task.
type MonitorResponse struct {
	TasksStatus *TaskMonitor `json:"tasks_status"`
	Message     string       `json:"message" example:"ok"`
}

// LocalTask is a task running in this plugin, for /metrics.
type LocalTask struct {
	JobID, TaskName, AllocID string
	Status                   *TaskMonitor
}

// Local is what the plugin this server runs in offers: its own tasks and
// log level.
type Local interface {
	// TaskMonitor returns the figures of a task running here.
	TaskMonitor(allocID, taskName string) (*TaskMonitor, bool)
	// Tasks lists the tasks running here.
	Tasks() []LocalTask
	// SetLogLevel changes the plugin's log level.
	SetLogLevel(level string) error
	// ReloadAgent has the Nomad agent that runs the plugin reload its
	// configuration (its own log_level included).
	ReloadAgent() error
}
