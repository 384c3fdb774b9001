package api_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/api"
)

// userEnv sends requests to one API and checks every reply: no password it
// knows of shows in it, an error is the API's error shape, and a 200 of a
// route of the 4.x contract fits the contract's model.
type userEnv struct {
	t    *testing.T
	base string
	// passwords must never show in a reply or a log.
	passwords *[]string
}

func newUserEnv(t *testing.T, base string, passwords *[]string) *userEnv {
	return &userEnv{t: t, base: base, passwords: passwords}
}

// raw sends a request with token as "Authorization: Bearer" ("" sends
// none) and returns the reply unchecked; it is safe in any goroutine.
// body: nil, url.Values (a form) or a value sent as JSON.
func (e *userEnv) raw(method, path string, body any, token string) (reply, error) {
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, rd)
	if err != nil {
		return reply{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Body: b}, err
}

// do is raw that checks the reply (see userEnv).
func (e *userEnv) do(method, path string, body any, token string) reply {
	e.t.Helper()
	r, err := e.raw(method, path, body, token)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	for _, pw := range *e.passwords {
		if strings.Contains(string(r.Body), pw) {
			e.t.Fatalf("%s %s: the reply holds a user's password: %.300s", method, path, r.Body)
		}
	}
	switch {
	case r.Status == http.StatusOK && userRoute(path):
		checkContractReply(e.t, method, path, r.Body)
	case r.Status >= 400:
		var m map[string]any
		if json.Unmarshal(r.Body, &m) != nil || m["message"] == "" || m["error_code"] == "" {
			e.t.Fatalf("%s %s: %d is not the API's error shape: %.300s", method, path, r.Status, r.Body)
		}
	}
	return r
}

// userRoute: path is one of the users, roles, tenants and login routes.
func userRoute(path string) bool {
	for _, p := range []string{"/v2/user/", "/v2/role/", "/v2/tenant/", "/v2/login"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// ok sends a request and fails unless it is a 200 with message "ok".
func (e *userEnv) ok(method, path string, body any, token string) map[string]any {
	e.t.Helper()
	return mustOK(e.t, e.do(method, path, body, token))
}

// refused sends a request and fails unless it gets status with a message
// holding want.
func (e *userEnv) refused(status int, want, method, path string, body any, token string) {
	e.t.Helper()
	wantError(e.t, e.do(method, path, body, token), status, want)
}

// login logs in without a captcha and returns the token.
func (e *userEnv) login(tenant, user, password string) string {
	e.t.Helper()
	m := e.ok(http.MethodPost, "/v2/loginWithoutVerifyCode", map[string]string{"tenant": tenant, "username": user, "password": password}, "")
	tok, _ := m["data"].(map[string]any)["token"].(string)
	if tok == "" {
		e.t.Fatalf("login of %s:%s: no token", tenant, user)
	}
	return tok
}

// createUser creates tenant:user with role and password, as token.
func (e *userEnv) createUser(token, tenant, user, role, password string) {
	e.t.Helper()
	*e.passwords = append(*e.passwords, password)
	e.ok(http.MethodPost, "/v2/user/create", map[string]string{"tenant": tenant, "username": user, "role": role,
		"pass_word": password, "remark": "made by a test"}, token)
}

// qualified lists "tenant:<field>" of each object of the array list in
// reply m: the users (field username) or roles (field name) it shows.
func qualified(m map[string]any, list, field string) []string {
	out := []string{}
	items, _ := m[list].([]any)
	for _, it := range items {
		o, _ := it.(map[string]any)
		tenant, _ := o["tenant"].(string)
		name, _ := o[field].(string)
		out = append(out, tenant+":"+name)
	}
	return out
}

// clusterSecret reads the cluster's secret from Nomad, as the plugins do.
// The first plugin to need it makes it: a captcha needs it.
func clusterSecret(t *testing.T) []byte {
	t.Helper()
	mustOK(t, callWith(t, http.MethodPost, "/v2/login/captcha", url.Values{"captcha_type": {"default"}}, ""))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var v *nomad.Variable
	eventually(t, time.Minute, "the cluster secret in Nomad", func() string {
		var err error
		v, _, err = agent.Client().Variables().Read("dtle/cluster-secret", (&nomad.QueryOptions{Namespace: "default"}).WithContext(ctx))
		if err != nil {
			return err.Error()
		}
		return ""
	})
	b, err := hex.DecodeString(v.Items["key"])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bootstrapLine matches the log line with the first admin's password.
var bootstrapLine = regexp.MustCompile(`created the first user.*password=(\S+)`)

// bootstrapPassword waits for the plugin to log the first admin's
// password and checks that it logged it once.
func bootstrapPassword(t *testing.T) string {
	t.Helper()
	var pw string
	eventually(t, time.Minute, "the first admin's password in the plugin log", func() string {
		b, err := os.ReadFile(agent.LogPath)
		if err != nil {
			return err.Error()
		}
		all := bootstrapLine.FindAllStringSubmatch(string(b), -1)
		switch len(all) {
		case 0:
			return "not logged yet"
		case 1:
			pw = all[0][1]
			return ""
		}
		t.Fatalf("the first admin's password is logged %d times", len(all))
		return ""
	})
	return pw
}

// syncBuffer is a log output tests read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveNode runs another API node in the test, on the agent's Nomad with
// the cluster's secret and no api_token, logging at TRACE into logs.
func serveNode(t *testing.T, secret []byte, logs *syncBuffer) string {
	t.Helper()
	return "http://" + serveInProcess(t, api.Config{Addr: "127.0.0.1:0", Nomad: api.NomadConn{Addr: agent.Addr},
		ClusterSecret: func(context.Context) ([]byte, error) { return secret, nil },
		Logger:        hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace})})
}
