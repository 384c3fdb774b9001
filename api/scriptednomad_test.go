package api_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/dtle-io/dtle/api"
)

// scriptedNomad answers the few Nomad HTTP routes a test needs, so it can
// stage what a real agent only does by chance of timing: a job registered
// again between two calls, a node advertising an address that leads back.
type scriptedNomad struct {
	t   *testing.T
	srv *httptest.Server

	mu    sync.Mutex
	calls []string
	// job is the job /v1/job/<id> holds; nil when there is none.
	job *scriptedJob
	// onEvaluations runs at the first GET of the job's evaluations.
	onEvaluations func(*scriptedJob)
	// alloc and node answer /v1/allocation/<id> and /v1/node/<id>.
	alloc, node map[string]any
}

type scriptedJob struct {
	ID             string
	Stop           bool
	JobModifyIndex uint64
}

func newScriptedNomad(t *testing.T) *scriptedNomad {
	f := &scriptedNomad{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// addr is the fake's host:port, for api.Config.NomadAddr.
func (f *scriptedNomad) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *scriptedNomad) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := r.Method + " " + r.URL.Path
	if p := r.URL.Query().Get("purge"); p != "" {
		call += "?purge=" + p
	}
	f.calls = append(f.calls, call)
	w.Header().Set("X-Nomad-Index", "1")
	w.Header().Set("X-Nomad-LastContact", "0")
	reply := func(v any) {
		if err := json.NewEncoder(w).Encode(v); err != nil {
			f.t.Errorf("fake nomad: %v", err)
		}
	}
	j := f.job
	switch {
	case j != nil && r.URL.Path == "/v1/job/"+j.ID && r.Method == http.MethodGet:
		reply(map[string]any{"ID": j.ID, "Name": j.ID, "Stop": j.Stop, "JobModifyIndex": j.JobModifyIndex,
			"Meta":       map[string]string{"job_type": "migration"},
			"TaskGroups": []any{map[string]any{"Name": "src", "Tasks": []any{map[string]any{"Name": "src", "Driver": "dtle"}}}}})
	case j != nil && r.URL.Path == "/v1/job/"+j.ID && r.Method == http.MethodDelete && r.URL.Query().Get("purge") == "true":
		f.job = nil
		reply(map[string]any{"EvalID": "", "JobModifyIndex": j.JobModifyIndex + 1})
	case j != nil && r.URL.Path == "/v1/job/"+j.ID && r.Method == http.MethodDelete:
		j.Stop, j.JobModifyIndex = true, j.JobModifyIndex+1
		reply(map[string]any{"EvalID": "e1", "EvalCreateIndex": j.JobModifyIndex, "JobModifyIndex": j.JobModifyIndex})
	case j != nil && r.URL.Path == "/v1/job/"+j.ID+"/evaluations":
		if f.onEvaluations != nil {
			f.onEvaluations(j)
			f.onEvaluations = nil
		}
		reply([]any{map[string]any{"ID": "e1", "Status": "complete"}})
	case f.alloc != nil && r.URL.Path == "/v1/allocation/"+f.alloc["ID"].(string):
		reply(f.alloc)
	case f.node != nil && r.URL.Path == "/v1/node/"+f.node["ID"].(string):
		reply(f.node)
	default:
		http.Error(w, "no such thing in the fake", http.StatusNotFound)
	}
}

// called reports whether call ("METHOD /path[?purge=x]") was made, and
// lists the calls.
func (f *scriptedNomad) called(call string) (bool, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c == call {
			return true, f.calls
		}
	}
	return false, f.calls
}

// TestDeletePurgesOnlyTheStoppedVersion: delete stops the job, waits for
// its evaluations and purges it, unless the job was registered again in
// between: then the new version stays and the reply says so.
func TestDeletePurgesOnlyTheStoppedVersion(t *testing.T) {
	cases := []struct {
		name       string
		meanwhile  func(*scriptedJob)
		status     int
		wantPurged bool
	}{
		{"nothing meanwhile: purged", nil, http.StatusOK, true},
		{"registered again before the purge: kept", func(j *scriptedJob) { j.Stop, j.JobModifyIndex = false, j.JobModifyIndex+1 },
			http.StatusConflict, false},
		{"stopped again by someone else: kept for them to purge", func(j *scriptedJob) { j.JobModifyIndex++ },
			http.StatusConflict, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nomad := newScriptedNomad(t)
			nomad.job = &scriptedJob{ID: "j1-migration", JobModifyIndex: 10}
			nomad.onEvaluations = c.meanwhile
			addr := serveInProcess(t, api.Config{Addr: "127.0.0.1:0", Nomad: api.NomadConn{Addr: nomad.addr()}})
			r := post(t, "http://"+addr+"/v2/job/delete", url.Values{"job_id": {"j1-migration"}})
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			purged, calls := nomad.called("DELETE /v1/job/j1-migration?purge=true")
			if purged != c.wantPurged {
				t.Errorf("purged %v, want %v (calls %v)", purged, c.wantPurged, calls)
			}
			if c.status == http.StatusConflict && !strings.Contains(string(r.Body), "delete it again") {
				t.Errorf("reply %s does not say what to do", r.Body)
			}
		})
	}
}

