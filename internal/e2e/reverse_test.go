package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/devagent"
	"github.com/dtle-io/dtle/internal/rowdiff"
)

// The reverse routes make a two-way sync: a sync job A→B created through
// the API, then POST /v2/job/sync/reverse and reverse_start for B→A. Writes
// on both sides (different keys, and on each side a counter) converge row
// by row; a counter ends at its count, not doubled; once writes stop, both
// binlogs stop growing: neither job sends back what the other applied.
func TestReverseRoutesMakeATwoWaySync(t *testing.T) {
	const schema, writes = "e2e_reverse", 10
	a, b := prepare(t, schema, "CREATE TABLE e2e_reverse.t (id INT PRIMARY KEY, side VARCHAR(8), n INT NOT NULL DEFAULT 0)",
		"INSERT INTO e2e_reverse.t VALUES (1, 'a', 0), (1001, 'b', 0)")
	ag := startAgent(t)
	// A new job id each run: a job resumes from the destination's
	// checkpoint of its id.
	name := "rev" + strings.ToLower(rand.Text()[:6])
	jobID := name + "-sync"
	createWhenAccepted(t, ag, "/v2/job/sync", syncJob(name, schema))
	t.Cleanup(func() { apiCall(t, ag, http.MethodPost, "/v2/job/delete", map[string]any{"job_id": jobID}) })
	waitRunsAndCopies(t, ag, jobID, schema, a, b)

	// The 4.x routes need a login: the first admin's.
	token := adminToken(t, ag)
	status, m := authCall(t, ag, token, http.MethodPost, "/v2/job/sync/reverse", map[string]any{"job_id": jobID})
	if status != http.StatusOK {
		t.Fatalf("reverse: %d %v", status, m)
	}
	revID, _ := m["reverse_job_id"].(string)
	if revID != "reverse-"+jobID {
		t.Fatalf("reverse: reverse_job_id %q", revID)
	}
	t.Cleanup(func() { authCall(t, ag, token, http.MethodPost, "/v2/job/delete", map[string]any{"job_id": revID}) })
	if status, m = authCall(t, ag, token, http.MethodPost, "/v2/job/sync/reverse_start", url.Values{"job_id": {jobID}}); status != http.StatusOK {
		t.Fatalf("reverse_start: %d %v", status, m)
	}
	// The job's source restarted with skip_dtle_applied; the reverse job
	// reads B's binlog.
	waitVersionRuns(t, ag, jobID, "src")
	waitTask(t, ag, revID, "dest", time.Minute, func(st *nomad.TaskState) bool {
		return st.State == "running" && devagent.HasEvent(st, "job_stage_incr")
	})
	waitTask(t, ag, revID, "src", time.Minute, func(st *nomad.TaskState) bool { return st.State == "running" })

	for i := range writes {
		execAll(t, a, fmt.Sprintf("INSERT INTO e2e_reverse.t VALUES (%d, 'a', 0)", 2+i),
			"UPDATE e2e_reverse.t SET n = n + 1 WHERE id = 1")
		execAll(t, b, fmt.Sprintf("INSERT INTO e2e_reverse.t VALUES (%d, 'b', 0)", 1002+i),
			"UPDATE e2e_reverse.t SET n = n + 1 WHERE id = 1001")
	}
	waitSame(t, ag, a, b, schema)
	// Rows that came from the other side, changed where they arrived.
	execAll(t, b, "UPDATE e2e_reverse.t SET n = n + 100 WHERE id = 2")
	execAll(t, a, "UPDATE e2e_reverse.t SET n = n + 100 WHERE id = 1002")
	waitSame(t, ag, a, b, schema)
	for side, db := range map[string]*sql.DB{"A": a, "B": b} {
		for id, want := range map[int]int{1: writes, 1001: writes, 2: 100, 1002: 100} {
			var n int
			if err := db.QueryRowContext(context.Background(), "SELECT n FROM e2e_reverse.t WHERE id = ?", id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Errorf("%s: row %d: n = %d, want %d (a change applied twice or lost)", side, id, n, want)
			}
		}
	}
	waitIdle(t, a, b)
	if err := rowdiff.Schema(context.Background(), a, b, schema); err != nil {
		t.Fatal(err)
	}
}

// bootstrapLine is the plugin's log line with the first admin's password.
var bootstrapLine = regexp.MustCompile(`created the first user.*password=(\S+)`)

// adminToken logs in as the first admin, whose password the plugin logged.
func adminToken(t *testing.T, a *devagent.Agent) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := os.ReadFile(a.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		if m := bootstrapLine.FindSubmatch(b); m != nil {
			status, reply := authCall(t, a, "", http.MethodPost, "/v2/loginWithoutVerifyCode",
				map[string]string{"tenant": "platform", "username": "admin", "password": string(m[1])})
			data, _ := reply["data"].(map[string]any)
			token, _ := data["token"].(string)
			if status != http.StatusOK || token == "" {
				t.Fatalf("login as the first admin: %d %v", status, reply)
			}
			return token
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first admin's password is not in the plugin log\n%s", a.LogTail(30))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// authCall sends body as JSON (or a form, for url.Values) to the agent's
// API with "Authorization: Bearer token" ("" sends none) and decodes the
// JSON reply; a refused connection is status 0.
func authCall(t *testing.T, a *devagent.Agent, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	ctype := "application/json"
	if form, ok := body.(url.Values); ok {
		rd, ctype = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	} else if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.APIURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil // a refused connection: the API is not up (yet)
	}
	defer func() { _ = resp.Body.Close() }()
	var m map[string]any
	raw, err := io.ReadAll(resp.Body)
	if err != nil || json.Unmarshal(raw, &m) != nil {
		t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

// waitVersionRuns waits until task runs in an allocation of the job's
// current version.
func waitVersionRuns(t *testing.T, a *devagent.Agent, jobID, task string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		job, _, err := a.Client().Jobs().Info(jobID, nil)
		if err == nil {
			allocs, _, err := a.Client().Jobs().Allocations(jobID, false, nil)
			for _, al := range allocs {
				if st := al.TaskStates[task]; err == nil && st != nil && st.State == "running" && al.JobVersion == *job.Version {
					return
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s of %s: not running at the job's latest version within 1m\nagent log:\n%s", task, jobID, a.LogTail(30))
}

// waitSame waits until schema is identical row by row on both servers.
func waitSame(t *testing.T, ag *devagent.Agent, a, b *sql.DB, schema string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		last = rowdiff.Schema(ctx, a, b, schema)
		cancel()
		if last == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("A and B differ: %v\nagent log:\n%s", last, ag.LogTail(40))
}

// waitIdle waits until neither server's binlog grows for 2 s, with no
// user writes: the jobs do not send each other's changes back and forth.
func waitIdle(t *testing.T, a, b *sql.DB) {
	t.Helper()
	pos := func() string { return executedGTIDs(t, a) + " | " + executedGTIDs(t, b) }
	deadline := time.Now().Add(15 * time.Second)
	prev := pos()
	for {
		time.Sleep(2 * time.Second)
		now := pos()
		if now == prev {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the servers keep writing with no user writes: a loop (%s → %s)", prev, now)
		}
		prev = now
	}
}
