package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/position"
	"github.com/dtle-io/dtle/kafka"
)

// positionNomad answers GET /v1/job/<id> with the jobs it holds and GET
// /v1/job/<id>/allocations with their allocations, as Nomad's JSON.
func positionNomad(t *testing.T, jobs map[string]any, allocs map[string][]any) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Nomad-Index", "1")
		path := strings.TrimPrefix(r.URL.Path, "/v1/job/")
		if id, ok := strings.CutSuffix(path, "/allocations"); ok && r.Method == http.MethodGet {
			list := allocs[id]
			if list == nil {
				list = []any{}
			}
			_ = json.NewEncoder(w).Encode(list)
			return
		}
		job, ok := jobs[path]
		if r.Method != http.MethodGet || !ok {
			http.Error(w, "job not found", http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(job)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// paused is a Nomad job as POST /v2/job/pause leaves it.
func paused(job map[string]any) map[string]any {
	job["Meta"] = map[string]string{"job_type": "migration", "dtle_paused": "true"}
	return job
}

// TestPositionRoutes: the position routes refuse a job that runs, or
// whose tasks still run, what a Kafka job cannot do, and bad parameters; on a
// paused job they move its checkpoint and record, list and cancel a skip,
// on its destination with the job's credentials.
func TestPositionRoutes(t *testing.T) {
	const schema, job = "api_position", "pos1-migration"
	ctx := context.Background()
	src, dst := prepare(t, schema, "CREATE TABLE "+schema+".t (id INT PRIMARY KEY)", "INSERT INTO "+schema+".t VALUES (1)")
	execAll(t, dst, "CREATE DATABASE IF NOT EXISTS dtle",
		"CREATE TABLE IF NOT EXISTS dtle.checkpoint (job_id VARCHAR(190) NOT NULL PRIMARY KEY, flavor VARCHAR(16) NOT NULL, "+
			"stage VARCHAR(16) NOT NULL, gtid_set LONGTEXT NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))")
	var now string
	if err := src.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&now); err != nil {
		t.Fatal(err)
	}
	execAll(t, src, "INSERT INTO "+schema+".t VALUES (2)")
	var later string
	if err := src.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&later); err != nil {
		t.Fatal(err)
	}
	execAll(t, dst, "REPLACE INTO dtle.checkpoint (job_id, flavor, stage, gtid_set) VALUES ('"+job+"', 'mariadb', 'incr', '"+now+"')",
		"REPLACE INTO dtle.checkpoint (job_id, flavor, stage, gtid_set) VALUES ('copying-migration', 'mariadb', 'full', '')")
	srcCfg := map[string]any{"mysql_connection_config": conn(pair.Source)}
	destCfg := map[string]any{"mysql_connection_config": conn(pair.Dest)}
	kafka := map[string]any{"kafka_broker_addrs": []string{"127.0.0.1:9092"}, "kafka_topic": "t"}
	nomad := positionNomad(t, map[string]any{
		job:                   paused(nomadJob(job, srcCfg, destCfg)),
		"copying-migration":   paused(nomadJob("copying-migration", srcCfg, destCfg)),
		"never-migration":     paused(nomadJob("never-migration", srcCfg, destCfg)),
		"running-migration":   nomadJob("running-migration", srcCfg, destCfg),
		"stopping-migration":  paused(nomadJob("stopping-migration", srcCfg, destCfg)),
		"kafka-subscription":  paused(nomadJob("kafka-subscription", srcCfg, kafka)),
		"kafka2-subscription": nomadJob("kafka2-subscription", srcCfg, kafka),
	}, map[string][]any{
		"stopping-migration": {map[string]any{"ID": "a1", "ClientStatus": "running"}},
		job:                  {map[string]any{"ID": "a0", "ClientStatus": "complete"}},
	})
	addr := serveInProcess(t, api.Config{Addr: "127.0.0.1:0", Nomad: api.NomadConn{Addr: nomad}})
	post := func(route string, form url.Values) reply {
		t.Helper()
		req := newRequestURL(t, http.MethodPost, "http://"+addr+route, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return send(t, req)
	}
	refused := []struct {
		name   string
		route  string
		form   url.Values
		status int
		says   string
	}{
		{"a running job", "/v2/job/checkpoint", url.Values{"job_id": {"running-migration"}, "gtid_set": {now}}, http.StatusConflict, "POST /v2/job/pause"},
		{"a job whose tasks still run", "/v2/job/skip", url.Values{"job_id": {"stopping-migration"}, "gtid": {"0-1-1"}}, http.StatusConflict, "still running"},
		{"sql for a Kafka job", "/v2/job/skip", url.Values{"job_id": {"kafka-subscription"}, "gtid": {"0-1-1"}, "sql": {"DELETE FROM a.t"}},
			http.StatusBadRequest, "Kafka, which runs no SQL"},
		{"cancel for a Kafka job", "/v2/job/skip", url.Values{"job_id": {"kafka-subscription"}, "gtid": {"0-1-1"}, "cancel": {"true"}},
			http.StatusBadRequest, "nothing pending"},
		{"a running Kafka job", "/v2/job/skip", url.Values{"job_id": {"kafka2-subscription"}, "gtid": {"0-1-1"}}, http.StatusConflict, "POST /v2/job/pause"},
		{"a job that never ran", "/v2/job/checkpoint", url.Values{"job_id": {"never-migration"}, "gtid_set": {now}}, http.StatusConflict, "binlog_file and binlog_pos"},
		{"a job in its full copy", "/v2/job/skip", url.Values{"job_id": {"copying-migration"}, "gtid": {"0-1-1"}}, http.StatusConflict, "full copy"},
		{"no such job", "/v2/job/checkpoint", url.Values{"job_id": {"nosuch"}, "gtid_set": {now}}, http.StatusNotFound, "no such job"},
		{"no position", "/v2/job/checkpoint", url.Values{"job_id": {job}}, http.StatusBadRequest, "give the position"},
		{"two positions", "/v2/job/checkpoint", url.Values{"job_id": {job}, "gtid_set": {now}, "binlog_file": {"b.000001"}, "binlog_pos": {"4"}},
			http.StatusBadRequest, "not both"},
		{"a file without its position", "/v2/job/checkpoint", url.Values{"job_id": {job}, "binlog_file": {"b.000001"}}, http.StatusBadRequest, "give both"},
		{"a position in a file header", "/v2/job/checkpoint", url.Values{"job_id": {job}, "binlog_file": {"b.000001"}, "binlog_pos": {"3"}},
			http.StatusBadRequest, "between 4"},
		{"not a GTID set", "/v2/job/checkpoint", url.Values{"job_id": {job}, "gtid_set": {"3e11fa47-71ca-11e1-9e33-c80aa9429562:1"}},
			http.StatusBadRequest, "bad position"},
		{"ahead of the source", "/v2/job/checkpoint", url.Values{"job_id": {job}, "gtid_set": {"0-1-999999999"}}, http.StatusBadRequest, "ahead of the source"},
		{"no such binlog file", "/v2/job/checkpoint", url.Values{"job_id": {job}, "binlog_file": {"no-such-bin.000001"}, "binlog_pos": {"4"}},
			http.StatusBadRequest, "no binlog position"},
		// It would reach SHOW BINLOG EVENTS on a MySQL source, which takes no parameters.
		{"a file name that is SQL", "/v2/job/checkpoint", url.Values{"job_id": {job}, "binlog_file": {"b.000001' OR '1'='1"}, "binlog_pos": {"4"}},
			http.StatusBadRequest, "want a binlog file name"},
		{"no gtid", "/v2/job/skip", url.Values{"job_id": {job}}, http.StatusBadRequest, "gtid: required"},
		{"not one gtid", "/v2/job/skip", url.Values{"job_id": {job}, "gtid": {"0-1-5,1-1-5"}}, http.StatusBadRequest, "not one MariaDB GTID"},
		{"an applied transaction", "/v2/job/skip", url.Values{"job_id": {job}, "gtid": {now}}, http.StatusBadRequest, "applied"},
		{"two statements in one item", "/v2/job/skip", url.Values{"job_id": {job}, "gtid": {later}, "sql": {`["DELETE FROM a.t; DELETE FROM a.u"]`}},
			http.StatusBadRequest, "one statement per item"},
		{"a statement that is not a change", "/v2/job/skip", url.Values{"job_id": {job}, "gtid": {later}, "sql": {"SELECT 1"}},
			http.StatusBadRequest, "neither a row change"},
		{"cancel with sql", "/v2/job/skip", url.Values{"job_id": {job}, "gtid": {later}, "sql": {"DELETE FROM a.t"}, "cancel": {"true"}},
			http.StatusBadRequest, "give one of them"},
		{"statements as repeated fields", "/v2/job/skip", url.Values{"job_id": {job}, "gtid": {later}, "sql": {"DELETE FROM a.t", "DELETE FROM a.u"}},
			http.StatusBadRequest, "one JSON array"},
		{"cancel nothing", "/v2/job/skip", url.Values{"job_id": {job}, "gtid": {later}, "cancel": {"true"}}, http.StatusNotFound, "no pending"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			r := post(c.route, c.form)
			if r.Status != c.status || !strings.Contains(string(r.Body), c.says) {
				t.Fatalf("%d %s, want %d saying %q", r.Status, r.Body, c.status, c.says)
			}
		})
	}

	// A skip, then a replacement instead, listed; cancelled.
	r := post("/v2/job/skip", url.Values{"job_id": {job}, "gtid": {later}})
	var sr api.SkipResponse
	r.json(t, &sr)
	if r.Status != http.StatusOK || sr.Request.Action != "skip" || sr.Request.State != "pending" || sr.Request.Gtid != later {
		t.Fatalf("skip: %d %s", r.Status, r.Body)
	}
	r = post("/v2/job/skip", url.Values{"job_id": {job}, "gtid": {later}, "sql": {`["UPDATE ` + schema + `.t SET id = 3 WHERE id = 2"]`}})
	r.json(t, &sr)
	if r.Status != http.StatusOK || sr.Request.Action != "replace" || len(sr.Request.SQL) != 1 {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	}
	r = send(t, newRequestURL(t, http.MethodGet, "http://"+addr+"/v2/job/skip?job_id="+job, nil))
	var list api.SkipListResponse
	r.json(t, &list)
	if r.Status != http.StatusOK || len(list.Requests) != 1 || list.Requests[0].Action != "replace" || list.Requests[0].State != "pending" {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	if r := post("/v2/job/skip", url.Values{"job_id": {job}, "gtid": {later}, "cancel": {"true"}}); r.Status != http.StatusOK ||
		!strings.Contains(string(r.Body), `"state":"cancelled"`) {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	if hs, err := position.List(ctx, dst, job); err != nil || len(hs) != 0 {
		t.Fatalf("after the cancel: %+v, %v", hs, err)
	}

	// The checkpoint moved forward by file and position, then back.
	var file string
	var pos int64
	var doDB, ignoreDB any
	if err := src.QueryRowContext(ctx, "SHOW MASTER STATUS").Scan(&file, &pos, &doDB, &ignoreDB); err != nil {
		t.Fatal(err)
	}
	r = post("/v2/job/checkpoint", url.Values{"job_id": {job}, "binlog_file": {file}, "binlog_pos": {strconv.FormatInt(pos, 10)}})
	var mr api.CheckpointMoveResponse
	r.json(t, &mr)
	if r.Status != http.StatusOK || mr.FromGtidSet != now || mr.GtidSet != later || mr.BinlogFile != file {
		t.Fatalf("move forward: %d %s, want from %s to %s", r.Status, r.Body, now, later)
	}
	r = post("/v2/job/checkpoint", url.Values{"job_id": {job}, "gtid_set": {now}})
	r.json(t, &mr)
	if r.Status != http.StatusOK || mr.FromGtidSet != later || mr.GtidSet != now {
		t.Fatalf("move back: %d %s", r.Status, r.Body)
	}
	var set string
	if err := dst.QueryRowContext(ctx, "SELECT gtid_set FROM dtle.checkpoint WHERE job_id = ?", job).Scan(&set); err != nil || set != now {
		t.Fatalf("checkpoint %q, %v; want %q", set, err, now)
	}
}

// TestPositionRoutesForKafka: on a paused subscription job the position
// routes move the position in its offsets topic (by GTID set, and by binlog
// file and position through the source), skip one transaction the source
// has and list it, and refuse a position the source lacks, a transaction
// emitted already and, on MariaDB, one that is not the next of its domain.
func TestPositionRoutesForKafka(t *testing.T) {
	const schema, job = "api_position_kafka", "kpos-subscription"
	ctx := context.Background()
	src, _ := prepare(t, schema, "CREATE TABLE "+schema+".t (id INT PRIMARY KEY)")
	now := binlogPos(t, src)
	execAll(t, src, "INSERT INTO "+schema+".t VALUES (1)")
	later := binlogPos(t, src)
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// The position the job's sink committed last: in its binlog stage at now.
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "_dtle."+job+".offsets"); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(change.Checkpoint{Flavor: change.FlavorMariaDB, Stage: change.StageIncr, GTIDSet: now})
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "_dtle." + job + ".offsets", Key: []byte(job), Value: b}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	srcCfg := map[string]any{"mysql_connection_config": conn(pair.Source)}
	kafkaCfg := map[string]any{"kafka_broker_addrs": c.ListenAddrs(), "kafka_topic": "t"}
	nomad := positionNomad(t, map[string]any{job: paused(nomadJob(job, srcCfg, kafkaCfg))}, nil)
	addr := serveInProcess(t, api.Config{Addr: "127.0.0.1:0", Nomad: api.NomadConn{Addr: nomad}})
	post := func(route string, form url.Values) reply {
		t.Helper()
		form.Set("job_id", job)
		req := newRequestURL(t, http.MethodPost, "http://"+addr+route, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return send(t, req)
	}
	pos, err := kafka.OpenPosition(job, &config.Task{KafkaBrokerAddrs: c.ListenAddrs(), KafkaTopic: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer pos.Close()
	at := func() string {
		t.Helper()
		cp, err := pos.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cp.GTIDSet
	}
	next := func(set string, n int) string { // the GTID n after a one-domain MariaDB position
		i := strings.LastIndexByte(set, '-')
		seq, _ := strconv.Atoi(set[i+1:])
		return set[:i+1] + strconv.Itoa(seq+n)
	}

	for _, c := range []struct {
		name   string
		route  string
		form   url.Values
		status int
		says   string
	}{
		{"ahead of the source", "/v2/job/checkpoint", url.Values{"gtid_set": {next(later, 5)}}, http.StatusBadRequest, "ahead of the source"},
		{"not the next of its domain", "/v2/job/skip", url.Values{"gtid": {next(now, 2)}}, http.StatusBadRequest, "the job is at " + now},
		{"emitted already", "/v2/job/skip", url.Values{"gtid": {now}}, http.StatusBadRequest, "applied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := post(c.route, c.form)
			if r.Status != c.status || !strings.Contains(string(r.Body), c.says) {
				t.Fatalf("%d %s, want %d saying %q", r.Status, r.Body, c.status, c.says)
			}
		})
	}
	if got := at(); got != now {
		t.Fatalf("the refusals moved the position to %s", got)
	}

	// Skip the one transaction after now, which the source has.
	r := post("/v2/job/skip", url.Values{"gtid": {later}})
	var sr api.SkipResponse
	r.json(t, &sr)
	if r.Status != http.StatusOK || sr.Request.Gtid != later || sr.Request.State != "done" || sr.Request.Action != "skip" || sr.Request.DoneAt == "" {
		t.Fatalf("skip: %d %s", r.Status, r.Body)
	}
	if got := at(); got != later {
		t.Fatalf("after the skip the position is %s, want %s", got, later)
	}
	r = send(t, newRequestURL(t, http.MethodGet, "http://"+addr+"/v2/job/skip?job_id="+job, nil))
	var list api.SkipListResponse
	r.json(t, &list)
	if r.Status != http.StatusOK || len(list.Requests) != 1 || list.Requests[0].Gtid != later || list.Requests[0].State != "done" {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	// A skip the source does not have yet.
	if r := post("/v2/job/skip", url.Values{"gtid": {next(later, 1)}}); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), "ahead of the source") {
		t.Fatalf("skip a transaction the source lacks: %d %s", r.Status, r.Body)
	}

	// Back by GTID set, then forward by binlog file and position.
	r = post("/v2/job/checkpoint", url.Values{"gtid_set": {now}})
	var mr api.CheckpointMoveResponse
	r.json(t, &mr)
	if r.Status != http.StatusOK || mr.FromGtidSet != later || mr.GtidSet != now || at() != now {
		t.Fatalf("move back: %d %s", r.Status, r.Body)
	}
	var file string
	var end int64
	var doDB, ignoreDB any
	if err := src.QueryRowContext(ctx, "SHOW MASTER STATUS").Scan(&file, &end, &doDB, &ignoreDB); err != nil {
		t.Fatal(err)
	}
	r = post("/v2/job/checkpoint", url.Values{"binlog_file": {file}, "binlog_pos": {strconv.FormatInt(end, 10)}})
	r.json(t, &mr)
	if r.Status != http.StatusOK || mr.FromGtidSet != now || mr.GtidSet != later || at() != later {
		t.Fatalf("move forward by file and position: %d %s, want from %s to %s", r.Status, r.Body, now, later)
	}
}

// binlogPos is a MariaDB source's binlog GTID position.
func binlogPos(t *testing.T, db *sql.DB) string {
	t.Helper()
	var s string
	if err := db.QueryRowContext(context.Background(), "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
