package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/devagent"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
	"github.com/dtle-io/dtle/internal/transport"
)

// The shared cluster is secure: Nomad's HTTP API wants HTTPS and a client
// certificate, and the dtle API HTTPS and its token.
func TestSecureClusterRefusesPlainClients(t *testing.T) {
	n1 := cl.Nodes[0]
	if !strings.HasPrefix(n1.Addr, "https://") || !strings.HasPrefix(n1.APIURL, "https://") {
		t.Fatalf("the cluster is not secure: Nomad at %s, the dtle API at %s", n1.Addr, n1.APIURL)
	}
	get := func(client *http.Client, url string) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	trustOnly := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12,
		RootCAs: caPool(t)}}}
	plainNomad, plainAPI := "http://"+strings.TrimPrefix(n1.Addr, "https://"), "http://"+strings.TrimPrefix(n1.APIURL, "https://")
	for _, c := range []struct {
		name   string
		client *http.Client
		url    string
		want   int // 0: no answer at all
	}{
		{"Nomad over plain HTTP", http.DefaultClient, plainNomad + "/v1/agent/self", http.StatusBadRequest},
		{"Nomad over HTTPS without a client certificate", trustOnly, n1.Addr + "/v1/agent/self", 0},
		{"the dtle API over plain HTTP", http.DefaultClient, plainAPI + "/v2/jobs", http.StatusBadRequest},
		{"the dtle API without the token", trustOnly, n1.APIURL + "/v2/jobs", http.StatusUnauthorized},
		{"the dtle API with the token", n1.HTTPClient(), n1.APIURL + "/v2/jobs", http.StatusOK},
	} {
		code, err := get(c.client, c.url)
		switch {
		case c.want == 0 && err == nil:
			t.Errorf("%s: answered %d, want no answer", c.name, code)
		case c.want != 0 && (err != nil || code != c.want):
			t.Errorf("%s: %d, %v; want %d", c.name, code, err, c.want)
		}
	}
}

// caPool is the pool of the cluster's CA.
func caPool(t *testing.T) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(cl.TLS.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no certificate", cl.TLS.CA)
	}
	return pool
}

// rogueMarker is in rows written while a rogue listens: it must never be
// seen on the wire.
const rogueMarker = "PLAINTEXT-MARKER-ROGUE"

