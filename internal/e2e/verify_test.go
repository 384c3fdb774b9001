package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/devagent"
)

// A job with a verify schedule in its source task config is compared by
// the plugin running the source, every few seconds here: GET
// /v2/job/verify (and the status) shows the scheduled report, with no
// difference on a clean job, and a row changed on the destination behind
// dtle's back shows up by key in the next report.
func TestScheduledVerifyReportsThroughAPI(t *testing.T) {
	const schema = "e2e_sched_verify"
	src, dst := prepare(t, schema, "CREATE TABLE e2e_sched_verify.t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO e2e_sched_verify.t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
	a := startAgent(t)
	job := syncJob("schedverify", schema)
	job["src_task"].(map[string]any)["verify"] = map[string]any{"every": "5s"}
	status, m := apiCall(t, a, http.MethodPost, "/v2/job/sync", job)
	if status != http.StatusOK {
		t.Fatalf("create: %d %v", status, m)
	}
	const jobID = "schedverify-sync"
	t.Cleanup(func() { apiCall(t, a, http.MethodPost, "/v2/job/delete", map[string]any{"job_id": jobID}) })

	// A write while the job replicates, so the first clean report covers
	// the binlog stage too.
	execAll(t, src, "INSERT INTO e2e_sched_verify.t VALUES (4, 'd')")
	first := waitScheduledVerify(t, a, jobID, "", time.Minute)
	if first["differences"] != 0.0 || tableOf(t, first)["rows"] != 4.0 || tableOf(t, first)["state"] != "same" {
		t.Fatalf("first scheduled report of a clean job: %v", first)
	}
	t.Logf("first scheduled report: %s, %v differences, %v rows in %vs", first["state"], first["differences"],
		tableOf(t, first)["rows"], tableOf(t, first)["duration_seconds"])
	status, m = apiCall(t, a, http.MethodGet, "/v2/job/status?job_id="+jobID, nil)
	if v, _ := m["verification"].(map[string]any); status != http.StatusOK || v == nil || v["scheduled"] != true {
		t.Fatalf("status does not show the scheduled comparison: %d %v", status, m)
	}

	execAll(t, dst, "UPDATE e2e_sched_verify.t SET v = 'changed' WHERE id = 2")
	next := waitScheduledVerify(t, a, jobID, first["verify_id"].(string), 30*time.Second)
	tb := tableOf(t, next)
	t.Logf("next scheduled report: %s, %v differences, different keys %v", next["state"], next["differences"], tb["different_keys"])
	if next["differences"] != 1.0 || tb["state"] != "differs" || tb["different"] != 1.0 ||
		fmt.Sprint(tb["different_keys"]) != "[[2]]" {
		t.Fatalf("the next scheduled report does not show the changed row: %v", next)
	}
}

// waitScheduledVerify polls GET /v2/job/verify until it shows a finished
// scheduled comparison other than skip's, and returns it.
func waitScheduledVerify(t *testing.T, a *devagent.Agent, jobID, skip string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		status, m := apiCall(t, a, http.MethodGet, "/v2/job/verify?job_id="+jobID, nil)
		if status == http.StatusOK && m["scheduled"] == true && m["verify_id"] != skip && m["state"] == "done" {
			return m
		}
		if status != http.StatusOK && status != http.StatusNotFound {
			t.Fatalf("GET /v2/job/verify: %d %v", status, m)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new scheduled comparison within %s; last reply %d %v", timeout, status, m)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// tableOf is the one table of a verify report.
func tableOf(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	tables, _ := m["tables"].([]any)
	if len(tables) != 1 {
		t.Fatalf("want one table in the report: %v", m)
	}
	return tables[0].(map[string]any)
}