// TestMonitorForwardUnreachable: when the node running a task advertises
// an API this node cannot reach (the default loopback api_addr, which
// from here leads to this node's own API or to nothing), the reply says
// so and names the option to set, instead of "not running on this node".
func TestMonitorForwardUnreachable(t *testing.T) {
	const allocID, nodeID = "6a1f3c2e-0000-4000-8000-000000000001", "6a1f3c2e-0000-4000-8000-000000000002"
	closed := func() string {
		ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := ln.Addr().String()
		_ = ln.Close()
		return a
	}()
	cases := []struct {
		name      string
		advertise func(self string) string
	}{
		{"loopback address that leads back to this node's API", func(self string) string { return self }},
		{"loopback address where nothing listens", func(string) string { return closed }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nomad := newScriptedNomad(t)
			nomad.alloc = map[string]any{"ID": allocID, "NodeID": nodeID,
				"TaskStates": map[string]any{"src": map[string]any{"State": "running"}}}
			addr := serveInProcess(t, api.Config{Addr: "127.0.0.1:0", Nomad: api.NomadConn{Addr: nomad.addr()}, Local: noTasks{}})
			nomad.mu.Lock()
			nomad.node = map[string]any{"ID": nodeID, "Name": "dtle-b",
				"Attributes": map[string]string{"driver.dtle.api_addr": c.advertise(addr)}}
			nomad.mu.Unlock()
			r := get(t, "http://"+addr+"/v2/monitor/task?allocation_id="+allocID+"&task_name=src")
			if r.Status != http.StatusBadGateway {
				t.Fatalf("status %d, want 502: %s", r.Status, r.Body)
			}
			msg := r.object(t)["message"].(string)
			for _, want := range []string{"node dtle-b", "not reachable", "api_advertise"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
		})
	}
}

// TestMonitorThroughput3x: throughput_status holds dtle 3.x's num and time
// (transactions in that many seconds) beside the rates.
func TestMonitorThroughput3x(t *testing.T) {
	const allocID = "6a1f3c2e-0000-4000-8000-000000000003"
	local := oneTask{alloc: allocID, name: "dest", status: &api.TaskMonitor{
		DelayCount: &api.DelayCount{}, ThroughputStatus: &api.ThroughputStatus{Rows: 40, Txns: 12.6}}}
	addr := serveInProcess(t, api.Config{Addr: "127.0.0.1:0", Nomad: api.NomadConn{Addr: "127.0.0.1:1"}, Local: local})
	r := get(t, "http://"+addr+"/v2/monitor/task?allocation_id="+allocID+"&task_name=dest")
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var out struct {
		TasksStatus struct {
			ThroughputStatus map[string]any `json:"throughput_status"`
		} `json:"tasks_status"`
	}
	r.json(t, &out)
	want := map[string]any{"num": 13.0, "time": 1.0, "rows_per_second": 40.0, "txns_per_second": 12.6}
	if got := out.TasksStatus.ThroughputStatus; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("throughput_status %v, want %v", got, want)
	}
}

// noTasks is a plugin that runs no task.
type noTasks struct{}

func (noTasks) TaskMonitor(string, string) (*api.TaskMonitor, bool) { return nil, false }
func (noTasks) Tasks() []api.LocalTask                              { return nil }
func (noTasks) SetLogLevel(string) error                            { return nil }
func (noTasks) ReloadAgent() error                                  { return nil }

// oneTask is a plugin that runs one task with fixed figures.
type oneTask struct {
	alloc, name string
	status      *api.TaskMonitor
}

func (o oneTask) TaskMonitor(alloc, name string) (*api.TaskMonitor, bool) {
	if alloc != o.alloc || name != o.name {
		return nil, false
	}
	m := *o.status
	tp := *m.ThroughputStatus
	m.ThroughputStatus = &tp
	return &m, true
}
func (o oneTask) Tasks() []api.LocalTask { return nil }
func (oneTask) SetLogLevel(string) error { return nil }
func (oneTask) ReloadAgent() error       { return nil }

// get and post send a request without a token to an in-process server.
func get(t *testing.T, u string) reply {
	t.Helper()
	return send(t, newRequestURL(t, http.MethodGet, u, nil))
}

func post(t *testing.T, u string, form url.Values) reply {
	t.Helper()
	req := newRequestURL(t, http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, req)
}

func newRequestURL(t *testing.T, method, u string, body *strings.Reader) *http.Request {
	t.Helper()
	var req *http.Request
	var err error
	if body == nil {
		req, err = http.NewRequestWithContext(t.Context(), method, u, nil)
	} else {
		req, err = http.NewRequestWithContext(t.Context(), method, u, body)
	}
	if err != nil {
		t.Fatal(err)
	}
	return req
}
