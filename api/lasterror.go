package api

import (
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// A job's last error is the latest failure Nomad recorded in its tasks'
// events: a task that ended with an error (Terminated, exit code not 0,
// with the driver's reason), that could not start (Driver Failure) or be
// set up. Without one, it is the latest failure a running task recovered
// from on its own (its figures' last_error). Failures a task recovers from
// follow a real one (a source retries while its destination restarts), so
// Nomad's events come first.

// lastError is the job's last failure; nil when none.
func lastError(allocs []*nomad.AllocationListStub, tasks []JobStatusTask) *JobError {
	var out *JobError
	var at int64
	for _, a := range allocs {
		for name, st := range a.TaskStates {
			for _, ev := range st.Events {
				msg, ok := failureOf(ev)
				if ok && (out == nil || ev.Time > at) {
					at = ev.Time
					out = &JobError{Time: time.Unix(0, ev.Time).UTC().Format(time.RFC3339), Task: name, AllocationID: a.ID, Message: msg}
				}
			}
		}
	}
	var recovered int64
	var latest *JobError // of the failures recovered from
	for _, t := range tasks {
		if t.Figures == nil {
			continue
		}
		recovered += t.Figures.ErrorCount
		if e := t.Figures.LastError; e != nil && (latest == nil || e.Time > latest.Time) { // RFC 3339 UTC: in order
			latest = &JobError{Time: e.Time, Task: t.Name, AllocationID: t.AllocationID, Message: e.Message}
		}
	}
	if out == nil {
		out = latest
	}
	if out == nil {
		return nil
	}
	out.RecoveredErrors = recovered
	out.WhatToDo = whatToDo(out.Message)
	return out
}

// failureOf is the reason an event records a failure for, if it does.
func failureOf(ev *nomad.TaskEvent) (string, bool) {
	for _, msg := range []string{ev.DriverError, ev.SetupError, ev.ValidationError, ev.DownloadError} {
		if msg != "" {
			return msg, true
		}
	}
	if ev.Type == nomad.TaskTerminated && ev.ExitCode != 0 {
		if msg := ev.Details["exit_message"]; msg != "" {
			return msg, true
		}
		return eventMessage(ev), true
	}
	return "", false
}

// advice is what to do about failures whose text holds one of match (in
// any case), first match first.
var advice = []struct {
	match []string
	what  string
}{
	{[]string{"not restarted:"},
		"The task stopped for good: Nomad does not restart it. Fix the cause the message names, then run the job again (pause and resume it, or update it)."},
	{[]string{"binlogs were purged"},
		"The source no longer has the binlog the job needs: keep binlogs longer on the source, then start a new job with a full copy, as the message says."},
	{[]string{"error 1146", "doesn't exist"},
		"A table the job writes is missing on the destination (dropped behind the job's back?): create it again with the source's rows (or start a new job, which copies everything), then pause and resume the job; POST /v2/job/verify checks the result."},
	{[]string{"error 1045", "access denied for user"},
		"A server refused the job's account: check mysql_user and mysql_password in the job, and that the account may connect from the task's node; then update the job."},
	{[]string{"error 1142", "error 1143", "error 1227", "error 1044", "command denied", "privilege"},
		"The job's account lacks a privilege the statement in the message needs: grant it on that server (docs/security.md lists what each task needs); the task restarts on its own."},
	{[]string{"connection refused", "no such host", "i/o timeout", "did not answer", "cannot be reached", "invalid connection", "bad connection"},
		"A server could not be reached: check that it runs and that the task's node reaches its host and port; the task retries on its own."},
	{[]string{"no destination is listening", "no running \"dest\" task"},
		"The source cannot reach the dest task: see the dest task's state and its error above; the nodes must reach each other's NATS address (nats_advertise)."},
	{[]string{"refused schema change"},
		"The destination refused a schema change: make the destination accept the statement in the message (or drop it with the job's ignore_sql rule), then restart the dest task."},
	{[]string{"does not fit the source"},
		"A replicate_do_db rule does not fit the source table the message names: correct the rule and update the job."},
	{[]string{"dtle versions", "protocol"},
		"The job's two tasks run different dtle versions: run the same version on every node."},
}

// whatToDo is the operator's next step for a failure's message.
func whatToDo(msg string) string {
	low := strings.ToLower(msg)
	for _, a := range advice {
		for _, m := range a.match {
			if strings.Contains(low, m) {
				return a.what
			}
		}
	}
	return "See the task's events (GET /v2/job/{type}/detail) and the Nomad agent's log on the task's node, which holds the plugin's."
}
