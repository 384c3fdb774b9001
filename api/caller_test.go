package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// contextOf is an echo context whose caller is cl (nil: none set).
func contextOf(cl *caller) echo.Context {
	c := echo.New().NewContext(httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil), httptest.NewRecorder())
	if cl != nil {
		c.Set(callerKey, cl)
	}
	return c
}

func userCaller(tenant, role string, actions ...string) *caller {
	cl := &caller{kind: callerUser, tenant: tenant, username: "u", role: role, actions: map[string]bool{}}
	for _, a := range actions {
		cl.actions[a] = true
	}
	return cl
}

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestJobTenantHelpers: what job handlers ask of the caller.
func TestJobTenantHelpers(t *testing.T) {
	tenantJob := map[string]string{MetaTenant: "t1"}
	cases := []struct {
		name   string
		cl     *caller
		meta   map[string]string
		status int // of checkJobTenant: 0 or 404
	}{
		{"the api_token sees every job", fullAccess(callerToken), tenantJob, 0},
		{"no caller set: full access", nil, tenantJob, 0},
		{"a user of the job's tenant sees it", userCaller("t1", "r"), tenantJob, 0},
		{"a user of another tenant does not, as if it did not exist", userCaller("t2", "r"), tenantJob, http.StatusNotFound},
		{"platform users see every tenant's job", userCaller(PlatformTenant, "r"), tenantJob, 0},
		{"a job without the meta is the platform's", userCaller("t1", "r"), map[string]string{}, http.StatusNotFound},
		{"and platform users see it", userCaller(PlatformTenant, "r"), nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := statusOf(checkJobTenant(contextOf(c.cl), c.meta, "j")); got != c.status {
				t.Errorf("checkJobTenant: %d, want %d", got, c.status)
			}
		})
	}

	newJob := []struct {
		name      string
		cl        *caller
		requested string
		want      string
		status    int
	}{
		{"a tenant user's job is its tenant's", userCaller("t1", "r"), "", "t1", 0},
		{"it may name its own", userCaller("t1", "r"), "t1", "t1", 0},
		{"not another", userCaller("t1", "r"), "t2", "", http.StatusForbidden},
		{"the token's job is the platform's", fullAccess(callerToken), "", PlatformTenant, 0},
		{"the token names any tenant", fullAccess(callerToken), "t2", "t2", 0},
		{"a bad name is a 400", fullAccess(callerToken), "a/b", "", http.StatusBadRequest},
	}
	for _, c := range newJob {
		t.Run(c.name, func(t *testing.T) {
			got, err := tenantForNewJob(contextOf(c.cl), c.requested)
			if got != c.want || statusOf(err) != c.status {
				t.Errorf("tenantForNewJob: %q %v, want %q %d", got, err, c.want, c.status)
			}
		})
	}
	if err := requireAction(contextOf(userCaller("t1", "r", "sync-pause")), "migration-pause"); statusOf(err) != http.StatusForbidden {
		t.Errorf("requireAction without the action: %v", err)
	}
	if err := requireAction(contextOf(userCaller("t1", "r", "sync-pause")), "sync-pause"); err != nil {
		t.Errorf("requireAction with the action: %v", err)
	}
	login := userCaller("t1", "r")
	login.session = "a.b.c"
	if got := forwardAuthorization(contextOf(login)); got != "Bearer a.b.c" {
		t.Errorf("forwardAuthorization of a login: %q", got)
	}
	if got := forwardAuthorization(contextOf(fullAccess(callerToken))); got != "" {
		t.Errorf("forwardAuthorization of the api_token: %q", got)
	}
}

// TestGrants: a caller gives nobody more than it has.
func TestGrants(t *testing.T) {
	maker := userCaller("t1", "maker", "user-list", "user-create")
	maker.objectAll = true
	listed := userCaller("t1", "some", "user-list")
	listed.objectUsers = []string{"t1:a"}
	cases := []struct {
		name      string
		cl        *caller
		actions   []string
		objectAll bool
		users     []string
		want      bool
	}{
		{"a subset of the actions", maker, []string{"user-list"}, true, nil, true},
		{"an action it lacks", maker, []string{"user-delete"}, false, nil, false},
		{"the admin role (every action)", maker, nil, true, nil, false},
		{"all users, from a role of listed users", listed, []string{"user-list"}, true, nil, false},
		{"its listed users", listed, []string{}, false, []string{"t1:a"}, true},
		{"other users", listed, []string{}, false, []string{"t1:b"}, false},
		{"the token gives anything", fullAccess(callerToken), nil, true, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.cl.grants(c.actions, c.objectAll, c.users); got != c.want {
				t.Errorf("grants: %v, want %v", got, c.want)
			}
		})
	}
}

// TestAuthorityRoundTrip: a role's authority, as list_action shows menus,
// reads back into the same actions; unknown menus and actions are refused.
func TestAuthorityRoundTrip(t *testing.T) {
	for _, actions := range [][]string{{}, {"user-list"}, {"migration-pause", "node-list", "sync-list"}, allActions} {
		got, err := parseAuthority(authorityString(actions))
		if err != nil || !slices.Equal(got, actions) {
			t.Errorf("%v: read back %v %v", actions, got, err)
		}
	}
	for _, bad := range []string{`{}`, `[{"name":"nope"}]`, `[{"name":"users","operations":[{"action":"user-fly"}]}]`} {
		if _, err := parseAuthority(bad); err == nil {
			t.Errorf("%s: taken", bad)
		}
	}
}

// TestEveryRouteHasAPolicy: every route the server registers, and every
// route of the 4.x contract, has an entry in policies; the routes of the
// 3.x contract are classLegacy (they keep working as before), the 4.x-only
// ones need a login or the token.
func TestEveryRouteHasAPolicy(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", Nomad: NomadConn{Addr: "127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.echo.Routes() {
		if r.Path == "/swagger/*" || r.Path == "/v2/health" {
			continue
		}
		if _, ok := policies[r.Method+" "+r.Path]; !ok {
			t.Errorf("%s %s has no entry in policies", r.Method, r.Path)
		}
	}
	b, err := os.ReadFile("testdata/dtle-4.x-ui-api.swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	legacy := map[string]bool{"GET /v2/nodes": true, "GET /v2/mysql/schemas": true, "GET /v2/monitor/task": true,
		"POST /v2/validation/job": true, "POST /v2/log/level": true, "GET /v2/job/migration/detail": true,
		"GET /v2/job/sync/detail": true, "GET /v2/job/subscription/detail": true}
	for path, ops := range doc.Paths {
		for method := range ops {
			key := strings.ToUpper(method) + " " + path
			p, ok := policies[key]
			if !ok {
				t.Errorf("4.x route %s has no entry in policies", key)
				continue
			}
			want := classLogin
			switch {
			case strings.HasPrefix(path, "/v2/login"):
				want = classPublic
			case legacy[key]:
				want = classLegacy
			}
			if p.class != want {
				t.Errorf("%s: class %d, want %d", key, p.class, want)
			}
		}
	}
}
