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
	return c.Blob(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", []byte(b.String()))
}

func label(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}