// A job replicates across the two nodes of the secure cluster while a
// rogue NATS client attacks node 2's NATS server, where the job's
// destination listens. (a) Without a certificate of the cluster's CA, or
// without the token, it gets no connection. (b) An insider, with a node's
// certificate and the token but not the cluster's secret, collects every
// message of the job from its start: none decodes with the wire decoder
// or holds a row's text. (c) It sends a wire-encoded DROP DATABASE of a
// schema only the destination has, garbage, messages sealed with another
// key and replays of everything it collected, and it answers the source in
// the destination's place for a while. (d) At the end the destination
// equals the source row by row, the schema is still there and the job's
// tasks still run where they ran.
func TestRogueNatsClientReadsAndChangesNothing(t *testing.T) {
	const schema, victim, rows = "cl_rogue", "cl_rogue_destonly", 2000
	n1, n2 := cl.Nodes[0], cl.Nodes[1]
	_, dst := dbs(t)
	sandboxtest.Exec(t, dst, []string{"DROP DATABASE IF EXISTS " + victim, "CREATE DATABASE " + victim,
		"CREATE TABLE " + victim + ".keep (id INT PRIMARY KEY)", "INSERT INTO " + victim + ".keep VALUES (1)"})
	t.Cleanup(func() { sandboxtest.Exec(t, dst, []string{"DROP DATABASE IF EXISTS " + victim}) })
	url := "nats://" + n2.NatsAddr

	// (a) Strangers get no connection.
	strangers(t, url)

	// (b) The insider listens from before the job starts.
	insider := rogueConn(t, url, cl.NatsToken, insiderTLS(t))
	spy := &capture{}
	sub, err := insider.Subscribe(">", spy.add)
	if err != nil {
		t.Fatal(err)
	}
	if err := insider.Flush(); err != nil {
		t.Fatal(err)
	}
	seed(t, schema, rows)
	job := createJob(t, "rogue", schema, false, n1, n2)
	src0, dst0 := waitReplicating(t, job)
	inspected, err := cl.Server.Nomad(context.Background(), "job", "inspect", job)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(inspected, jobPassword) || strings.Contains(inspected, destPassword) {
		t.Error("`nomad job inspect` shows a MySQL password in clear")
	}
	w := startWriter(schema, rows)
	src, _ := dbs(t)
	const markers = 50
	for i := range markers {
		sandboxtest.Exec(t, src, []string{fmt.Sprintf("INSERT INTO %s.t VALUES (%d, '%s-%d', %d)", schema, 30_000_000+i, rogueMarker, i, i)})
		time.Sleep(10 * time.Millisecond)
	}
	if err := waitRows(context.Background(), dst, fmt.Sprintf("%s.t WHERE v LIKE '%s%%'", schema, rogueMarker), markers, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := insider.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	subj := "dtle." + transport.Token(job)
	hellos, data := spy.check(t, subj, schema)
	t.Logf("the insider collected %d hellos and %d data messages of the job; none decodes or shows a row", len(hellos), len(data))
	if len(hellos) == 0 || len(data) < 10 {
		t.Fatalf("the insider saw %d hellos and %d data messages on %s.*: the capture missed the job", len(hellos), len(data), subj)
	}

	// (c) The insider's forgeries.
	forge(t, insider, job, victim)
	replayCaptured(t, insider, hellos, data)
	impersonate(t, insider, subj, spy.replies(), 10*time.Second)

	// (d) Nothing changed.
	time.Sleep(2 * time.Second)
	settle(t, w, schema, "after the rogue")
	if err := waitRows(context.Background(), dst, victim+".keep", 1, time.Second); err != nil {
		t.Errorf("the destination-only schema %s: %v", victim, err)
	}
	for _, was := range []placed{src0, dst0} {
		task := "src"
		if was.alloc.ID == dst0.alloc.ID {
			task = "dest"
		}
		now := waitTask(t, job, task, time.Minute, runningOn(was.node))
		if now.alloc.ID != was.alloc.ID || now.state.Restarts != 0 || now.state.Failed {
			t.Errorf("%s did not keep running: before %s\nnow %s", task, describe(was), describe(now))
		}
	}
}

// strangers checks that clients without a certificate of the cluster's CA,
// or without the token, get no working connection to the NATS server at
// url.
func strangers(t *testing.T, url string) {
	t.Helper()
	otherCA, err := devagent.NewTLSFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	otherCert, err := otherCA.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	otherCert.RootCAs = caPool(t) // it trusts the server; the server does not trust it
	trustOnly := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: caPool(t)}
	for _, c := range []struct {
		name  string
		token string
		tls   *tls.Config
	}{
		{"no TLS, with the token", cl.NatsToken, nil},
		{"no TLS, no token", "", nil},
		{"TLS without a certificate, with the token", cl.NatsToken, trustOnly},
		{"TLS without a certificate, no token", "", trustOnly},
		{"a certificate of another CA, with the token", cl.NatsToken, otherCert},
		{"a node's certificate, without the token", "", insiderTLS(t)},
		{"a node's certificate, a wrong token", "not-the-token", insiderTLS(t)},
	} {
		if connects(url, c.token, c.tls) {
			t.Errorf("a client with %s got a working connection", c.name)
		}
	}
}

// insiderTLS is what a node holds: a certificate of the cluster's CA.
func insiderTLS(t *testing.T) *tls.Config {
	t.Helper()
	cfg, err := cl.TLS.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func natsOptions(token string, cfg *tls.Config) []nats.Option {
	opts := []nats.Option{nats.Name("rogue"), nats.NoReconnect(), nats.Timeout(5 * time.Second)}
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	if cfg != nil {
		opts = append(opts, nats.Secure(cfg))
	}
	return opts
}

// connects reports whether a client gets a connection it can subscribe on:
// a server may finish the TLS handshake and close at once.
func connects(url, token string, cfg *tls.Config) bool {
	nc, err := nats.Connect(url, natsOptions(token, cfg)...)
	if err != nil {
		return false
	}
	defer nc.Close()
	if _, err := nc.SubscribeSync(">"); err != nil {
		return false
	}
	return nc.FlushTimeout(3*time.Second) == nil
}

func rogueConn(t *testing.T, url, token string, cfg *tls.Config) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, natsOptions(token, cfg)...)
	if err != nil {
		t.Fatalf("the insider (a node's certificate and the token) did not connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// capture keeps every message a subscription saw.
type capture struct {
	mu   sync.Mutex
	msgs []*nats.Msg
}

func (c *capture) add(m *nats.Msg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
}

// check fails the test for any message that decodes with the wire decoder
// or shows a row's text, the schema's name or a password, and returns the
// requests on the job's subjects (subj.hello, subj.data).
func (c *capture) check(t *testing.T, subj, schema string) (hellos, data []*nats.Msg) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	secrets := []string{rogueMarker, "live 1", "seed 1", schema, "checkpoint", jobPassword, destPassword}
	for _, m := range c.msgs {
		if msg, err := change.Decode(m.Data); err == nil {
			t.Errorf("a message on %s decodes: kind %d with %d transactions", m.Subject, msg.Kind, len(msg.Txns))
		}
		for _, s := range secrets {
			if bytes.Contains(m.Data, []byte(s)) {
				t.Errorf("a message on %s shows %q", m.Subject, s)
			}
		}
		switch m.Subject {
		case subj + ".hello":
			hellos = append(hellos, m)
		case subj + ".data":
			data = append(data, m)
		}
	}
	return hellos, data
}

// replies are the replies the insider saw (on inboxes).
func (c *capture) replies() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][]byte
	for _, m := range c.msgs {
		if strings.HasPrefix(m.Subject, "_INBOX.") {
			out = append(out, m.Data)
		}
	}
	return out
}

