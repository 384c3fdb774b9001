package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/devagent"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

var (
	pair  *sandbox.Pair
	agent *devagent.Agent
	// apiURL is the plugin's API, http://127.0.0.1:port.
	apiURL string
	rsaKey *rsa.PrivateKey
)

// apiToken is the node's api_token in these tests.
const apiToken = "api-test-token-7d1f"

// jobUser and jobPassword are the account jobs connect as; the password
// must never show in a reply, a log or the Nomad job.
const (
	jobUser     = "api_user"
	jobPassword = "api-Secret-Pw-9931"
)

func TestMain(m *testing.M) {
	sandboxtest.RunTests(m, &pair, func() {
		if agent != nil {
			agent.Stop()
			if os.Getenv("DTLE_KEEP_AGENT") == "" {
				_ = agent.Remove()
			}
		}
	})
}

// startAgent starts the package's Nomad agent, its plugin serving the API
// with a token and an RSA key, once; tests share it.
func startAgent(t *testing.T) {
	t.Helper()
	if agent != nil {
		return
	}
	dir, err := os.MkdirTemp("", "dtle-e2e-agent-")
	if err != nil {
		t.Fatal(err)
	}
	if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "dtle.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	if err := os.WriteFile(keyPath, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), devagent.ReadyTimeout)
	defer cancel()
	a, err := devagent.Start(ctx, devagent.Options{Dir: dir, API: true, PluginConfig: map[string]string{
		"api_token":            fmt.Sprintf("%q", apiToken),
		"rsa_private_key_path": fmt.Sprintf("%q", keyPath),
	}})
	if err != nil {
		t.Fatal(err)
	}
	agent, apiURL = a, a.APIURL
}

// reply is an API response.
type reply struct {
	Status int
	Body   []byte
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r reply) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.json(t, &m)
	return m
}

// call sends a request with the token. body is sent as JSON unless it is a
// url.Values (a form) or a string (sent as is, as JSON).
func call(t *testing.T, method, path string, body any) reply {
	t.Helper()
	return callWith(t, method, path, body, apiToken)
}

func callWith(t *testing.T, method, path string, body any, token string) reply {
	t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, apiURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), jobPassword) {
		t.Fatalf("%s %s: the reply holds the MySQL password: %s", method, path, b)
	}
	return reply{Status: resp.StatusCode, Body: b}
}

// mustOK fails unless the reply is 200 with message "ok".
func mustOK(t *testing.T, r reply) map[string]any {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	m := r.object(t)
	if m["message"] != "ok" {
		t.Fatalf("message %v: %s", m["message"], r.Body)
	}
	return m
}

func execAll(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	sandboxtest.Exec(t, db, stmts, jobPassword)
}

// prepare gives both servers the job's account, empties schema on both and
// creates it on the source with stmts.
func prepare(t *testing.T, schema string, stmts ...string) (src, dst *sql.DB) {
	t.Helper()
	return sandboxtest.Prepare(t, pair, jobUser, jobPassword, schema, stmts...)
}

// conn is a mysql_connection_config for the job's account on server c.
func conn(c *config.MySQLConnection) map[string]any {
	return map[string]any{"mysql_host": c.Host, "mysql_port": c.Port, "mysql_user": jobUser, "mysql_password": jobPassword}
}

// eventually polls f until it returns "" or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, f func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if last = f(); last == "" {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %s\nagent log:\n%s", what, timeout, last, agent.LogTail(30))
}

func scalar(t *testing.T, db *sql.DB, q string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func itoa(n int) string { return fmt.Sprint(n) }
