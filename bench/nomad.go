package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/cluster"
	"github.com/dtle-io/dtle/internal/sandbox"
)

// nomadBench runs dtle jobs as users run them: a Nomad server and two
// client nodes (internal/cluster), each client with its own plugin
// process. A job's src task is pinned on node 1 and its dest on node 2, so
// the two tasks run in two processes and talk over NATS on loopback, the
// source reaching node 2's NATS server directly (no cluster.Link, which
// would relay every byte through this process). Jobs are made through dtle's HTTP
// API (POST /v2/job/migration), as a user's script makes them.
type nomadBench struct {
	cl *cluster.Cluster
}

// startNomad starts the cluster under dir: the plugin and Nomad binaries
// are the repository's (make build nomad).
func startNomad(ctx context.Context, dir string) (*nomadBench, error) {
	step("Nomad: a server and two client nodes, each with the dtle plugin")
	cl, err := cluster.Start(ctx, filepath.Join(dir, "nomad"), 2, cluster.Options{Direct: true})
	if err != nil {
		return nil, fmt.Errorf("nomad cluster (make build nomad first): %w", err)
	}
	return &nomadBench{cl: cl}, nil
}

func (nb *nomadBench) stop() { nb.cl.Stop() }

// pluginPIDs are the plugin processes of node 1 (the src tasks') and node 2
// (the dest tasks'), as /proc names them; "" when a node has none.
func (nb *nomadBench) pluginPIDs() (src, dest string) {
	first := func(pids []int) string {
		if len(pids) == 0 {
			return ""
		}
		return strconv.Itoa(pids[0])
	}
	return first(nb.cl.Nodes[0].PluginPIDs()), first(nb.cl.Nodes[1].PluginPIDs())
}

// measuredPeaks wraps a timed run through Nomad so that it also keeps the
// highest VmHWM of each plugin process over its runs: peaks[0] the
// source's, peaks[1] the destination's. Each mark is reset before the run.
func (nb *nomadBench) measuredPeaks(peaks *[2]int64, run func() (time.Duration, error)) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		src, dest := nb.pluginPIDs()
		for _, pid := range []string{src, dest} {
			if pid != "" {
				_ = resetPeak(pid)
			}
		}
		d, err := run()
		if src != "" {
			peaks[0] = max(peaks[0], peakOf(src))
		}
		if dest != "" {
			peaks[1] = max(peaks[1], peakOf(dest))
		}
		return d, err
	}
}

// nomadName names the contender in the report.
const nomadName = "dtle through Nomad (src and dest in two plugin processes)"

