package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/dtle-io/dtle/api"
)

// apiClient is the demo's client of the dtle API.
type apiClient struct {
	base string
}

func (c *apiClient) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// createJob creates the demo job with POST /v2/job/migration.
func (c *apiClient) createJob(ctx context.Context, srcPort, destPort int) error {
	conn := func(port int) *api.MysqlConnectionConfig {
		return &api.MysqlConnectionConfig{MysqlHost: "127.0.0.1", MysqlPort: port, MysqlUser: demoUser, MysqlPassword: demoPassword}
	}
	job := api.JobConfig{
		JobName: "job1",
		SrcTask: &api.SrcTaskConfig{MysqlConnectionConfig: conn(srcPort),
			ReplicateDoDb: []*api.ReplicateDB{{TableSchema: "demo"}}},
		DestTask: &api.DestTaskConfig{MysqlConnectionConfig: conn(destPort)},
	}
	var out api.CreateJobResponse
	if err := c.do(ctx, http.MethodPost, "/v2/job/migration", job, &out); err != nil {
		return err
	}
	say("created job %s with POST /v2/job/migration (job_modify_index %d)", out.Job.JobID, out.JobModifyIndex)
	return nil
}

// figures summarizes GET /v2/monitor/task of the destination task.
func (c *apiClient) figures(ctx context.Context, alloc string) string {
	var out api.MonitorResponse
	q := url.Values{"allocation_id": {alloc}, "task_name": {"dest"}}
	if err := c.do(ctx, http.MethodGet, "/v2/monitor/task?"+q.Encode(), nil, &out); err != nil {
		return "monitor: " + err.Error()
	}
	s := out.TasksStatus
	if s == nil {
		return "monitor: no figures yet"
	}
	var delay int64
	if s.DelayCount != nil {
		delay = s.DelayCount.Time
	}
	return fmt.Sprintf("API: copied %d rows, applied %d txns / %d rows, delay %ds, %s",
		s.CopiedRowCount, s.ExecMasterTxCount, s.ExecMasterRowCount, delay, s.Stage)
}

func (c *apiClient) deleteJob(ctx context.Context) {
	if err := c.do(ctx, http.MethodPost, "/v2/job/delete", map[string]string{"job_id": jobID}, nil); err != nil {
		say("delete job: %v", err)
	}
}
