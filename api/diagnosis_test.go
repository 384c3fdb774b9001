package api_test

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/api"
)

// closedPort is a local port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

// storedPasswords are the mysql_password values the Nomad job holds
// (sealed): they must not show in a reply either.
func storedPasswords(t *testing.T, id string) []string {
	t.Helper()
	job, _, err := agent.Client().Jobs().Info(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tg := range job.TaskGroups {
		for _, task := range tg.Tasks {
			if mc, ok := task.Config["mysql_connection_config"].(map[string]any); ok {
				if pw, _ := mc["mysql_password"].(string); pw != "" {
					out = append(out, pw)
				}
			}
		}
	}
	return out
}

// TestDiagnosis diagnoses a job whose source is a real server and whose
// destination is a closed port: the source's checks pass, the destination
// is unreachable, and no password, in clear or as stored, is in the reply.
// Without a login or the token, the route is a 401.
func TestDiagnosis(t *testing.T) {
	startAgent(t)
	prepare(t, "diag_db", "CREATE TABLE diag_db.t (id INT PRIMARY KEY)")
	port := closedPort(t)
	id := "diag-" + strings.ToLower(rand.Text()[:6]) + "-sync"
	dest := map[string]any{"mysql_host": "127.0.0.1", "mysql_port": port, "mysql_user": jobUser, "mysql_password": jobPassword}
	mustOK(t, call(t, http.MethodPost, "/v2/job/sync", map[string]any{"job_id": id,
		"src_task": map[string]any{"task_name": "src", "replicate_do_db": []any{map[string]any{"table_schema": "diag_db"}},
			"mysql_connection_config": conn(pair.Source)},
		"dest_task": map[string]any{"task_name": "dest", "mysql_connection_config": dest}}))
	t.Cleanup(func() { call(t, http.MethodPost, "/v2/job/delete", url.Values{"job_id": {id}}) })
	stored := storedPasswords(t, id)
	if len(stored) != 2 {
		t.Fatalf("stored passwords: %d, want 2", len(stored))
	}

	var d api.DiagnosisResponse
	diagnose := func() reply {
		r := call(t, http.MethodGet, "/v2/job/diagnosis?job_id="+url.QueryEscape(id), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("diagnosis: %d %s", r.Status, r.Body)
		}
		for _, pw := range append(stored, jobPassword) {
			if strings.Contains(string(r.Body), pw) {
				t.Fatalf("the diagnosis holds a password: %s", r.Body)
			}
		}
		d = api.DiagnosisResponse{}
		r.json(t, &d)
		return r
	}
	// Nomad places the tasks meanwhile: wait for both to have an allocation.
	eventually(t, 30*time.Second, "both tasks placed", func() string {
		r := diagnose()
		for _, task := range d.Tasks {
			if task.Nomad.AllocationID == "" {
				return string(r.Body)
			}
		}
		return ""
	})
	r := diagnose()
	if d.JobID != id || d.JobType != "sync" || d.Healthy || len(d.Tasks) != 2 {
		t.Fatalf("diagnosis: %s", r.Body)
	}
	src, dst := d.Tasks[0], d.Tasks[1]
	if src.TaskName != "src" || !src.Reachable || src.Kind != "mysql" || src.Server == "" {
		t.Fatalf("source: %s", mustJSON(t, src))
	}
	names := map[string]bool{}
	for _, c := range src.Checks {
		names[c.Name] = true
		if !c.OK {
			t.Errorf("source check %s failed: %s", c.Name, c.Message)
		}
	}
	for _, n := range []string{"connection", "privileges", "binlog", "gtid_mode", "server_id", "replication_rules"} {
		if !names[n] {
			t.Errorf("source check %s missing: %s", n, mustJSON(t, src.Checks))
		}
	}
	if dst.TaskName != "dest" || dst.Reachable || len(dst.Checks) != 1 || dst.Checks[0].Name != "connection" || dst.Checks[0].OK ||
		!strings.Contains(dst.Checks[0].Message, itoa(port)) || !strings.Contains(dst.Checks[0].Message, "mysql_port") {
		t.Fatalf("destination not named unreachable: %s", mustJSON(t, dst))
	}
	if src.Nomad.State == "" || src.Nomad.NodeName == "" {
		t.Errorf("source's Nomad state: %s", mustJSON(t, src.Nomad))
	}
	t.Run("without a login or the token", func(t *testing.T) {
		if r := callWith(t, http.MethodGet, "/v2/job/diagnosis?job_id="+url.QueryEscape(id), nil, ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("plugin: %d %s", r.Status, r.Body)
		}
		// A node without api_token, users configured: a login is needed.
		node := newUserEnv(t, serveNode(t, clusterSecret(t), &syncBuffer{}), &[]string{jobPassword})
		eventually(t, 30*time.Second, "the node refuses without a login", func() string {
			r, err := node.raw(http.MethodGet, "/v2/job/diagnosis?job_id="+url.QueryEscape(id), nil, "")
			if err != nil {
				return err.Error()
			}
			if r.Status != http.StatusUnauthorized {
				return string(r.Body)
			}
			return ""
		})
	})
}
