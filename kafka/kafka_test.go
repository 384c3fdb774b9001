package kafka_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/pipeline"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

var pair *sandbox.Pair

func TestMain(m *testing.M) { sandboxtest.RunTests(m, &pair) }

const natsToken = "kafka-test-token"

// jobSecret seals the jobs' streams, as the cluster's secret does under Nomad.
var jobSecret = []byte("0123456789abcdef0123456789abcdef")

// typesTable covers the fidelity list: every type, its bounds, NULL.
var typesTable = []string{
	`CREATE TABLE types (
	  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
	  mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
	  d DECIMAL(65,30), d2 DECIMAL(10,2), f FLOAT, db DOUBLE,
	  b1 BIT(1), b10 BIT(10), b64 BIT(64),
	  dt DATE, tm TIME(6), tm0 TIME, dtm DATETIME(6), dtm3 DATETIME(3), ts TIMESTAMP(6) NULL, ts0 TIMESTAMP NULL, yr YEAR,
	  c CHAR(10), vc VARCHAR(100) CHARACTER SET utf8mb4, l1 VARCHAR(50) CHARACTER SET latin1, tx TEXT,
	  bn BINARY(4), vb VARBINARY(20), bl BLOB,
	  e ENUM('a','b','c'), st SET('x','y','z'),
	  js JSON
	) ENGINE=InnoDB`,
}

var typesRows = []string{
	`INSERT INTO types (ti,tiu,si,siu,mi,miu,i,iu,bi,biu,d,d2,f,db,b1,b10,b64,dt,tm,tm0,dtm,dtm3,ts,ts0,yr,c,vc,l1,tx,bn,vb,bl,e,st,js) VALUES
	 (-128,255,-32768,65535,-8388608,16777215,-2147483648,4294967295,-9223372036854775808,18446744073709551615,
	  '-12345678901234567890123456789012345.123456789012345678901234567890',-12.34,1.5,-2.25e100,
	  b'1',b'1000000001',b'1111111111111111111111111111111111111111111111111111111111111111',
	  '1000-01-01','-838:59:59.000000','-01:00:00','1000-01-01 00:00:00.000000','2024-05-01 10:20:30.500','1970-01-01 00:00:01.000000','2024-05-01 10:20:30',1901,
	  'chars','emoji 😀 中文','café àé','long text', x'00ff0001', x'deadbeef00', x'000102fffe',
	  'c','x,z','{"k": [1, 2.5, "s", null, true]}')`,
	`INSERT INTO types (ti,tiu,si,siu,mi,miu,i,iu,bi,biu,d,d2,f,db,b1,b10,b64,dt,tm,tm0,dtm,dtm3,ts,ts0,yr,c,vc,l1,tx,bn,vb,bl,e,st,js) VALUES
	 (127,0,32767,0,8388607,0,2147483647,0,9223372036854775807,0,
	  '0.000000000000000000000000000001',0,-0.0001,1e-300,b'0',b'0',b'0',
	  '9999-12-31','838:59:59.999999','00:00:00','9999-12-31 23:59:59.999999','1970-01-01 00:00:00.000','2038-01-19 03:14:07.999999','2038-01-19 03:14:07',2155,
	  '','','','',x'00000000',x'',x'','a','','[]')`,
	`INSERT INTO types (id) VALUES (NULL)`,
	`INSERT INTO types (dt, dtm, yr) VALUES ('0000-00-00', '0000-00-00 00:00:00', 0)`,
}

// job is a subscription job running in this process against kfake.
type job struct {
	t       *testing.T
	id      string
	url     string
	brokers []string
	src     *config.Task
	dest    *config.Task
	events  chan string
	srcTask *pipeline.Running
	dstTask *pipeline.Running
}

func newJob(t *testing.T, schema string) *job {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	srv, err := pipeline.StartLocalServer(natsToken)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	src := &config.Task{ConnectionConfig: pair.Source, ReplicateDoDB: []*config.ReplicateDB{{TableSchema: schema}}, ChunkSize: 7}
	dest := &config.Task{KafkaBrokerAddrs: c.ListenAddrs(), KafkaTopic: "dtle"}
	src.Defaults()
	dest.Defaults()
	return &job{t: t, id: schema + "-subscription", url: srv.ClientURL(), brokers: c.ListenAddrs(), src: src, dest: dest,
		events: make(chan string, 64)}
}

