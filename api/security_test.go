package api_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// send sends req and reads the whole reply; a transport error (such as a
// connection reset while the body is still being sent) fails the test.
func send(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the reply: %v", req.Method, req.URL.Path, err)
	}
	return reply{Status: resp.StatusCode, Body: b}
}

func newRequest(t *testing.T, method, path string, body io.Reader) *http.Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, method, apiURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// wantError fails unless r has status and is the API's error shape with a
// message holding want.
func wantError(t *testing.T, r reply, status int, want string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %.300s", r.Status, status, r.Body)
	}
	m := r.object(t)
	msg, _ := m["message"].(string)
	if code, _ := m["error_code"].(string); code == "" || !strings.Contains(msg, want) {
		t.Errorf("reply %.300s, want a message with %q and an error_code", r.Body, want)
	}
}

// TestBodyLimit: a body over the limit (1 MiB) is a 413 in the API's error
// shape whatever its content type, and the client reads the whole reply
// instead of a reset connection.
func TestBodyLimit(t *testing.T) {
	startAgent(t)
	const big = 10 << 20
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	if err := mw.WriteField("dtle_log_level", strings.Repeat("A", big)); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	var small bytes.Buffer
	sw := multipart.NewWriter(&small)
	if err := sw.WriteField("dtle_log_level", "LOUD"); err != nil {
		t.Fatal(err)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, ctype string
		body              []byte
		chunked           bool // send without Content-Length
		status            int
		want              string
	}{
		{"10 MiB JSON job", "/v2/job/migration", "application/json",
			[]byte(`{"job_name": "` + strings.Repeat("x", big) + `"}`), false, 413, "larger than 1048576 bytes"},
		{"10 MiB form", "/v2/job/pause", "application/x-www-form-urlencoded",
			[]byte("job_id=" + strings.Repeat("x", big)), false, 413, "larger than 1048576 bytes"},
		{"10 MiB multipart form", "/v2/log/level", mw.FormDataContentType(), mp.Bytes(), false, 413, "larger than 1048576 bytes"},
		{"2 MiB JSON without a length: refused once read past the limit", "/v2/validation/job", "application/json",
			[]byte(`{"job_name": "` + strings.Repeat("x", 2<<20) + `"}`), true, 413, "larger than 1048576 bytes"},
		{"a small multipart form is read", "/v2/log/level", sw.FormDataContentType(), small.Bytes(), false, 400, "dtle_log_level"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(c.body)
			if c.chunked {
				body = struct{ io.Reader }{body} // hides the length
			}
			req := newRequest(t, http.MethodPost, c.path, body)
			req.Header.Set("Content-Type", c.ctype)
			req.Header.Set("Authorization", "Bearer "+apiToken)
			wantError(t, send(t, req), c.status, c.want)
		})
	}
	mustOK(t, call(t, http.MethodGet, "/v2/jobs", nil)) // still serving
}

// TestTokenNeedsBearer: the token counts only as "Authorization: Bearer
// <token>", the scheme in any case and one space; health and swagger need
// none.
func TestTokenNeedsBearer(t *testing.T) {
	startAgent(t)
	cases := []struct {
		name, header string
		status       int
	}{
		{"Bearer", "Bearer " + apiToken, 200},
		{"scheme in lower case", "bearer " + apiToken, 200},
		{"scheme in upper case", "BEARER " + apiToken, 200},
		{"bare token", apiToken, 401},
		{"another scheme", "Basic " + apiToken, 401},
		{"Token scheme", "Token " + apiToken, 401},
		{"two spaces", "Bearer  " + apiToken, 401},
		{"no space", "Bearer" + apiToken, 401},
		{"scheme only", "Bearer", 401},
		{"wrong token", "Bearer " + apiToken + "x", 401},
		{"token prefix", "Bearer " + apiToken[:len(apiToken)-1], 401},
		{"no header", "", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := newRequest(t, http.MethodGet, "/v2/jobs", nil)
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			r := send(t, req)
			if c.status == 200 {
				mustOK(t, r)
				return
			}
			wantError(t, r, c.status, "Authorization: Bearer <api_token>")
		})
	}
	for _, path := range []string{"/v2/health", "/swagger/index.html"} {
		if r := send(t, newRequest(t, http.MethodGet, path, nil)); r.Status != http.StatusOK {
			t.Errorf("%s without a token: %d %.200s", path, r.Status, r.Body)
		}
	}
}

// TestNomadIDsChecked: node and allocation ids, which go unescaped into
// Nomad's URL paths, are refused unless they are UUIDs, naming the field;
// job ids, which Nomad's client escapes, only find no job.
func TestNomadIDsChecked(t *testing.T) {
	startAgent(t)
	monitor := func(alloc string) string {
		return "/v2/monitor/task?" + url.Values{"allocation_id": {alloc}, "task_name": {"src"}}.Encode()
	}
	// A node_id of 36 characters with four dashes that reaches
	// /v1/agent/self: without the check the job was registered with it.
	const nodePath = "../agent/self?x=a-b-c-d-eeeeeeeeeeee"
	pinned := strings.NewReplacer(`"failover": true`, `"failover": false`,
		`"task_name": "src"`, `"task_name": "src", "node_id": "`+nodePath+`"`,
		`"task_name": "dest"`, `"task_name": "dest", "node_id": "`+nodePath+`"`,
		`"job_name": "job1"`, `"job_name": "idcheck"`).Replace(seedMySQLJob)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		want               string
	}{
		{"allocation_id climbing to /v1/jobs", "GET", monitor("../jobs"), nil, 400, `allocation_id "../jobs": not a Nomad allocation id`},
		{"allocation_id climbing to /v1/agent/self", "GET", monitor("../agent/self"), nil, 400, "allocation_id"},
		{"allocation_id with a non-hex digit", "GET", monitor("0000000g-0000-0000-0000-000000000000"), nil, 400, "allocation_id"},
		{"allocation_id one short", "GET", monitor("00000000-0000-0000-0000-00000000000"), nil, 400, "allocation_id"},
		{"allocation_id with dashes misplaced", "GET", monitor("00000000000000000000000000000000----"), nil, 400, "allocation_id"},
		{"node_id climbing to /v1/agent/self", "POST", "/v2/job/migration", pinned, 400, `node_id "` + nodePath + `": not a Nomad node id`},
		{"job_id with ../ is escaped: no such job", "GET", "/v2/job/sync/detail?job_id=../jobs", nil, 404, "no such job"},
		{"job_id .. is escaped: no such job", "POST", "/v2/job/pause", url.Values{"job_id": {".."}}, 404, "no such job"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, c.method, c.path, c.body)
			if r.Status == http.StatusOK && strings.Contains(c.path, "/v2/job/migration") {
				call(t, http.MethodPost, "/v2/job/delete", url.Values{"job_id": {"idcheck-migration"}})
			}
			wantError(t, r, c.status, c.want)
		})
	}
}
