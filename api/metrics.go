package api

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// metric is one Prometheus series family of a task's figures.
type metric struct {
	name, help, kind string
	value            func(*TaskMonitor) float64
}

var taskMetrics = []metric{
	{"dtle_task_up", "1 for each dtle task running in this plugin.", "gauge", func(*TaskMonitor) float64 { return 1 }},
	{"dtle_rows_read_total", "Rows the task received or read from the source.", "counter", func(m *TaskMonitor) float64 { return float64(m.ReadMasterRowCount) }},
	{"dtle_txns_read_total", "Binlog transactions the task received or read.", "counter", func(m *TaskMonitor) float64 { return float64(m.ReadMasterTxCount) }},
	{"dtle_rows_applied_total", "Binlog rows applied to the destination.", "counter", func(m *TaskMonitor) float64 { return float64(m.ExecMasterRowCount) }},
	{"dtle_txns_applied_total", "Binlog transactions applied to the destination.", "counter", func(m *TaskMonitor) float64 { return float64(m.ExecMasterTxCount) }},
	{"dtle_rows_copied_total", "Rows of the full copy written to the destination.", "counter", func(m *TaskMonitor) float64 { return float64(m.CopiedRowCount) }},
	{"dtle_lag_seconds", "Seconds between the source commit of the last transaction handled and now.", "gauge", func(m *TaskMonitor) float64 { return float64(m.DelayCount.Time) }},
	{"dtle_full_copy_progress_ratio", "Full copy progress, 0 to 1.", "gauge", func(m *TaskMonitor) float64 {
		f, _ := strconv.ParseFloat(m.ProgressPCT, 64)
		return f / 100
	}},
	{"dtle_nats_sent_bytes_total", "Bytes the task sent over NATS.", "counter", func(m *TaskMonitor) float64 { return float64(m.NatsMessageStatus.OutBytes) }},
	{"dtle_nats_received_bytes_total", "Bytes the task received over NATS.", "counter", func(m *TaskMonitor) float64 { return float64(m.NatsMessageStatus.InBytes) }},
	{"dtle_errors_total", "Failures the task recovered from by resuming from the checkpoint.", "counter", func(m *TaskMonitor) float64 { return float64(m.ErrorCount) }},
	{"dtle_lag_transactions", "Transactions the task holds that the destination has not applied yet (the source: read, not sent; the destination: received, not applied).", "gauge",
		func(m *TaskMonitor) float64 { return float64(m.DelayCount.Num) }},
}

// labelledMetric is a series family with labels beyond job, task and
// alloc_id: any number of series a task.
type labelledMetric struct {
	name, help, kind string
	samples          func(*TaskMonitor) []sample
}

// sample is one series of a task: its further labels (name="value",...)
// and its value.
type sample struct {
	labels string
	value  float64
}

var labelledMetrics = []labelledMetric{
	{name: "dtle_speed_limit_rows_per_second", help: "The source's cap on rows a second in force now, by stage (copy, binlog); absent: no cap.", kind: "gauge",
		samples: func(m *TaskMonitor) []sample {
			return caps(m, func(r SpeedRates) (int64, int64) { return r.CopyRowsPerSecond, r.BinlogRowsPerSecond })
		}},
	{name: "dtle_speed_limit_bytes_per_second", help: "The source's cap on bytes a second in force now, by stage (copy, binlog); absent: no cap.", kind: "gauge",
		samples: func(m *TaskMonitor) []sample {
			return caps(m, func(r SpeedRates) (int64, int64) { return r.CopyBytesPerSecond, r.BinlogBytesPerSecond })
		}},
	{name: "dtle_copy_table_rows", help: "Rows of a table the source's full copy read since the task started (source schema and table).", kind: "gauge",
		samples: func(m *TaskMonitor) []sample {
			return perTable(m, func(t TableCopyStatus) float64 { return float64(t.Rows) })
		}},
	{name: "dtle_copy_table_estimated_rows", help: "The source server's estimate of a table's rows, for its full copy.", kind: "gauge",
		samples: func(m *TaskMonitor) []sample {
			return perTable(m, func(t TableCopyStatus) float64 { return float64(t.EstimatedRows) })
		}},
	{name: "dtle_copy_table_done", help: "1 once the full copy read a table whole.", kind: "gauge",
		samples: func(m *TaskMonitor) []sample {
			return perTable(m, func(t TableCopyStatus) float64 {
				if t.Done {
					return 1
				}
				return 0
			})
		}},
}

// caps are a source's caps in force, by stage; none when there is no cap.
func caps(m *TaskMonitor, of func(SpeedRates) (copyCap, binlogCap int64)) []sample {
	if m.SpeedLimit == nil {
		return nil
	}
	var out []sample
	c, b := of(m.SpeedLimit.InForce)
	if c > 0 {
		out = append(out, sample{"stage=" + label("copy"), float64(c)})
	}
	if b > 0 {
		out = append(out, sample{"stage=" + label("binlog"), float64(b)})
	}
	return out
}

// perTable is a figure of each table of a source's full copy.
func perTable(m *TaskMonitor, of func(TableCopyStatus) float64) []sample {
	out := make([]sample, len(m.Tables))
	for i, t := range m.Tables {
		out[i] = sample{"schema=" + label(t.SourceSchema) + ",table=" + label(t.SourceTable), of(t)}
	}
	return out
}

// metrics godoc
//
//	@Summary		Prometheus metrics
//	@Description	The figures of the dtle tasks running on this node, in Prometheus text format, labelled by job, task and alloc_id.
//	@Tags			monitor
//	@Produce		plain
//	@Success		200	{string}	string
//	@Failure		401	{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		500	{object}	ErrorResponse	"internal: see the plugin log"
//	@Security		ApiToken
//	@Router			/metrics [get]
func (s *Server) metrics(c echo.Context) error {
	var tasks []LocalTask
	if s.cfg.Local != nil {
		tasks = s.cfg.Local.Tasks()
	}
	sort.Slice(tasks, func(a, b int) bool {
		return tasks[a].JobID+tasks[a].TaskName+tasks[a].AllocID < tasks[b].JobID+tasks[b].TaskName+tasks[b].AllocID
	})
	var b strings.Builder
	for _, m := range taskMetrics {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.kind)
		for _, t := range tasks {
			if t.Status == nil || t.Status.DelayCount == nil || t.Status.NatsMessageStatus == nil {
				continue
			}
			fmt.Fprintf(&b, "%s{job=%s,task=%s,alloc_id=%s} %s\n", m.name, label(t.JobID), label(t.TaskName), label(t.AllocID),
				strconv.FormatFloat(m.value(t.Status), 'g', -1, 64))
		}
	}
	for _, m := range labelledMetrics {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.kind)
		for _, t := range tasks {
			if t.Status == nil {
				continue
			}
			for _, x := range m.samples(t.Status) {
				fmt.Fprintf(&b, "%s{job=%s,task=%s,alloc_id=%s,%s} %s\n", m.name, label(t.JobID), label(t.TaskName), label(t.AllocID),
					x.labels, strconv.FormatFloat(x.value, 'g', -1, 64))
			}
		}
	}
	return c.Blob(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", []byte(b.String()))
}

func label(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}