// startJob creates a job from src's sbtest schema to dst, with the settings
// of the in-process runs (startJobWith), and returns its id.
func (nb *nomadBench) startJob(ctx context.Context, src, dst *sandbox.Server, workers int, gtid string) (string, error) {
	// The 3.x request body (POST /v2/job/migration), written out here: the
	// api package would link the swagger generator, and with it testing,
	// into this binary.
	type obj = map[string]any
	conn := func(s *sandbox.Server) obj {
		c := s.RootConnection()
		return obj{"mysql_host": c.Host, "mysql_port": c.Port, "mysql_user": c.User, "mysql_password": c.Password}
	}
	src0 := obj{"mysql_connection_config": conn(src), "gtid": gtid, "group_max_size": 16, "chunk_size": chunkSize,
		"replicate_do_db": []obj{{"table_schema": "sbtest"}}, "node_id": nb.cl.Nodes[0].ID}
	dest0 := obj{"mysql_connection_config": conn(dst), "parallel_workers": workers, "node_id": nb.cl.Nodes[1].ID}
	body, err := json.Marshal(obj{"job_name": fmt.Sprintf("bench%d", time.Now().UnixNano()), "src_task": src0, "dest_task": dest0})
	if err != nil {
		return "", err
	}
	node := nb.cl.Nodes[0]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, node.APIURL+"/v2/job/migration", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := node.HTTPClient().Do(req)
	if err != nil {
		return "", fmt.Errorf("create the job: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Job *struct {
			JobID string `json:"job_id"`
		} `json:"job"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil || out.Job == nil {
		return "", fmt.Errorf("create the job: %s: %s", resp.Status, b)
	}
	return out.Job.JobID, nil
}

// deleteJob stops and purges a job, and waits for its tasks to end, so
// that the next run has the machine to itself.
func (nb *nomadBench) deleteJob(id string) {
	jobs := nb.cl.Server.Client().Jobs()
	allocs, _, _ := jobs.Allocations(id, true, nil)
	if _, _, err := jobs.Deregister(id, true, nil); err != nil {
		step("delete job %s: %v", id, err)
		return
	}
	deadline := time.Now().Add(time.Minute)
	for _, a := range allocs {
		for time.Now().Before(deadline) {
			info, _, err := nb.cl.Server.Client().Allocations().Info(a.ID, nil)
			if err != nil || (info.ClientStatus != nomad.AllocClientStatusRunning && info.ClientStatus != nomad.AllocClientStatusPending) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// failed is the first failure event of the job's tasks, nil while none
// failed.
func (nb *nomadBench) failed(id string) error {
	allocs, _, err := nb.cl.Server.Client().Jobs().Allocations(id, false, nil)
	if err != nil {
		return nil // Nomad busy: asked again on the next poll
	}
	for _, a := range allocs {
		for name, st := range a.TaskStates {
			if st.Failed {
				msg := ""
				if n := len(st.Events); n > 0 {
					msg = st.Events[n-1].DisplayMessage
				}
				return fmt.Errorf("task %s of job %s failed: %s", name, id, msg)
			}
		}
	}
	return nil
}

// poll calls done every 20 ms until it reports true or fails, a task of
// the job fails, or ctx ends.
func (nb *nomadBench) poll(ctx context.Context, id string, done func() (bool, error)) error {
	for i := 0; ; i++ {
		if ok, err := done(); ok || err != nil {
			return err
		}
		if i%25 == 0 {
			if err := nb.failed(id); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// copyJob times a full copy through Nomad: from the API call to the copy
// complete on the destination (its rows, and the secondary indexes built
// after them), as dtleCopy times it in process.
func (nb *nomadBench) copyJob(ctx context.Context, src, dst *sandbox.Server, threads int) (time.Duration, error) {
	if err := dropSbtest(ctx, dst); err != nil {
		return 0, err
	}
	db, err := withoutJobState(ctx, dst)
	if err != nil {
		return 0, err
	}
	defer func() { _ = db.Close() }()
	step("dtle full copy through Nomad, %d writers", threads)
	begin := time.Now()
	id, err := nb.startJob(ctx, src, dst, threads, "")
	if err != nil {
		return 0, err
	}
	defer nb.deleteJob(id)
	err = nb.poll(ctx, id, func() (bool, error) {
		var stage string
		var pending int
		err := db.QueryRowContext(ctx, "SELECT c.stage, (SELECT COUNT(*) FROM dtle.deferred_indexes d WHERE d.job_id = c.job_id) "+
			"FROM dtle.checkpoint c WHERE c.job_id = ?", id).Scan(&stage, &pending)
		return err == nil && stage == "incr" && pending == 0, nil // tables not made yet: not done
	})
	return time.Since(begin), err
}

// catchUpJob times a catch-up through Nomad: a job started at start, until
// the destination's checkpoint holds end, as dtleCatchUp times it.
func (nb *nomadBench) catchUpJob(ctx context.Context, src, dst *sandbox.Server, workers int, start, end string) (time.Duration, error) {
	db, err := withoutJobState(ctx, dst)
	if err != nil {
		return 0, err
	}
	defer func() { _ = db.Close() }()
	step("dtle catch-up through Nomad, parallel_workers=%d", workers)
	begin := time.Now()
	id, err := nb.startJob(ctx, src, dst, workers, start)
	if err != nil {
		return 0, err
	}
	defer nb.deleteJob(id)
	err = nb.poll(ctx, id, func() (bool, error) {
		var set string
		err := db.QueryRowContext(ctx, "SELECT gtid_set FROM dtle.checkpoint WHERE job_id = ?", id).Scan(&set)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil && set == end, nil
	})
	return time.Since(begin), err
}

// nomadResult is dtle's copy and catch-up in one process and through Nomad
// (-nomad-only).
type nomadResult struct{ copies, catchups []timing }

// throughNomad measures dtle's full copy and catch-up, in this process and
// through Nomad, interleaved as in the full run.
func (tb *testbed) throughNomad(ctx context.Context, prepared string) (*nomadResult, error) {
	var nr nomadResult
	var err error
	if nr.copies, err = tb.fullCopies(ctx, prepared); err != nil {
		return nil, err
	}
	if nr.catchups, err = tb.catchUps(ctx); err != nil {
		return nil, err
	}
	return &nr, nil
}

func (nr *nomadResult) markdown(b *strings.Builder) {
	b.WriteString("\n### Through Nomad\n\nFull copy:\n\n")
	table(b, nr.copies, "rows/s")
	b.WriteString("\nCatch-up:\n\n")
	table(b, nr.catchups, "transactions/s")
}
