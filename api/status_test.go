package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"
)

func TestLastError(t *testing.T) {
	at := func(sec int64) int64 { return time.Unix(1_700_000_000+sec, 0).UnixNano() }
	started := &nomad.TaskEvent{Type: nomad.TaskStarted, Time: at(0)}
	died := &nomad.TaskEvent{Type: nomad.TaskTerminated, Time: at(10), ExitCode: 1,
		Details: map[string]string{"exit_message": "apply insert into db1.t: Error 1146 (42S02): Table 'db1.t' doesn't exist"}}
	refused := &nomad.TaskEvent{Type: nomad.TaskDriverFailure, Time: at(20), DriverError: "connect to 10.0.0.1:3306 as \"u\": connection refused"}
	clean := &nomad.TaskEvent{Type: nomad.TaskTerminated, Time: at(30), ExitCode: 0}
	alloc := func(id string, events map[string][]*nomad.TaskEvent) *nomad.AllocationListStub {
		a := &nomad.AllocationListStub{ID: id, TaskStates: map[string]*nomad.TaskState{}}
		for task, evs := range events {
			a.TaskStates[task] = &nomad.TaskState{Events: evs}
		}
		return a
	}
	recovered := func(n int64, when, msg string) []JobStatusTask {
		return []JobStatusTask{{Name: "src", AllocationID: "a-src", Figures: &TaskMonitor{ErrorCount: n, LastError: &TaskError{Time: when, Message: msg}}}}
	}
	cases := []struct {
		name       string
		allocs     []*nomad.AllocationListStub
		tasks      []JobStatusTask
		want       *JobError // WhatToDo checked apart
		wantAdvice string
	}{
		{"none: null", []*nomad.AllocationListStub{alloc("a1", map[string][]*nomad.TaskEvent{"dest": {started, clean}})}, nil, nil, ""},
		{"a task that ended with an error", []*nomad.AllocationListStub{alloc("a1", map[string][]*nomad.TaskEvent{"dest": {started, died}, "src": {started}})}, nil,
			&JobError{Time: "2023-11-14T22:13:30Z", Task: "dest", AllocationID: "a1", Message: died.Details["exit_message"]}, "missing on the destination"},
		{"the latest of several, across allocations", []*nomad.AllocationListStub{
			alloc("a1", map[string][]*nomad.TaskEvent{"dest": {started, died}}),
			alloc("a2", map[string][]*nomad.TaskEvent{"src": {refused}})}, nil,
			&JobError{Time: "2023-11-14T22:13:40Z", Task: "src", AllocationID: "a2", Message: refused.DriverError}, "could not be reached"},
		{"nomad's events come before the failures recovered from", []*nomad.AllocationListStub{alloc("a1", map[string][]*nomad.TaskEvent{"dest": {died}})},
			recovered(3, "2023-11-14T23:00:00Z", "transport: no destination is listening for this job"),
			&JobError{Time: "2023-11-14T22:13:30Z", Task: "dest", AllocationID: "a1", Message: died.Details["exit_message"], RecoveredErrors: 3}, "missing"},
		{"a failure recovered from, without events", nil, recovered(2, "2023-11-14T23:00:00Z", "transport: no destination is listening for this job"),
			&JobError{Time: "2023-11-14T23:00:00Z", Task: "src", AllocationID: "a-src", Message: "transport: no destination is listening for this job", RecoveredErrors: 2},
			"cannot reach the dest task"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := lastError(tc.allocs, tc.tasks)
			if tc.want == nil {
				if got != nil {
					t.Fatalf("got %+v, want null", got)
				}
				return
			}
			if got == nil {
				t.Fatal("got null")
			}
			if !strings.Contains(got.WhatToDo, tc.wantAdvice) {
				t.Errorf("what_to_do %q lacks %q", got.WhatToDo, tc.wantAdvice)
			}
			got.WhatToDo = ""
			if *got != *tc.want {
				t.Errorf("got %+v\nwant %+v", *got, *tc.want)
			}
		})
	}
}

func TestWhatToDo(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"not restarted: this task failed with an error a restart cannot fix (...): the binlogs were purged", "stopped for good"},
		{"connect to 127.0.0.1:3306 as \"u\": Error 1045 (28000): Access denied for user 'u'@'localhost'", "refused the job's account"},
		{"apply replace into db1.t: Error 1142 (42000): INSERT command denied to user 'u'", "lacks a privilege"},
		{"something nobody foresaw", "Nomad agent's log"},
	} {
		if got := whatToDo(tc.msg); !strings.Contains(got, tc.want) {
			t.Errorf("whatToDo(%q) = %q, want it to say %q", tc.msg, got, tc.want)
		}
	}
}

