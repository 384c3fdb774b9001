package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dtle-io/dtle/api"
)

// Routes that act on a job's servers with its stored credentials (repair,
// checkpoint moves, replacement SQL, speed limits) are not open to the
// network on a node without an api_token: a client elsewhere gets a 401
// that says what to set; one on this machine gets through to the handler.
func TestCredentialedRoutesNeedATokenFromElsewhere(t *testing.T) {
	srv, err := api.New(api.Config{Addr: "127.0.0.1:0", Nomad: api.NomadConn{Addr: "127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v2/job/skip", "/v2/job/checkpoint", "/v2/job/verify", "/v2/job/speed_limit"} {
		for _, from := range []string{"203.0.113.5:40000", "127.0.0.1:40000"} {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, path, strings.NewReader(`{"job_id":"j1"}`))
			req.Header.Set("Content-Type", "application/json")
			req.RemoteAddr = from
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			local := strings.HasPrefix(from, "127.")
			switch {
			case !local && (rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "api_token")):
				t.Errorf("POST %s from %s: %d %s, want a 401 naming api_token", path, from, rec.Code, rec.Body)
			case local && rec.Code == http.StatusUnauthorized:
				t.Errorf("POST %s from this machine: %d %s", path, rec.Code, rec.Body)
			}
		}
	}
}
