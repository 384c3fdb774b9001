package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/rowdiff"
)

// A job's speed limit holds the full copy within 10% of its cap, and a cap
// set through the API while the job runs takes effect within seconds,
// without restarting the tasks; a reset brings back the job config's.
func TestSpeedLimitHoldsAndChangesAtRunTime(t *testing.T) {
	const schema, rows = "e2e_speed", 24000
	src, dst := prepare(t, schema, "CREATE TABLE e2e_speed.t (id INT PRIMARY KEY, v VARCHAR(100))")
	for start := 0; start < rows; start += 2000 {
		var b strings.Builder
		b.WriteString("INSERT INTO e2e_speed.t VALUES ")
		for id := start; id < start+2000; id++ {
			if id > start {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "(%d, '%s')", id, strings.Repeat("v", 60))
		}
		execAll(t, src, b.String())
	}
	a := startAgent(t)
	job := syncJob("speed", schema)
	srcTask := job["src_task"].(map[string]any)
	srcTask["chunk_size"] = 100
	srcTask["speed_limit"] = map[string]any{"copy_rows_per_second": 1000}
	status, m := apiCall(t, a, http.MethodPost, "/v2/job/sync", job)
	if status != http.StatusOK {
		t.Fatalf("create: %d %v", status, m)
	}
	const jobID = "speed-sync"
	t.Cleanup(func() { apiCall(t, a, http.MethodPost, "/v2/job/delete", map[string]any{"job_id": jobID}) })

	// At the job config's 1000 rows/s.
	t1, c1 := waitCount(t, dst, 2000, time.Minute)
	t2, c2 := waitCount(t, dst, 5000, time.Minute)
	r := float64(c2-c1) / t2.Sub(t1).Seconds()
	t.Logf("copy at a 1000 rows/s cap (job config): %.0f rows/s", r)
	if r < 900 || r > 1100 {
		t.Errorf("copy at a 1000 rows/s cap ran at %.0f rows/s", r)
	}
	// Raised through the API to 3000 rows/s (well below what the pipeline
	// does unbounded here): in force within seconds.
	set := time.Now()
	status, m = apiCall(t, a, http.MethodPost, "/v2/job/speed_limit",
		map[string]any{"job_id": jobID, "speed_limit": map[string]any{"copy_rows_per_second": 3000}})
	if status != http.StatusOK || m["in_force"].(map[string]any)["copy_rows_per_second"] != 3000.0 {
		t.Fatalf("set the speed limit: %d %v", status, m)
	}
	for {
		at, c := waitCount(t, dst, 0, time.Minute)
		time.Sleep(500 * time.Millisecond)
		at2, c2 := waitCount(t, dst, 0, time.Minute)
		if float64(c2-c)/at2.Sub(at).Seconds() > 1800 {
			d := at.Sub(set)
			t.Logf("the cap raised through the API took effect within %s", d.Round(100*time.Millisecond))
			if d > 5*time.Second {
				t.Errorf("the raised cap took %s to take effect", d)
			}
			break
		}
		if time.Since(set) > 15*time.Second || c2 >= rows {
			t.Fatalf("the raised cap did not take effect within 15s (%d rows copied)", c2)
		}
	}
	t3, c3 := waitCount(t, dst, 0, time.Minute)
	t4, c4 := waitCount(t, dst, min(c3+9000, rows-1000), time.Minute)
	r = float64(c4-c3) / t4.Sub(t3).Seconds()
	t.Logf("copy at a 3000 rows/s cap (set through the API): %.0f rows/s", r)
	if r < 2700 || r > 3300 {
		t.Errorf("copy at a 3000 rows/s cap set through the API ran at %.0f rows/s", r)
	}
	status, m = apiCall(t, a, http.MethodGet, "/v2/job/speed_limit?job_id="+jobID, nil)
	if status != http.StatusOK || m["api"] == nil || m["job_config"].(map[string]any)["copy_rows_per_second"] != 1000.0 {
		t.Fatalf("get the speed limit: %d %v", status, m)
	}
	waitCount(t, dst, rows, time.Minute)
	status, m = apiCall(t, a, http.MethodPost, "/v2/job/speed_limit", map[string]any{"job_id": jobID, "reset": true})
	if status != http.StatusOK || m["api"] != nil || m["in_force"].(map[string]any)["copy_rows_per_second"] != 1000.0 {
		t.Fatalf("reset the speed limit: %d %v", status, m)
	}
	// The binlog stage under its own cap, set through the API: 1000 rows/s
	// for 4000 rows in transactions of 50 that the source commits faster.
	status, m = apiCall(t, a, http.MethodPost, "/v2/job/speed_limit",
		map[string]any{"job_id": jobID, "speed_limit": map[string]any{"binlog_rows_per_second": 1000}})
	if status != http.StatusOK {
		t.Fatalf("set the binlog cap: %d %v", status, m)
	}
	time.Sleep(3 * time.Second) // the source reads it within 2s
	for id := rows; id < rows+4000; id += 50 {
		var b strings.Builder
		b.WriteString("INSERT INTO e2e_speed.t VALUES ")
		for i := id; i < id+50; i++ {
			if i > id {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "(%d, 'binlog')", i)
		}
		execAll(t, src, b.String())
	}
	t5, c5 := waitCount(t, dst, rows+1000, time.Minute)
	t6, c6 := waitCount(t, dst, rows+3500, time.Minute)
	r = float64(c6-c5) / t6.Sub(t5).Seconds()
	t.Logf("binlog at a 1000 rows/s cap (set through the API): %.0f rows/s", r)
	if r < 900 || r > 1100 {
		t.Errorf("binlog at a 1000 rows/s cap ran at %.0f rows/s", r)
	}
	execAll(t, src, "UPDATE e2e_speed.t SET v = 'after' WHERE id < 10")
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := rowdiff.Schema(ctx, src, dst, schema)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("source and destination differ: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The tasks ran through, never restarted.
	allocs, _, err := a.Client().Jobs().Allocations(jobID, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, al := range allocs {
		for name, st := range al.TaskStates {
			if st.Restarts > 0 || st.State != "running" {
				t.Errorf("task %s: %s, %d restarts", name, st.State, st.Restarts)
			}
		}
	}
}

// waitCount waits until the destination's e2e_speed.t has at least n rows
// and returns when and how many it had.
func waitCount(t *testing.T, dst *sql.DB, n int, timeout time.Duration) (time.Time, int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var c int
		err := dst.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM e2e_speed.t").Scan(&c)
		at := time.Now()
		if err == nil && c >= n {
			return at, c
		}
		if at.After(deadline) {
			t.Fatalf("the destination has %d rows, not %d, after %s (%v)", c, n, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