func TestStageAndLag(t *testing.T) {
	const uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	ev := func(msg string) *nomad.AllocationListStub {
		return &nomad.AllocationListStub{TaskStates: map[string]*nomad.TaskState{"dest": {Events: []*nomad.TaskEvent{{Type: "Driver", Message: msg, Time: 1}}}}}
	}
	copying := &TaskMonitor{Tables: []TableCopyStatus{{Done: true}, {Done: false}}}
	for _, tc := range []struct {
		name   string
		allocs []*nomad.AllocationListStub
		src    *TaskMonitor
		want   string
	}{
		{"nothing reported yet", nil, nil, StageStarting},
		{"the dest reported the copy", []*nomad.AllocationListStub{ev(stageFull)}, nil, StageFullCopy},
		{"the dest reported the binlog", []*nomad.AllocationListStub{ev(stageIncr)}, nil, StageBinlog},
		{"the source still has tables to copy", []*nomad.AllocationListStub{ev(stageIncr)}, copying, StageFullCopy},
	} {
		if got := stageOf(tc.allocs, tc.src); got != tc.want {
			t.Errorf("%s: stage %q, want %q", tc.name, got, tc.want)
		}
	}

	dest := &TaskMonitor{DelayCount: &DelayCount{Time: 4}}
	src := &TaskMonitor{DelayCount: &DelayCount{Time: 7}}
	applied := &BinlogPosition{GtidSet: uuid + ":1-90"}
	source := &SourcePosition{BinlogPosition: BinlogPosition{GtidSet: uuid + ":1-100"}}
	lag := lagOf("mysql", StageBinlog, src, dest, applied, source)
	if lag.Seconds == nil || *lag.Seconds != 7 || lag.Transactions == nil || *lag.Transactions != 10 {
		t.Errorf("binlog lag: %+v", lag)
	}
	if lag := lagOf("mysql", StageFullCopy, src, dest, applied, source); lag.Transactions != nil {
		t.Errorf("lag in transactions during the copy: %d", *lag.Transactions)
	}
	if lag := lagOf("", StageBinlog, nil, nil, nil, &SourcePosition{Error: "unreachable"}); lag.Seconds != nil || lag.Transactions != nil {
		t.Errorf("lag with nothing known: %+v", lag)
	}
}

// Every metric the Grafana dashboard in docs/ plots is one /metrics
// serves, and the dashboard is valid JSON.
func TestGrafanaDashboardUsesServedMetrics(t *testing.T) {
	b, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	var served []string
	for _, m := range taskMetrics {
		served = append(served, m.name)
	}
	for _, m := range labelledMetrics {
		served = append(served, m.name)
	}
	name := regexp.MustCompile(`\bdtle_[a-z_]+\b`)
	exprs := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs++
			for _, n := range name.FindAllString(tg.Expr, -1) {
				if !slices.Contains(served, n) {
					t.Errorf("panel %q plots %s, which /metrics does not serve", p.Title, n)
				}
			}
		}
	}
	if exprs == 0 {
		t.Fatal("the dashboard has no expression")
	}
}

// A source that cannot be reached is said in the reply, quickly, and the
// status carries on without its position.
func TestSourcePositionUnreachable(t *testing.T) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close() // nothing listens there now
	job := &nomad.Job{ID: ptr("j-sync"), TaskGroups: []*nomad.TaskGroup{{Tasks: []*nomad.Task{{Name: "src", Driver: driverName,
		Config: map[string]any{"mysql_connection_config": map[string]any{"mysql_host": "127.0.0.1", "mysql_port": port,
			"mysql_user": "u", "mysql_password": "secret-pw"}}}}}}}
	c := echo.New().NewContext(httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/v2/job/status?job_id=j-sync", nil), httptest.NewRecorder())
	start := time.Now()
	pos, flavor := (&Server{}).sourcePosition(c, job)
	if took := time.Since(start); took > sourceTimeout+time.Second {
		t.Errorf("took %s", took)
	}
	if flavor != "" || pos.GtidSet != "" || !strings.Contains(pos.Error, "cannot be reached") || strings.Contains(pos.Error, "secret-pw") {
		t.Errorf("flavor %q, position %+v", flavor, pos)
	}
	if pos, _ := (&Server{}).sourcePosition(c, &nomad.Job{ID: ptr("j-sync")}); !strings.Contains(pos.Error, "no src task") {
		t.Errorf("a job without a source: %+v", pos)
	}
}
