package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dtle-io/dtle/internal/secret"
)

// "*" in an update keeps the stored password only for the same server and
// user; pointed elsewhere, or on a job that has none, it is a 400 that asks
// for the password. Before, a job moved to another host sent it the stored
// password, and a new job stored "*" as its password.
func TestMaskedPasswordStaysWithItsServer(t *testing.T) {
	startAgent(t)
	const id = "keep-pw-sync"
	body := func(password string, port int) string {
		return strings.NewReplacer("%PW%", password, "%PORT%", itoa(port), "%ID%", id).Replace(`{"job_id": "%ID%",
  "src_task": {"task_name": "src", "replicate_do_db": [],
    "mysql_connection_config": {"mysql_host": "10.186.63.28", "mysql_port": %PORT%, "mysql_user": "test", "mysql_password": "%PW%"}},
  "dest_task": {"task_name": "dest",
    "mysql_connection_config": {"mysql_host": "10.186.63.28", "mysql_port": 3308, "mysql_user": "test", "mysql_password": "pw-of-dest"}}}`)
	}
	mustOK(t, call(t, http.MethodPost, "/v2/job/sync", body("pw-of-src", 3307)))
	t.Cleanup(func() { call(t, http.MethodPost, "/v2/job/delete", url.Values{"job_id": {id}}) })

	storedSrcPassword := func() string {
		job, _, err := agent.Client().Jobs().Info(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range job.TaskGroups {
			for _, task := range tg.Tasks {
				if task.Name == "src" {
					mc, _ := task.Config["mysql_connection_config"].(map[string]any)
					sealed, _ := mc["mysql_password"].(string)
					pw, err := secret.Decrypt(rsaKey, sealed) // the agent has a key: stored passwords are sealed
					if err != nil {
						t.Fatalf("stored password: %v", err)
					}
					return pw
				}
			}
		}
		t.Fatal("no src task")
		return ""
	}
	if pw := storedSrcPassword(); pw != "pw-of-src" {
		t.Fatalf("stored src password %q", pw)
	}
	// The same server: kept.
	mustOK(t, call(t, http.MethodPost, "/v2/job/sync", body("*", 3307)))
	if pw := storedSrcPassword(); pw != "pw-of-src" {
		t.Fatalf("after an update with *: stored %q, want the one given before", pw)
	}
	// Another port: refused, and the job keeps what it had.
	r := call(t, http.MethodPost, "/v2/job/sync", body("*", 3399))
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "src_task.mysql_connection_config.mysql_password") ||
		!strings.Contains(string(r.Body), "give the password") {
		t.Fatalf("update to another port with *: %d %s", r.Status, r.Body)
	}
	if pw := storedSrcPassword(); pw != "pw-of-src" {
		t.Fatalf("after a refused update: stored %q", pw)
	}
	// A new job has no stored password.
	r = call(t, http.MethodPost, "/v2/job/sync", strings.Replace(body("*", 3307), id, "keep-pw-new", 1))
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "has none") {
		t.Fatalf("create with *: %d %s", r.Status, r.Body)
	}
}
