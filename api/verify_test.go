package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/secret"
)

// verifyNomad answers GET /v1/job/<id> with the jobs it holds, as Nomad's
// JSON.
func verifyNomad(t *testing.T, jobs map[string]any) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Nomad-Index", "1")
		job, ok := jobs[strings.TrimPrefix(r.URL.Path, "/v1/job/")]
		if r.Method != http.MethodGet || !ok {
			http.Error(w, "job not found", http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(job)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// nomadJob is a dtle job as Nomad holds it, with src and dest task configs.
func nomadJob(id string, src, dest map[string]any) map[string]any {
	group := func(name string, cfg map[string]any) map[string]any {
		return map[string]any{"Name": name, "Tasks": []any{map[string]any{"Name": name, "Driver": "dtle", "Config": cfg}}}
	}
	return map[string]any{"ID": id, "Name": id, "Meta": map[string]string{"job_type": "migration"},
		"TaskGroups": []any{group("src", src), group("dest", dest)}}
}

// TestVerifyRoutes: POST /v2/job/verify compares a job in the background,
// with the job's passwords as the API keeps them (sealed with the
// cluster's secret, bound to the job); GET /v2/job/verify reports it: no
// difference, then the row changed on the destination by key, then
// repaired. The job here is a paused one: its destination holds the
// checkpoint of everything the source executed.
func TestVerifyRoutes(t *testing.T) {
	const schema, job = "api_verify", "verify1-migration"
	src, dst := prepare(t, schema, "CREATE TABLE "+schema+".t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO "+schema+".t SELECT seq, CONCAT('v', seq) FROM "+schema+".seq_1_to_100")
	execAll(t, dst, "CREATE DATABASE "+schema, "CREATE TABLE "+schema+".t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO "+schema+".t SELECT seq, CONCAT('v', seq) FROM "+schema+".seq_1_to_100",
		"CREATE DATABASE IF NOT EXISTS dtle",
		"CREATE TABLE IF NOT EXISTS dtle.checkpoint (job_id VARCHAR(190) NOT NULL PRIMARY KEY, flavor VARCHAR(16) NOT NULL, "+
			"stage VARCHAR(16) NOT NULL, gtid_set LONGTEXT NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))")
	var pos string
	if err := src.QueryRowContext(context.Background(), "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	execAll(t, dst, "REPLACE INTO dtle.checkpoint (job_id, flavor, stage, gtid_set) VALUES ('"+job+"', 'mariadb', 'incr', '"+pos+"')")

	clusterSecret := []byte("verify-test-cluster-secret-of-32-bytes!")
	seal := func(task string, c *config.MySQLConnection) map[string]any {
		sealed, err := secret.Seal(clusterSecret, secret.Binding{Namespace: "default", Job: job, Task: task, Host: c.Host, Port: c.Port,
			User: jobUser}, jobPassword)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"mysql_password_sealed": true, "chunk_size": 2000, "mysql_connection_config": map[string]any{
			"mysql_host": c.Host, "mysql_port": c.Port, "mysql_user": jobUser, "mysql_password": sealed}}
	}
	srcCfg := seal("src", pair.Source)
	srcCfg["replicate_do_db"] = []any{map[string]any{"table_schema": schema}}
	kafkaDest := map[string]any{"kafka_broker_addrs": []string{"127.0.0.1:9092"}, "kafka_topic": "t"}
	nomad := verifyNomad(t, map[string]any{job: nomadJob(job, srcCfg, seal("dest", pair.Dest)),
		"kafka-subscription": nomadJob("kafka-subscription", srcCfg, kafkaDest)})
	const token = "verify-routes-token"
	addr := serveInProcess(t, api.Config{Addr: "127.0.0.1:0", Nomad: api.NomadConn{Addr: nomad}, Token: token,
		ClusterSecret: func(context.Context) ([]byte, error) { return clusterSecret, nil }})
	base := "http://" + addr + "/v2/job/verify"
	get := func(t *testing.T, u string) reply {
		t.Helper()
		req := newRequestURL(t, http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return send(t, req)
	}
	post := func(t *testing.T, u string, form url.Values) reply {
		t.Helper()
		req := newRequestURL(t, http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+token)
		return send(t, req)
	}

	if r := get(t, base+"?job_id="+job); r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), `"error_code":"not_found"`) {
		t.Fatalf("before any comparison: %d %s, want a 404", r.Status, r.Body)
	}
	// run starts a comparison and waits for its report.
	run := func(form url.Values) api.VerifyResponse {
		t.Helper()
		r := post(t, base, form)
		if r.Status != http.StatusOK {
			t.Fatalf("POST %v: %d %s", form, r.Status, r.Body)
		}
		var started api.VerifyStartResponse
		r.json(t, &started)
		deadline := time.Now().Add(time.Minute)
		for {
			var rep api.VerifyResponse
			r := get(t, base+"?job_id="+job)
			r.json(t, &rep)
			if r.Status != http.StatusOK || rep.VerifyID != started.VerifyID {
				t.Fatalf("GET: %d %s, want the report of %s", r.Status, r.Body, started.VerifyID)
			}
			if rep.State != "running" {
				if rep.State != "done" || len(rep.Tables) != 1 || rep.FinishedAt == "" {
					t.Fatalf("comparison ended: %s", r.Body)
				}
				return rep
			}
			if time.Now().After(deadline) {
				t.Fatalf("still running after a minute: %s", r.Body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	rep := run(url.Values{"job_id": {job}, "chunk_size": {"30"}})
	if tb := rep.Tables[0]; rep.Differences != 0 || tb.State != "same" || tb.Rows != 100 || tb.Chunks != 4 ||
		tb.SourceSchema != schema || tb.DestTable != "t" || strings.Join(tb.Key, ",") != "id" {
		t.Fatalf("a clean job: %+v", rep)
	}

	execAll(t, dst, "UPDATE "+schema+".t SET v = 'changed' WHERE id = 7")
	rep = run(url.Values{"job_id": {job}, "tables": {`["` + schema + `.t"]`}})
	if tb := rep.Tables[0]; tb.State != "differs" || tb.Different != 1 || len(tb.DifferentKeys) != 1 || tb.DifferentKeys[0][0] != "7" {
		t.Fatalf("a row changed on the destination: %+v", rep.Tables)
	}
	rep = run(url.Values{"job_id": {job}, "repair": {"true"}, "rows_per_second": {"100000"}})
	if tb := rep.Tables[0]; tb.State != "repaired" || tb.Repaired != 1 || !rep.Repair {
		t.Fatalf("repair: %+v", rep.Tables)
	}
	var v string
	if err := dst.QueryRowContext(context.Background(), "SELECT v FROM "+schema+".t WHERE id = 7").Scan(&v); err != nil || v != "v7" {
		t.Fatalf("after the repair the row holds %q (%v), want v7", v, err)
	}

	for _, c := range []struct {
		name   string
		form   url.Values
		status int
		says   string
	}{
		{"no job_id", url.Values{}, http.StatusBadRequest, "job_id: required"},
		{"a chunk size of 0", url.Values{"job_id": {job}, "chunk_size": {"0"}}, http.StatusBadRequest, "chunk_size"},
		{"a table without its schema", url.Values{"job_id": {job}, "tables": {"t"}}, http.StatusBadRequest, "schema.table"},
		{"repair not a boolean", url.Values{"job_id": {job}, "repair": {"yes please"}}, http.StatusBadRequest, "repair"},
		{"no such job", url.Values{"job_id": {"nope"}}, http.StatusNotFound, "no such job"},
		{"a Kafka destination", url.Values{"job_id": {"kafka-subscription"}}, http.StatusBadRequest, "Kafka"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := post(t, base, c.form)
			if r.Status != c.status || !strings.Contains(string(r.Body), c.says) || !strings.Contains(string(r.Body), `"error_code"`) {
				t.Errorf("%d %s, want %d saying %q", r.Status, r.Body, c.status, c.says)
			}
		})
	}
}