func (j *job) startDest() {
	j.t.Helper()
	lt := pipeline.Go(context.Background(), pipeline.Dest{URL: j.url, Token: natsToken, Name: "dest",
		SinkConfig: pipeline.SinkConfig{Secret: jobSecret, JobID: j.id, Task: j.dest, Logger: sandboxtest.Logger(j.t, "dest"),
			Event: func(m string) {
				select {
				case j.events <- m:
				default:
				}
			}}}.Run)
	j.dstTask = lt
	j.t.Cleanup(func() { _ = lt.Stop(30 * time.Second) })
}

func (j *job) startSrc() {
	j.t.Helper()
	lt := pipeline.Go(context.Background(), pipeline.Source{Secret: jobSecret, Locate: pipeline.At(j.url), Token: natsToken, JobID: j.id,
		AllocID: "local-" + j.id, Task: j.src, Logger: sandboxtest.Logger(j.t, "src"),
		RequestTimeout: 5 * time.Second}.Run)
	j.srcTask = lt
	j.t.Cleanup(func() { _ = lt.Stop(30 * time.Second) })
}

func (j *job) waitEvent(want string) {
	j.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case e := <-j.events:
			if e == want {
				return
			}
		case <-deadline:
			j.t.Fatalf("no %s event", want)
		}
	}
}

// waitTableCopied waits until the job's committed position records a
// copied table.
func (j *job) waitTableCopied() {
	j.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(j.brokers...), kgo.ConsumeTopics("_dtle."+j.id+".offsets"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(20*time.Millisecond), kgo.MetadataMinAge(20*time.Millisecond))
	if err != nil {
		j.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		found := false
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { found = found || strings.Contains(string(r.Value), `"Done":true`) })
		if found {
			return
		}
	}
	j.t.Fatal("no table copied in 60s")
}

func stop(t *testing.T, lt *pipeline.Running) {
	t.Helper()
	if err := lt.Stop(30 * time.Second); err != nil {
		t.Fatalf("task ended with %v", err)
	}
}

// record is one consumed Kafka record.
type record struct {
	topic     string
	partition int32
	offset    int64
	key       []byte
	value     []byte
	headers   []kgo.RecordHeader
}

// consumeAll reads every topic with the prefix, committed records only.
func consumeAll(t *testing.T, brokers []string, prefix string) []record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeRegex(), kgo.ConsumeTopics("^"+strings.ReplaceAll(prefix, ".", `\.`)+`(\..*)?$`),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond), kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []record
	idle := 0
	for idle < 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			out = append(out, record{r.Topic, r.Partition, r.Offset, r.Key, r.Value, r.Headers})
		})
		if n == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	return out
}

// envelope is the part of a change event the checks read.
type envelope struct {
	Schema struct {
		Fields []struct {
			Field  string `json:"field"`
			Fields []colSchema
		} `json:"fields"`
	} `json:"schema"`
	Payload struct {
		Before map[string]json.RawMessage `json:"before"`
		After  map[string]json.RawMessage `json:"after"`
		Source struct {
			Snapshot string `json:"snapshot"`
			DB       string `json:"db"`
			Table    string `json:"table"`
			GTID     string `json:"gtid"`
			Row      int    `json:"row"`
		} `json:"source"`
		Op string `json:"op"`
	} `json:"payload"`
}

type colSchema struct {
	Type       string            `json:"type"`
	Optional   bool              `json:"optional"`
	Name       string            `json:"name"`
	Parameters map[string]string `json:"parameters"`
	Field      string            `json:"field"`
}

// view is what a consumer that applies the events holds, per table: rows
// in canonical text by key (keyless tables by the row itself, counted).
type view map[string]map[string]int

