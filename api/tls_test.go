package api_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/devagent"
)

// writeTLSFiles makes a CA and a certificate it signs for 127.0.0.1
// under dir.
func writeTLSFiles(t *testing.T, dir string) api.TLSFiles {
	t.Helper()
	f, err := devagent.NewTLSFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return api.TLSFiles{CA: f.CA, Cert: f.Cert, Key: f.Key}
}

// With api_tls_cert and api_tls_key the API serves HTTPS only; a node asks
// another node's API for a task's figures over TLS, checking its
// certificate with api_tls_ca, and sends its api_token to another machine
// only over TLS: to a plain-HTTP API elsewhere it sends nothing and says
// which option to set there.
func TestAPIOverTLSAndTheTokenOnlyOverTLS(t *testing.T) {
	const allocID, nodeID, token = "6a1f3c2e-0000-4000-8000-000000000011", "6a1f3c2e-0000-4000-8000-000000000012", "tls-test-token"
	files := writeTLSFiles(t, t.TempDir())
	local := oneTask{alloc: allocID, name: "dest", status: &api.TaskMonitor{DelayCount: &api.DelayCount{},
		ThroughputStatus: &api.ThroughputStatus{Rows: 7}}}
	// Node B runs the task and serves HTTPS.
	nodeB := serveInProcess(t, api.Config{Addr: "127.0.0.1:0", Token: token, Nomad: api.NomadConn{Addr: "127.0.0.1:1"}, TLS: files, Local: local})
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(files.CA)
	pool.AppendCertsFromPEM(caPEM)
	tlsClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := tlsClient.Do(newRequestURL(t, http.MethodGet, "https://"+nodeB+"/v2/health", nil))
	if err != nil {
		t.Fatalf("HTTPS to the API: %v", err)
	}
	_ = resp.Body.Close() // any HTTP reply will do: health says 503 without Nomad
	if resp, err := http.DefaultClient.Do(newRequestURL(t, http.MethodGet, "http://"+nodeB+"/v2/health", nil)); err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest { // Go's TLS server answers plain HTTP with a 400 and closes
			t.Fatalf("plain HTTP to the TLS API: %d", resp.StatusCode)
		}
	}

	cases := []struct {
		name, advertise string
		status          int
		want            string
	}{
		{"over TLS with the CA", "https://" + nodeB, http.StatusOK, `"rows_per_second":7`},
		{"plain HTTP to another machine: no token sent", "192.0.2.10:8190", http.StatusBadGateway, "set api_tls_cert and api_tls_key on node dtle-b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nomad := newScriptedNomad(t)
			nomad.alloc = map[string]any{"ID": allocID, "NodeID": nodeID,
				"TaskStates": map[string]any{"dest": map[string]any{"State": "running"}}}
			nomad.node = map[string]any{"ID": nodeID, "Name": "dtle-b", "Attributes": map[string]string{"driver.dtle.api_addr": c.advertise}}
			nodeA := serveInProcess(t, api.Config{Addr: "127.0.0.1:0", Token: token, Nomad: api.NomadConn{Addr: nomad.addr()},
				TLS: api.TLSFiles{CA: files.CA}, Local: noTasks{}})
			req := newRequestURL(t, http.MethodGet, "http://"+nodeA+"/v2/monitor/task?allocation_id="+allocID+"&task_name=dest", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			r := send(t, req)
			if r.Status != c.status || !strings.Contains(string(r.Body), c.want) {
				t.Fatalf("status %d, want %d with %q: %s", r.Status, c.status, c.want, r.Body)
			}
		})
	}
}
