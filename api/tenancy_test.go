package api_test

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/api"
)

// TestJobTenancy: jobs belong to the tenant of the user who created them.
// Two tenants' users with every job right: the jobs one creates (3.x and
// 4.x) are, to the other, as if they did not exist on every job route (a
// 404 that says "no such job"), and cannot be taken over by registering
// their id again; their owner can change them; a role lacking sync-delete
// cannot delete a sync job; the platform admin sees every tenant's jobs.
// The jobs point at a closed port: nothing needs to run.
func TestJobTenancy(t *testing.T) {
	startAgent(t)
	clusterSecret(t) // logins need it
	passwords := &[]string{}
	env := newUserEnv(t, apiURL, passwords)
	run := strings.ToLower(rand.Text()[:6])
	tenantA, tenantB, padmin := "ja-"+run, "jb-"+run, "padmin"+run
	jobA3, jobA4, jobB := "tena-"+run+"-sync", "tena4-"+run+"-migration", "tenb-"+run+"-sync"
	t.Cleanup(func() {
		env.t = t
		for _, id := range []string{jobA3, jobA4, jobB} {
			env.do(http.MethodPost, "/v2/job/delete", url.Values{"job_id": {id}}, apiToken)
		}
		cleanTenants(env, tenantA, tenantB)
		env.do(http.MethodPost, "/v2/user/delete", url.Values{"tenant": {api.PlatformTenant}, "username": {padmin}}, apiToken)
	})

	env.createUser(apiToken, tenantA, "alice", api.AdminRole, "Alice-pw-"+run)
	env.createUser(apiToken, tenantB, "bob", api.AdminRole, "Bob-pw-"+run)
	env.createUser(apiToken, api.PlatformTenant, padmin, api.AdminRole, "Padmin-pw-"+run)
	// carol may do all to sync jobs but delete them; migration-delete lets
	// her through the 3.x delete route, the job's type does not.
	env.ok(http.MethodPost, "/v2/role/create", map[string]any{"tenant": tenantA, "name": "keeper", "operation_object_type": "all",
		"authority": authority(t, env, apiToken, "sync-list", "sync-detail", "sync-pause", "sync-resume", "sync-update", "migration-delete")}, apiToken)
	env.createUser(apiToken, tenantA, "carol", "keeper", "Carol-pw-"+run)
	alice, bob := env.login(tenantA, "alice", "Alice-pw-"+run), env.login(tenantB, "bob", "Bob-pw-"+run)
	carol, admin := env.login(tenantA, "carol", "Carol-pw-"+run), env.login(api.PlatformTenant, padmin, "Padmin-pw-"+run)

	job3 := func(id, host string) json.RawMessage {
		return json.RawMessage(strings.NewReplacer("%ID%", id, "%HOST%", host).Replace(`{"job_id": "%ID%",
  "src_task": {"task_name": "src", "replicate_do_db": [],
    "mysql_connection_config": {"mysql_host": "%HOST%", "mysql_port": 1, "mysql_user": "u", "mysql_password": "pw"}},
  "dest_task": {"task_name": "dest",
    "mysql_connection_config": {"mysql_host": "127.0.0.1", "mysql_port": 1, "mysql_user": "u", "mysql_password": "pw"}}}`))
	}
	closed := map[string]any{"src_task.connection_config.host": "127.0.0.1", "src_task.connection_config.port": 1,
		"dest_task.connection_config.host": "127.0.0.1", "dest_task.connection_config.port": 1}
	job4 := mysqlJob4(t, strings.TrimSuffix(jobA4, "-migration"), "tenancy", closed)

	env.ok(http.MethodPost, "/v2/job/sync", job3(jobA3, "127.0.0.1"), alice)
	env.ok(http.MethodPost, "/v2/job/migration/create", job4, alice)
	env.ok(http.MethodPost, "/v2/job/sync", job3(jobB, "127.0.0.1"), bob)

	// listed: the ids of ours among the jobs of a list.
	listed := func(path, token string) []string {
		t.Helper()
		out := []string{}
		for _, j := range env.ok(http.MethodGet, path, nil, token)["jobs"].([]any) {
			if id := j.(map[string]any)["job_id"].(string); strings.Contains(id, run) {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	t.Run("lists show the caller's tenant's jobs", func(t *testing.T) {
		env.t = t
		cases := []struct {
			name, path, token string
			want              []string
		}{
			{"alice, 3.x", "/v2/jobs", alice, []string{jobA3, jobA4}},
			{"alice, 4.x", "/v2/jobs/sync", alice, []string{jobA3}},
			{"alice, 4.x migration", "/v2/jobs/migration", alice, []string{jobA4}},
			{"bob, 3.x", "/v2/jobs", bob, []string{jobB}},
			{"bob, 4.x", "/v2/jobs/sync", bob, []string{jobB}},
			{"bob sees no migration job", "/v2/jobs/migration", bob, []string{}},
			{"carol lists only the types her role lists", "/v2/jobs", carol, []string{jobA3}},
			{"the platform admin sees every tenant, 3.x", "/v2/jobs", admin, []string{jobA3, jobA4, jobB}},
			{"the platform admin sees every tenant, 4.x", "/v2/jobs/sync", admin, []string{jobA3, jobB}},
			{"the api_token sees every tenant", "/v2/jobs", apiToken, []string{jobA3, jobA4, jobB}},
		}
		for _, c := range cases {
			if got := listed(c.path, c.token); !slices.Equal(got, c.want) {
				t.Errorf("%s: GET %s lists %v, want %v", c.name, c.path, got, c.want)
			}
		}
		for _, j := range env.ok(http.MethodGet, "/v2/jobs/sync", nil, admin)["jobs"].([]any) {
			if j := j.(map[string]any); j["job_id"] == jobA3 && j["user"] != tenantA+":alice" {
				t.Errorf("the 4.x list's user of alice's job: %v", j["user"])
			}
		}
	})

	t.Run("another tenant's job does not exist", func(t *testing.T) {
		env.t = t
		var alloc string
		eventually(t, time.Minute, "an allocation of alice's job", func() string {
			allocs, _, err := agent.Client().Jobs().Allocations(jobA3, true, nil)
			if err != nil || len(allocs) == 0 {
				return "none yet"
			}
			alloc = allocs[0].ID
			return ""
		})
		form := url.Values{"job_id": {jobA3}}
		cases := []struct {
			method, path string
			body         any
			want         string
		}{
			{http.MethodGet, "/v2/job/sync/detail?job_id=" + jobA3, nil, "no such job"},
			{http.MethodGet, "/v2/job/migration/detail?job_id=" + jobA3, nil, "no such job"}, // not "is a sync job"
			{http.MethodGet, "/v2/job/position?job_id=" + jobA3, nil, "no such job"},
			{http.MethodPost, "/v2/job/pause", form, "no such job"},
			{http.MethodPost, "/v2/job/resume", form, "no such job"},
			{http.MethodPost, "/v2/job/delete", form, "no such job"},
			{http.MethodPost, "/v2/job/sync/pause", form, "no such job"},
			{http.MethodPost, "/v2/job/sync/resume", form, "no such job"},
			{http.MethodPost, "/v2/job/sync/delete", form, "no such job"},
			{http.MethodPost, "/v2/job/verify", form, "no such job"},
			{http.MethodGet, "/v2/job/verify?job_id=" + jobA3, nil, "no such job"},
			{http.MethodGet, "/v2/job/speed_limit?job_id=" + jobA3, nil, "no such job"},
			{http.MethodPost, "/v2/job/speed_limit", map[string]any{"job_id": jobA3, "reset": true}, "no such job"},
			{http.MethodGet, "/v2/monitor/task?task_name=src&job_id=" + jobA3, nil, "no such job"},
			{http.MethodGet, "/v2/monitor/task?task_name=src&allocation_id=" + alloc, nil, "no such allocation"},
			{http.MethodPost, "/v2/job/migration/update", job4, "no such job"},
			{http.MethodGet, "/v2/job/status?job_id=" + jobA3, nil, "no such job"},
			{http.MethodPost, "/v2/job/checkpoint", url.Values{"job_id": {jobA3}, "gtid_set": {"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5"}}, "no such job"},
			{http.MethodPost, "/v2/job/skip", url.Values{"job_id": {jobA3}, "gtid": {"3e11fa47-71ca-11e1-9e33-c80aa9429562:6"}}, "no such job"},
			{http.MethodGet, "/v2/job/skip?job_id=" + jobA3, nil, "no such job"},
		}
		for _, c := range cases {
			r := env.do(c.method, c.path, c.body, bob)
			if r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), c.want) {
				t.Errorf("bob: %s %s: %d %.200s, want 404 %q", c.method, c.path, r.Status, r.Body, c.want)
			}
		}
		// Its id is taken, and stays alice's.
		for _, c := range []struct {
			path string
			body any
		}{{"/v2/job/sync", job3(jobA3, "127.0.0.2")}, {"/v2/job/migration/create", job4}} {
			if r := env.do(http.MethodPost, c.path, c.body, bob); r.Status != http.StatusConflict {
				t.Errorf("bob registers alice's job by %s: %d %.200s, want 409", c.path, r.Status, r.Body)
			}
		}
		job, _, err := agent.Client().Jobs().Info(jobA3, nil)
		if err != nil {
			t.Fatal(err)
		}
		if job.Meta[api.MetaTenant] != tenantA || job.Meta["dtle_user"] != "alice" {
			t.Errorf("alice's job's owner: %v", job.Meta)
		}
		if d := env.ok(http.MethodGet, "/v2/job/sync/detail?job_id="+jobA3, nil, alice); !strings.Contains(mustJSON(t, d), `"mysql_host":"127.0.0.1"`) {
			t.Errorf("alice's job changed: %v", d["src_task_detail"])
		}
	})

	t.Run("the owner's tenant acts on it, as its role allows", func(t *testing.T) {
		env.t = t
		env.ok(http.MethodGet, "/v2/job/speed_limit?job_id="+jobA3, nil, alice)
		env.refused(http.StatusNotFound, "ran no comparison", http.MethodGet, "/v2/job/verify?job_id="+jobA3, nil, alice)
		env.ok(http.MethodPost, "/v2/job/sync", job3(jobA3, "127.0.0.2"), alice)
		env.ok(http.MethodPost, "/v2/job/migration/update", job4, alice)
		env.ok(http.MethodPost, "/v2/job/pause", url.Values{"job_id": {jobA3}}, carol)
		env.ok(http.MethodPost, "/v2/job/sync/resume", url.Values{"job_id": {jobA3}}, carol)
		env.refused(http.StatusForbidden, "sync-delete", http.MethodPost, "/v2/job/delete", url.Values{"job_id": {jobA3}}, carol)
		env.refused(http.StatusForbidden, "sync-delete", http.MethodPost, "/v2/job/sync/delete", url.Values{"job_id": {jobA3}}, carol)
		env.refused(http.StatusForbidden, "migration-detail", http.MethodGet, "/v2/job/speed_limit?job_id="+jobA4, nil, carol)
		env.refused(http.StatusNotFound, "no such job", http.MethodPost, "/v2/job/delete", url.Values{"job_id": {jobB}}, carol)
		env.ok(http.MethodPost, "/v2/job/delete", url.Values{"job_id": {jobA3}}, alice)
		env.ok(http.MethodPost, "/v2/job/migration/delete", url.Values{"job_id": {jobA4}}, alice)
		env.ok(http.MethodPost, "/v2/job/delete", url.Values{"job_id": {jobB}}, admin)
		if got := listed("/v2/jobs", admin); len(got) != 0 {
			t.Errorf("after the deletes: %v", got)
		}
	})
}