// refused says whether a reply is the destination's refusal of what did
// not open with the job's key.
func refused(m *nats.Msg, err error) bool {
	return err == nil && strings.Contains(string(m.Data), "not sealed")
}

// forge sends the job's destination what the insider can make: a
// wire-encoded transaction that drops victim (bare, and through a sender
// without the key or with another cluster's key), and garbage. The
// destination refuses each.
func forge(t *testing.T, nc *nats.Conn, job, victim string) {
	t.Helper()
	data := "dtle." + transport.Token(job) + ".data"
	drop := &change.Message{Kind: change.KindTxns, Session: "guessed", Seq: 1, Txns: []change.Txn{{GTID: "0-1-999999",
		DDL: &change.DDL{Schema: victim, SQL: "DROP DATABASE " + victim}}}}
	encoded, err := change.Encode(drop)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := change.Decode(encoded); err != nil {
		t.Fatalf("the forged message does not even decode: %v", err)
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return b
	}
	for _, f := range []struct {
		name string
		data []byte
		part string
	}{
		{"a wire-encoded DROP DATABASE", encoded, ""},
		{"a wire-encoded DROP DATABASE as a part", encoded, "1/1"},
		{"nothing", nil, ""},
		{"random bytes", random(1024), ""},
		{"random bytes as the first of two parts", random(512 << 10), "1/2"},
		{"random bytes as the second of two parts", random(512 << 10), "2/2"},
		{"a bad part header", random(64), "x/0"},
	} {
		m := &nats.Msg{Subject: data, Data: f.data, Header: nats.Header{}}
		if f.part != "" {
			m.Header.Set("Dtle-Part", f.part)
		}
		if rep, err := nc.RequestMsg(m, 5*time.Second); !refused(rep, err) {
			t.Errorf("%s: not refused (%v)", f.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	otherSecret := make([]byte, 32)
	_, _ = rand.Read(otherSecret)
	otherKey, err := transport.NewSealer(transport.JobKey(otherSecret, job))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name   string
		sealer *transport.Sealer
	}{{"without the key", nil}, {"with another cluster's key", otherKey}} {
		sender := transport.NewSender(nc, job, s.sealer)
		sender.RequestTimeout = 5 * time.Second
		_, err := sender.Hello(ctx)
		if notSealed := errors.Is(err, transport.ErrNotSealed) || err != nil && strings.Contains(err.Error(), "not sealed"); !notSealed {
			t.Errorf("a hello %s: %v, want a refusal", s.name, err)
		}
		if err := sender.Send(ctx, drop); err == nil {
			t.Errorf("a DROP DATABASE sent %s was taken", s.name)
		}
	}
}

// replayCaptured sends the job's hellos and data messages the insider collected
// again (the data messages of the full copy's start and the latest ones).
// A replayed hello may open a new session (the job resumes); nothing
// replayed is applied again.
func replayCaptured(t *testing.T, nc *nats.Conn, hellos, data []*nats.Msg) {
	t.Helper()
	again := append([]*nats.Msg{}, hellos...)
	if len(data) > 150 {
		data = append(data[:50:50], data[len(data)-100:]...)
	}
	again = append(again, data...)
	answered := 0
	for _, m := range again {
		if _, err := nc.RequestMsg(&nats.Msg{Subject: m.Subject, Data: m.Data, Header: m.Header}, 5*time.Second); err == nil {
			answered++
		}
	}
	t.Logf("replayed %d hellos and %d data messages; %d were answered", len(hellos), len(data), answered)
}

// impersonate answers the job's requests, as the destination would, with
// replies of its own and replies it collected: until it has answered a
// few, or for at most d. Each one it answers first costs the source a
// resume (with a longer wait each time), not data.
func impersonate(t *testing.T, nc *nats.Conn, subj string, replies [][]byte, d time.Duration) {
	t.Helper()
	fake := [][]byte{[]byte(`{"protocol":5,"ok":true,"checkpoint":{"stage":"incr"}}`), []byte(`{"ok":true}`),
		[]byte(`{"resync":true}`)}
	fake = append(fake, replies...)
	var mu sync.Mutex
	n := 0
	respond := func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		_ = m.Respond(fake[n%len(fake)])
		n++
	}
	var subs []*nats.Subscription
	for _, s := range []string{subj + ".hello", subj + ".data"} {
		sub, err := nc.Subscribe(s, respond)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	answered := func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
	for deadline := time.Now().Add(d); answered() < 3 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
	t.Logf("answered %d requests in the destination's place", answered())
}