// materialize applies the change events of the records and checks their
// shape: a tombstone after each delete, no snapshot row twice, no binlog
// row event twice.
func materialize(t *testing.T, prefix string, recs []record, current map[string][]string) (view, map[string][]string) {
	t.Helper()
	v := view{}
	ddl := map[string][]string{}
	seen := map[string]bool{}
	keyed := map[string]map[string]string{} // table -> key -> row
	// A delete of a keyless table is followed by a tombstone with a null
	// key, as Debezium sends it: counted by topic.
	nullTombstones, nullDeletes := map[string]int{}, map[string]int{}
	byPart := map[string][]record{}
	for _, r := range recs {
		k := fmt.Sprintf("%s/%d", r.topic, r.partition)
		byPart[k] = append(byPart[k], r)
	}
	for _, part := range byPart {
		sort.Slice(part, func(i, j int) bool { return part[i].offset < part[j].offset })
		for i, r := range part {
			if strings.Contains(r.topic, "._dtle.") {
				continue
			}
			if r.topic == prefix {
				var sc struct {
					Payload struct {
						DatabaseName string `json:"databaseName"`
						DDL          string `json:"ddl"`
					} `json:"payload"`
				}
				if err := json.Unmarshal(r.value, &sc); err != nil {
					t.Fatalf("schema change: %v", err)
				}
				ddl[sc.Payload.DatabaseName] = append(ddl[sc.Payload.DatabaseName], sc.Payload.DDL)
				continue
			}
			if r.value == nil {
				if r.key == nil {
					// A keyless table's tombstone: the producer may put it in
					// another partition than its delete (null keys go to any).
					nullTombstones[r.topic]++
					continue
				}
				if i == 0 || string(part[i-1].key) != string(r.key) || !strings.Contains(string(part[i-1].value), `"op":"d"`) {
					t.Fatalf("%s: a tombstone not right after its delete", r.topic)
				}
				continue
			}
			var e envelope
			if err := json.Unmarshal(r.value, &e); err != nil {
				t.Fatalf("%s offset %d: %v", r.topic, r.offset, err)
			}
			id := e.Payload.Source.DB + "." + e.Payload.Source.Table
			mark := fmt.Sprintf("%s|%s|%d|%s|%s", id, e.Payload.Source.GTID, e.Payload.Source.Row, e.Payload.Op, r.key)
			if e.Payload.Op == "r" {
				mark = id + "|r|" + string(r.key)
			}
			if seen[mark] && (e.Payload.Op != "r" || r.key != nil) {
				t.Fatalf("event seen twice: %s", mark)
			}
			seen[mark] = true
			cols := e.Schema.Fields[1].Fields
			names := current[id]
			if names == nil {
				for _, c := range cols {
					names = append(names, c.Field)
				}
			}
			if r.key != nil {
				// A consumer keeps the latest image per key.
				byKey := keyed[id]
				if byKey == nil {
					byKey = map[string]string{}
					keyed[id] = byKey
				}
				// Each event must follow from the one before it for the key:
				// a create of a key that exists is a duplicate, an update or
				// delete whose before image is not what the consumer holds
				// follows a lost or repeated event.
				cur, exists := byKey[string(r.key)]
				switch e.Payload.Op {
				case "r", "c":
					if exists {
						t.Fatalf("%s: %s of key %s, which exists: an event seen twice", r.topic, e.Payload.Op, r.key)
					}
					byKey[string(r.key)] = canonical(t, cols, e.Payload.After, names)
				case "u", "d":
					if before := canonical(t, cols, e.Payload.Before, names); !exists || before != cur {
						t.Fatalf("%s: %s of key %s: before image %s, the consumer holds %s (exists %v)", r.topic, e.Payload.Op, r.key, before, cur, exists)
					}
					if e.Payload.Op == "u" {
						byKey[string(r.key)] = canonical(t, cols, e.Payload.After, names)
						continue
					}
					delete(byKey, string(r.key))
					if i+1 >= len(part) || part[i+1].value != nil || string(part[i+1].key) != string(r.key) {
						t.Fatalf("%s: a delete without its tombstone", r.topic)
					}
				}
				continue
			}
			rows := v[id]
			if rows == nil {
				rows = map[string]int{}
				v[id] = rows
			}
			switch e.Payload.Op {
			case "r", "c":
				rows[canonical(t, cols, e.Payload.After, names)]++
			case "u":
				rows[canonical(t, cols, e.Payload.Before, names)]--
				rows[canonical(t, cols, e.Payload.After, names)]++
			case "d":
				rows[canonical(t, cols, e.Payload.Before, names)]--
				nullDeletes[r.topic]++
			default:
				t.Fatalf("op %q", e.Payload.Op)
			}
		}
	}
	for topic, n := range nullDeletes {
		if nullTombstones[topic] != n {
			t.Fatalf("%s: %d deletes without a key, %d tombstones without a key", topic, n, nullTombstones[topic])
		}
	}
	for id, byKey := range keyed {
		rows := map[string]int{}
		for _, row := range byKey {
			rows[row]++
		}
		v[id] = rows
	}
	for _, rows := range v {
		for k, n := range rows {
			if n == 0 {
				delete(rows, k)
			}
			if n < 0 {
				t.Fatalf("a row removed that was never there: %s", k)
			}
		}
	}
	return v, ddl
}

