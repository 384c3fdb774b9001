package driver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/hashicorp/nomad/helper/testlog"
	"github.com/hashicorp/nomad/plugins/drivers"
)

// fakeNomad serves the routes a round of unblocking uses and records the
// jobs it was asked to evaluate.
type fakeNomad struct {
	mu        sync.Mutex
	healthy   bool                  // the node's dtle driver, as the servers see it
	evals     []*nomad.Evaluation   // what the blocked evaluation list returns
	jobs      map[string]*nomad.Job // by namespace/id
	evaluated []string              // namespace/id, in order
	rounds    int                   // answered calls of /v1/agent/self
	selfFails int                   // how many calls of /v1/agent/self fail first
	listQuery string
}

const fakeNodeID = "0b4e7f0e-0c64-4c1e-9a2b-6a0f6d1f2a11"

func (f *fakeNomad) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("X-Nomad-Index", "1")
	w.Header().Set("X-Nomad-KnownLeader", "true")
	w.Header().Set("X-Nomad-LastContact", "0")
	ns := r.URL.Query().Get("namespace")
	enc := json.NewEncoder(w)
	switch p := r.URL.Path; {
	case p == "/v1/agent/self" && f.selfFails > 0:
		f.selfFails--
		http.Error(w, "agent starting", http.StatusInternalServerError)
	case p == "/v1/agent/self":
		f.rounds++
		_ = enc.Encode(nomad.AgentSelf{Stats: map[string]map[string]string{"client": {"node_id": fakeNodeID}}})
	case p == "/v1/node/"+fakeNodeID:
		_ = enc.Encode(nomad.Node{ID: fakeNodeID, Status: nomad.NodeStatusReady,
			Drivers: map[string]*nomad.DriverInfo{PluginName: {Detected: true, Healthy: f.healthy}}})
	case p == "/v1/evaluations":
		f.listQuery = r.URL.RawQuery
		_ = enc.Encode(f.evals)
	case strings.HasSuffix(p, "/evaluate") && r.Method == http.MethodPut:
		f.evaluated = append(f.evaluated, ns+"/"+strings.TrimSuffix(strings.TrimPrefix(p, "/v1/job/"), "/evaluate"))
		_ = enc.Encode(nomad.JobRegisterResponse{EvalID: "new-eval"})
	case strings.HasPrefix(p, "/v1/job/"):
		job, ok := f.jobs[ns+"/"+strings.TrimPrefix(p, "/v1/job/")]
		if !ok {
			http.Error(w, "job not found", http.StatusNotFound)
			return
		}
		_ = enc.Encode(job)
	default:
		http.Error(w, "fake nomad: no route "+r.Method+" "+p, http.StatusNotFound)
	}
}

func (f *fakeNomad) state() (rounds int, evaluated []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rounds, append([]string(nil), f.evaluated...)
}

func testJob(id, driver string, stopped bool) *nomad.Job {
	return &nomad.Job{ID: &id, Stop: &stopped, TaskGroups: []*nomad.TaskGroup{{Tasks: []*nomad.Task{{Name: "t", Driver: driver}}}}}
}

// newFakeNomad is a fake whose blocked evaluations cover each kind of job
// a round must evaluate or skip.
func newFakeNomad() *fakeNomad {
	blocked := func(ns, job string) *nomad.Evaluation {
		return &nomad.Evaluation{ID: "eval-" + job, Namespace: ns, JobID: job, Status: nomad.EvalStatusBlocked}
	}
	return &fakeNomad{
		evals: []*nomad.Evaluation{
			blocked("default", "dtle-job"),
			blocked("default", "dtle-job"), // a second blocked eval: one evaluation is enough
			blocked("default", "docker-job"),
			blocked("default", "stopped-job"),
			blocked("other", "dtle-job"),
			blocked("default", "gone-job"),
			{ID: "done", Namespace: "default", JobID: "done-job", Status: nomad.EvalStatusComplete},
		},
		jobs: map[string]*nomad.Job{
			"default/dtle-job":    testJob("dtle-job", PluginName, false),
			"default/docker-job":  testJob("docker-job", "docker", false),
			"default/stopped-job": testJob("stopped-job", PluginName, true),
			"other/dtle-job":      testJob("dtle-job", PluginName, false),
			"default/done-job":    testJob("done-job", PluginName, false),
		},
	}
}

// TestEvaluateBlocked checks which blocked jobs a round evaluates: each
// dtle job once, in its namespace; no other driver's job, no stopped job,
// no job that is not blocked; a job it cannot read is skipped.
func TestEvaluateBlocked(t *testing.T) {
	fake := newFakeNomad()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client, err := nomad.NewClient(&nomad.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	n, err := evaluateBlocked(t.Context(), client, testlog.HCLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	_, got := fake.state()
	want := []string{"default/dtle-job", "other/dtle-job"}
	if n != len(want) || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("evaluated %d %v, want %v", n, got, want)
	}
	if q := fake.listQuery; !strings.Contains(q, "status=blocked") || !strings.Contains(q, "namespace=%2A") {
		t.Errorf("evaluation list query %q: want status=blocked in every namespace", q)
	}
}

// TestTurnToHealthyUnblocks feeds fingerprints to a healthWatch: a turn to
// healthy starts one round, which outlasts an agent API that does not
// answer yet and waits until the servers see the driver healthy before it
// evaluates; staying healthy starts none.
func TestTurnToHealthyUnblocks(t *testing.T) {
	fake := newFakeNomad()
	fake.selfFails = 1
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	d := New(testlog.HCLogger(t))
	t.Cleanup(d.cancel)
	d.config = &Config{NomadAddr: strings.TrimPrefix(srv.URL, "http://")}
	unhealthy := &drivers.Fingerprint{Health: drivers.HealthStateUnhealthy}
	healthy := &drivers.Fingerprint{Health: drivers.HealthStateHealthy}

	var w healthWatch
	defer w.stop()
	w.observe(d.ctx, d, unhealthy)
	w.observe(d.ctx, d, healthy)
	w.observe(d.ctx, d, healthy)
	waitFor(t, "the round to find its node", func() bool { r, _ := fake.state(); return r == 1 })
	time.Sleep(2 * unblockPoll)
	if _, ev := fake.state(); len(ev) != 0 {
		t.Fatalf("evaluated %v before the servers saw the driver healthy", ev)
	}
	fake.mu.Lock()
	fake.healthy = true
	fake.mu.Unlock()
	waitFor(t, "the blocked dtle jobs to be evaluated", func() bool { _, ev := fake.state(); return len(ev) == 2 })
	if r, _ := fake.state(); r != 1 {
		t.Errorf("%d rounds for one turn to healthy", r)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
