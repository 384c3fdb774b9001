package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/api"
)

// fakeNomad answers the few Nomad routes job creation and resume use: the
// node list (whatever nodes holds), job lookup and job registration.
type fakeNomad struct {
	mu    sync.Mutex
	nodes []*nomad.NodeListStub
	jobs  map[string]json.RawMessage
}

func (f *fakeNomad) setNodes(nodes ...*nomad.NodeListStub) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes = nodes
}

func (f *fakeNomad) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// The Nomad client requires the query meta headers.
	w.Header().Set("X-Nomad-Index", "1")
	w.Header().Set("X-Nomad-KnownLeader", "true")
	w.Header().Set("X-Nomad-LastContact", "0")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/nodes":
		_ = json.NewEncoder(w).Encode(f.nodes)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/job/"):
		job, ok := f.jobs[strings.TrimPrefix(r.URL.Path, "/v1/job/")]
		if !ok {
			http.Error(w, "job not found", http.StatusNotFound)
			return
		}
		_, _ = w.Write(job)
	case r.Method == http.MethodPut && r.URL.Path == "/v1/jobs":
		var req struct{ Job json.RawMessage }
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var job nomad.Job
		if err := json.Unmarshal(req.Job, &job); err != nil || job.ID == nil {
			http.Error(w, "bad job", http.StatusBadRequest)
			return
		}
		f.jobs[*job.ID] = req.Job
		_ = json.NewEncoder(w).Encode(nomad.JobRegisterResponse{EvalID: "eval-1", EvalCreateIndex: 2, JobModifyIndex: 2})
	default:
		http.Error(w, "fake nomad: no route "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	}
}

// node is a node stub named name with status and, unless driver is nil,
// that dtle driver.
func node(name, status string, driver *nomad.DriverInfo) *nomad.NodeListStub {
	n := &nomad.NodeListStub{ID: "6f1c6c39-3c1b-4b8a-9a55-" + strings.Repeat("0", 12), Name: name, Status: status,
		Drivers: map[string]*nomad.DriverInfo{}}
	if driver != nil {
		n.Drivers["dtle"] = driver
	}
	return n
}

var (
	healthyDriver   = &nomad.DriverInfo{Detected: true, Healthy: true, HealthDescription: "Healthy"}
	unhealthyDriver = &nomad.DriverInfo{Detected: true, Healthy: false,
		HealthDescription: "embedded NATS server on 127.0.0.1:8193: not started yet"}
)

// TestJobRefusedWithoutHealthyDriver checks that creating or resuming a job
// answers 503 in the API's error shape while no ready node has a healthy
// dtle driver, and goes through once one has.
func TestJobRefusedWithoutHealthyDriver(t *testing.T) {
	fake := &fakeNomad{jobs: map[string]json.RawMessage{}}
	nomadSrv := httptest.NewServer(fake)
	t.Cleanup(nomadSrv.Close)
	srv, err := api.New(api.Config{Addr: "127.0.0.1:0", Nomad: api.NomadConn{Addr: nomadSrv.Listener.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	apiSrv := httptest.NewServer(srv.Handler())
	t.Cleanup(apiSrv.Close)

	job := map[string]any{
		"job_name": "early",
		"src_task": map[string]any{"mysql_connection_config": map[string]any{"mysql_host": "127.0.0.1", "mysql_port": 3306,
			"mysql_user": "u", "mysql_password": "p"}},
		"dest_task": map[string]any{"mysql_connection_config": map[string]any{"mysql_host": "127.0.0.1", "mysql_port": 3307,
			"mysql_user": "u", "mysql_password": "p"}},
	}
	post := func(t *testing.T, path string, body any) (int, http.Header, map[string]any) {
		t.Helper()
		var rd io.Reader
		ctype := "application/json"
		if form, ok := body.(url.Values); ok {
			rd, ctype = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
		} else {
			rd = strings.NewReader(mustJSON(t, body))
		}
		resp, err := http.Post(apiSrv.URL+path, ctype, rd) //nolint:noctx // a test against a local server
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("POST %s: decode: %v", path, err)
		}
		return resp.StatusCode, resp.Header, m
	}

	for _, tc := range []struct {
		name  string
		nodes []*nomad.NodeListStub
		want  string // in the message
	}{
		{"no node", nil, "no Nomad client node has registered"},
		{"driver not started", []*nomad.NodeListStub{node("n1", "ready", unhealthyDriver)},
			"node n1: embedded NATS server on 127.0.0.1:8193: not started yet"},
		{"no driver", []*nomad.NodeListStub{node("n1", "ready", nil)}, "node n1: no dtle driver detected"},
		{"healthy driver on a down node", []*nomad.NodeListStub{node("n1", "down", healthyDriver)}, "node n1 is down"},
		{"every node unhealthy", []*nomad.NodeListStub{node("n1", "ready", unhealthyDriver), node("n2", "initializing", nil)},
			"node n2 is initializing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.setNodes(tc.nodes...)
			for _, typ := range []string{"migration", "sync"} {
				status, hdr, m := post(t, "/v2/job/"+typ, job)
				msg, _ := m["message"].(string)
				if status != http.StatusServiceUnavailable || m["error_code"] != api.CodeUnavailable {
					t.Fatalf("%s: status %d, error_code %v, want 503 %s: %v", typ, status, m["error_code"], api.CodeUnavailable, m)
				}
				if !strings.Contains(msg, api.ErrNoHealthyDriver.Error()) || !strings.Contains(msg, tc.want) {
					t.Errorf("%s: message %q lacks %q", typ, msg, tc.want)
				}
				if hdr.Get("Retry-After") == "" {
					t.Errorf("%s: no Retry-After header", typ)
				}
			}
		})
	}

	// One healthy node among unhealthy ones is enough.
	fake.setNodes(node("n1", "ready", unhealthyDriver), node("n2", "ready", healthyDriver))
	if status, _, m := post(t, "/v2/job/sync", job); status != http.StatusOK {
		t.Fatalf("create with a healthy driver: %d %v", status, m)
	}
	// Pausing needs no driver; resuming places tasks, so it does.
	fake.setNodes(node("n1", "ready", unhealthyDriver))
	if status, _, m := post(t, "/v2/job/pause", url.Values{"job_id": {"early-sync"}}); status != http.StatusOK {
		t.Fatalf("pause without a healthy driver: %d %v", status, m)
	}
	if status, _, m := post(t, "/v2/job/resume", url.Values{"job_id": {"early-sync"}}); status != http.StatusServiceUnavailable ||
		m["error_code"] != api.CodeUnavailable {
		t.Fatalf("resume without a healthy driver: %d %v", status, m)
	}
	fake.setNodes(node("n1", "ready", healthyDriver))
	if status, _, m := post(t, "/v2/job/resume", url.Values{"job_id": {"early-sync"}}); status != http.StatusOK {
		t.Fatalf("resume with a healthy driver: %d %v", status, m)
	}
}