// canonical renders a row image as "col=value;..." over the columns the
// table has now (a column added after the image was sent is NULL in it),
// in the source's text form, decoding each value from its Debezium
// representation.
func canonical(t *testing.T, cols []colSchema, row map[string]json.RawMessage, names []string) string {
	t.Helper()
	var b strings.Builder
	for _, name := range names {
		v := "NULL"
		for _, c := range cols {
			if c.Field == name {
				v = decode(t, c, row[c.Field])
			}
		}
		b.WriteString(name + "=" + v + ";")
	}
	return b.String()
}

func decode(t *testing.T, c colSchema, raw json.RawMessage) string {
	t.Helper()
	if raw == nil || string(raw) == "null" {
		return "NULL"
	}
	var s string
	var n json.Number
	_ = json.Unmarshal(raw, &s)
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	_ = dec.Decode(&n)
	switch c.Name {
	case "org.apache.kafka.connect.data.Decimal":
		b, _ := base64.StdEncoding.DecodeString(s)
		v := new(big.Int).SetBytes(b)
		if len(b) > 0 && b[0]&0x80 != 0 {
			v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
		scale, _ := strconv.Atoi(c.Parameters["scale"])
		return new(big.Float).SetPrec(300).Quo(new(big.Float).SetPrec(300).SetInt(v),
			new(big.Float).SetPrec(300).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))).Text('f', scale)
	case "io.debezium.time.Date":
		d, _ := n.Int64()
		return time.Unix(d*86400, 0).UTC().Format(time.DateOnly)
	case "io.debezium.time.MicroTime":
		us, _ := n.Int64()
		sign := ""
		if us < 0 {
			sign, us = "-", -us
		}
		return fmt.Sprintf("%s%02d:%02d:%02d.%06d", sign, us/3600e6, us/60e6%60, us/1e6%60, us%1e6)
	case "io.debezium.time.Timestamp":
		ms, _ := n.Int64()
		return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000000")
	case "io.debezium.time.MicroTimestamp":
		us, _ := n.Int64()
		return time.UnixMicro(us).UTC().Format("2006-01-02 15:04:05.000000")
	case "io.debezium.time.ZonedTimestamp":
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("%s: %q: %v", c.Field, s, err)
		}
		return ts.Format("2006-01-02 15:04:05.000000")
	case "io.debezium.time.Year":
		if n.String() == "1900" {
			// Debezium reads the binlog's YEAR 0000 as 1900, which no YEAR
			// holds (1901-2155, and 0000).
			return "0"
		}
	case "io.debezium.data.Bits":
		b, _ := base64.StdEncoding.DecodeString(s)
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		return strconv.FormatUint(v, 10)
	}
	switch c.Type {
	case "bytes":
		b, _ := base64.StdEncoding.DecodeString(s)
		return strings.ToUpper(hex.EncodeToString(b))
	case "boolean":
		if string(raw) == "true" {
			return "1"
		}
		return "0"
	case "float":
		f, _ := strconv.ParseFloat(n.String(), 32)
		return strconv.FormatFloat(f, 'g', -1, 32)
	case "double":
		f, _ := strconv.ParseFloat(n.String(), 64)
		return strconv.FormatFloat(f, 'g', -1, 64)
	case "string":
		return s
	}
	return n.String()
}

// sourceView reads the source tables in the same canonical form.
func sourceView(t *testing.T, db *sql.DB, schema string, types map[string][]colSchema) view {
	t.Helper()
	v := view{}
	for table, cols := range types {
		var exprs []string
		for _, c := range cols {
			q := "`" + c.Field + "`"
			switch {
			case c.Name == "io.debezium.data.Bits" || c.Type == "boolean":
				q = "CAST(" + q + " AS UNSIGNED)"
			case c.Type == "bytes" && c.Name == "":
				q = "HEX(" + q + ")"
			case c.Name == "io.debezium.time.Timestamp" || c.Name == "io.debezium.time.MicroTimestamp" || c.Name == "io.debezium.time.ZonedTimestamp":
				q = "DATE_FORMAT(" + q + ", '%Y-%m-%d %H:%i:%s.%f')"
			case c.Name == "io.debezium.time.MicroTime":
				q = "IF(" + q + " < 0, CONCAT('-', TIME_FORMAT(-" + q + ", '%H:%i:%s.%f')), TIME_FORMAT(" + q + ", '%H:%i:%s.%f'))"
			}
			exprs = append(exprs, q)
		}
		v[schema+"."+table] = sourceRows(t, db, "SELECT "+strings.Join(exprs, ", ")+" FROM `"+schema+"`.`"+table+"`", cols)
	}
	return v
}

// sourceRows runs q and counts its rows in canonical form.
func sourceRows(t *testing.T, db *sql.DB, q string, cols []colSchema) map[string]int {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	m := map[string]int{}
	for rows.Next() {
		raw := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, c := range cols {
			b.WriteString(c.Field + "=" + sourceText(c, raw[i]) + ";")
		}
		m[b.String()]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// sourceText is the server's text of a value as the events give it back:
// zero dates are null, floats at their precision, time with 6 digits.
func sourceText(c colSchema, v sql.NullString) string {
	if !v.Valid {
		return "NULL"
	}
	s := v.String
	switch {
	case strings.HasPrefix(s, "0000-00-00") && strings.HasPrefix(c.Name, "io.debezium.time."):
		if c.Optional {
			return "NULL"
		}
	case c.Type == "int64" && c.Name == "":
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return strconv.FormatInt(int64(u), 10) // bigint.unsigned.handling.mode=long
		}
	case c.Type == "float":
		f, _ := strconv.ParseFloat(s, 32)
		return strconv.FormatFloat(f, 'g', -1, 32)
	case c.Type == "double":
		f, _ := strconv.ParseFloat(s, 64)
		return strconv.FormatFloat(f, 'g', -1, 64)
	case c.Name == "io.debezium.time.MicroTime":
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		if h, rest, ok := strings.Cut(s, ":"); ok && len(h) < 2 {
			s = "0" + h + ":" + rest
		}
		if neg && s != "00:00:00.000000" {
			s = "-" + s
		}
	}
	return s
}

// columnSchemas reads each table's column schemas from an event that has
// the columns the table has now.
func columnSchemas(t *testing.T, db *sql.DB, recs []record, schema string) (map[string][]colSchema, map[string][]string, string) {
	t.Helper()
	now := map[string]string{}
	err := func() error {
		rows, err := db.QueryContext(context.Background(), "SELECT TABLE_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) "+
			"FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? GROUP BY TABLE_NAME", schema)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var table, cols string
			if err := rows.Scan(&table, &cols); err != nil {
				return err
			}
			now[table] = cols
		}
		return rows.Err()
	}()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]colSchema{}
	for _, r := range recs {
		if r.value == nil || !strings.HasPrefix(r.topic, "dtle."+schema+".") {
			continue
		}
		var e envelope
		if err := json.Unmarshal(r.value, &e); err != nil {
			t.Fatal(err)
		}
		cols := e.Schema.Fields[1].Fields
		var names []string
		for _, c := range cols {
			names = append(names, c.Field)
		}
		if strings.Join(names, ",") == now[e.Payload.Source.Table] {
			out[e.Payload.Source.Table] = cols
		}
	}
	names := map[string][]string{}
	for table, cols := range now {
		if out[table] == nil {
			return nil, nil, fmt.Sprintf("no event of %s.%s with its current columns", schema, table)
		}
		names[schema+"."+table] = strings.Split(cols, ",")
	}
	return out, names, ""
}

// checkSame compares what a consumer of the topics holds with the source
// and returns the DDL texts of the schema-change topic, by database.
func checkSame(t *testing.T, db *sql.DB, brokers []string, schema string) map[string][]string {
	t.Helper()
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		recs := consumeAll(t, brokers, "dtle")
		cols, names, missing := columnSchemas(t, db, recs, schema)
		if last = missing; last != "" {
			continue
		}
		got, ddl := materialize(t, "dtle", recs, names)
		last = diff(sourceView(t, db, schema, cols), got)
		if last == "" {
			return ddl
		}
	}
	t.Fatalf("the topics differ from the source: %s", last)
	return nil
}

func diff(want, got view) string {
	for id, rows := range want {
		for k, n := range rows {
			if got[id][k] != n {
				var have []string
				for g := range got[id] {
					if _, ok := rows[g]; !ok {
						have = append(have, g)
					}
				}
				return fmt.Sprintf("%s: row %s: source has %d, topics %d; the topics have instead: %s", id, k, n, got[id][k], strings.Join(have, "\n"))
			}
		}
		for k, n := range got[id] {
			if rows[k] != n {
				return fmt.Sprintf("%s: row %s: source has %d, topics %d", id, k, rows[k], n)
			}
		}
	}
	return ""
}
