package repltest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtle-io/dtle/extractor"
	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/rowdiff"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
	"github.com/dtle-io/dtle/internal/transport"
)

func jobID(name string) string { return fmt.Sprintf("%s-%d", name, time.Now().UnixNano()) }

// typesTable covers the types whose values must survive exactly, on both
// the full-copy path (text protocol) and the binlog path.
var typesTable = []string{
	`CREATE TABLE types (
	  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
	  mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
	  d DECIMAL(65,30), f FLOAT, db DOUBLE,
	  b1 BIT(1), b64 BIT(64),
	  dt DATE, tm TIME(6), dtm DATETIME(6), ts TIMESTAMP(6) NULL, yr YEAR,
	  c CHAR(10), vc VARCHAR(100) CHARACTER SET utf8mb4, l1 VARCHAR(50) CHARACTER SET latin1, tx TEXT,
	  bn BINARY(4), vb VARBINARY(20), bl BLOB,
	  e ENUM('a','b','c'), st SET('x','y','z'),
	  js JSON,
	  gen INT AS (i + 1) VIRTUAL
	) ENGINE=InnoDB`,
}

var typesRows = []string{
	`INSERT INTO types (ti,tiu,si,siu,mi,miu,i,iu,bi,biu,d,f,db,b1,b64,dt,tm,dtm,ts,yr,c,vc,l1,tx,bn,vb,bl,e,st,js) VALUES
	 (-128,255,-32768,65535,-8388608,16777215,-2147483648,4294967295,-9223372036854775808,18446744073709551615,
	  '-12345678901234567890123456789012345.123456789012345678901234567890',3.1415927,-2.25e100,
	  b'1',b'1111111111111111111111111111111111111111111111111111111111111111',
	  '1000-01-01','-838:59:59.000000','1000-01-01 00:00:00.000000','1970-01-01 00:00:01.000000',1901,
	  'chars','emoji 😀 中文','café àé','long text', x'00ff0001', x'deadbeef00', x'000102fffe',
	  'c','x,z','{"k": [1, 2.5, "s", null, true]}')`,
	`INSERT INTO types (ti,tiu,si,siu,mi,miu,i,iu,bi,biu,d,f,db,b1,b64,dt,tm,dtm,ts,yr,c,vc,l1,tx,bn,vb,bl,e,st,js) VALUES
	 (127,0,32767,0,8388607,0,2147483647,0,9223372036854775807,0,
	  '0.000000000000000000000000000001',-0.0001,1e-300,b'0',b'0',
	  '9999-12-31','838:59:59.999999','9999-12-31 23:59:59.999999','2038-01-19 03:14:07.999999',2155,
	  '','','','',x'00000000',x'',x'','a','','[]')`,
	`INSERT INTO types (id) VALUES (NULL)`,
	`INSERT INTO types (dt, dtm, yr) VALUES ('0000-00-00', '0000-00-00 00:00:00', 0)`,
}

// binlogPos is where a server's binlog is now ("file:pos").
func binlogPos(t *testing.T, db *sql.DB) [2]string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SHOW MASTER STATUS")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	cols, _ := rows.Columns()
	v := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range v {
		ptrs[i] = &v[i]
	}
	if !rows.Next() {
		t.Fatal("the destination writes no binlog")
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	pos := [2]string{string(v[0]), string(v[1])}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return pos
}

// loadedTables lists the tables LOAD DATA statements wrote to since from,
// as their row events' annotations name them ("`schema`.`table`").
func loadedTables(t *testing.T, db *sql.DB, from [2]string) map[string]bool {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SHOW BINLOG EVENTS IN '"+from[0]+"' FROM "+from[1])
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	loaded := map[string]bool{}
	for rows.Next() {
		var file, typ, info string
		var pos, server, end int64
		if err := rows.Scan(&file, &pos, &typ, &server, &end, &info); err != nil {
			t.Fatal(err)
		}
		if _, rest, ok := strings.Cut(info, "LOAD DATA LOCAL INFILE"); ok {
			if _, into, ok := strings.Cut(rest, " INTO TABLE "); ok {
				loaded[strings.Fields(into)[0]] = true
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return loaded
}

// typesColumns are the written columns of typesTable.
const typesColumns = "id,ti,tiu,si,siu,mi,miu,i,iu,bi,biu,d,f,db,b1,b64,dt,tm,dtm,ts,yr,c,vc,l1,tx,bn,vb,bl,e,st,js"

func TestFullCopyThenBinlogIsExact(t *testing.T) {
	const schema = "repl_exact"
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "SET SESSION sql_mode = ''", "USE "+schema, workloadTables, nokeyTable,
		"CREATE TABLE ck (a VARCHAR(20) NOT NULL, b INT NOT NULL, v TEXT, PRIMARY KEY (a, b))")
	exec(t, src, append([]string{"SET SESSION sql_mode = ''", "USE " + schema}, typesTable...)...)
	exec(t, src, append([]string{"SET SESSION sql_mode = ''", "USE " + schema}, typesRows...)...)
	// The same rows in a table without AUTO_INCREMENT, which the destination
	// loads with LOAD DATA (types itself is written with INSERT unless
	// innodb_autoinc_lock_mode is 2).
	exec(t, src, "SET SESSION sql_mode = ''", "USE "+schema, "CREATE TABLE types_ld LIKE types", "ALTER TABLE types_ld MODIFY id INT NOT NULL",
		"INSERT INTO types_ld ("+typesColumns+") SELECT "+typesColumns+" FROM types")
	binlogFrom := binlogPos(t, dst)
	for i := range 300 {
		exec(t, src, fmt.Sprintf("INSERT INTO %s.w VALUES (%d, %d, 'seed')", schema, -i-1, i),
			fmt.Sprintf("INSERT INTO %s.ck VALUES ('k%d', %d, REPEAT('x', %d))", schema, i%7, i, i))
	}
	exec(t, src, fmt.Sprintf("INSERT INTO %s.nokey VALUES (1, 'same'), (1, 'same'), (NULL, NULL)", schema))

	// The tasks meet directly, as on one Nomad node; the restart test
	// covers both ways.
	natsURL := startDirect(t)
	job := jobID("exact")
	srcTask, destTask := tasks(schema)
	srcTask.ChunkSize = 50 // many chunks
	w := startWorkload(t, src, schema, 1)
	dest := startDest(t, natsURL, job, destTask)
	s := startSrc(t, natsURL, job, srcTask)
	waitEvent(t, dest, "job_stage_full")
	waitEvent(t, dest, "job_stage_incr")
	// Which tables' chunks came by LOAD DATA, from the statements the
	// destination's binlog annotates its row events with (MariaDB).
	var localInfile, annotated bool
	var lockMode int
	if err := dst.QueryRowContext(context.Background(), "SELECT @@GLOBAL.local_infile, @@GLOBAL.innodb_autoinc_lock_mode").Scan(&localInfile, &lockMode); err != nil {
		t.Fatal(err)
	}
	_ = dst.QueryRowContext(context.Background(), "SELECT @@GLOBAL.binlog_annotate_row_events").Scan(&annotated)
	if localInfile && annotated {
		loaded := loadedTables(t, dst, binlogFrom)
		if !loaded["`"+schema+"`.`types_ld`"] {
			t.Errorf("types_ld was not written with LOAD DATA (loaded: %v)", loaded)
		}
		if lockMode != 2 && loaded["`"+schema+"`.`types`"] {
			t.Error("types, with an AUTO_INCREMENT column, was written with LOAD DATA under innodb_autoinc_lock_mode 1")
		}
	}

	// Binlog: the same type coverage arriving as row events, then updates and deletes.
	exec(t, src, append([]string{"SET SESSION sql_mode = ''", "USE " + schema}, typesRows...)...)
	exec(t, src, "USE "+schema,
		"UPDATE types SET vc = CONCAT(vc, ' ✓'), biu = 18446744073709551614, b64 = b'1010', st = 'y' WHERE id = 1",
		"DELETE FROM types WHERE id = 2",
		"UPDATE ck SET b = b + 1000 WHERE a = 'k3'",
		"UPDATE nokey SET b = 'changed' WHERE a = 1 LIMIT 1")
	// Id 0 in an AUTO_INCREMENT column stays 0 only where NO_AUTO_VALUE_ON_ZERO holds.
	exec(t, src, "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'", "INSERT INTO "+schema+".types (id, c) VALUES (0, 'zero id')")
	n := w.end(t)
	waitSame(t, src, dst, schema, 60*time.Second)
	t.Logf("workload committed %d transactions", n)
	// FLOATs exactly: the server writes them as text with 6 significant
	// digits, which the comparison above reads alike for 3.1415927 and
	// 3.14159; as doubles they differ.
	for _, table := range []string{"types", "types_ld"} {
		q := "SELECT id, f + 0e0 FROM " + schema + "." + table + " ORDER BY id"
		if a, b := queryAll(t, src, q), queryAll(t, dst, q); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: FLOAT values differ as doubles:\nsource %v\ndest   %v", table, a, b)
		}
	}

	if n := dest.direct().InMsgs.Load(); n == 0 {
		t.Error("the tasks did not meet directly")
	}
	s.stop(t)
	dest.stop(t)
}

func TestDDLDuringReplication(t *testing.T) {
	const schema = "repl_ddl"
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "USE "+schema, "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10))",
		"INSERT INTO t VALUES (1, 'one'), (2, 'two')")

	natsURL := startNATS(t)
	job := jobID("ddl")
	srcTask, destTask := tasks(schema)
	dest := startDest(t, natsURL, job, destTask)
	s := startSrc(t, natsURL, job, srcTask)
	waitEvent(t, dest, "job_stage_incr")

	exec(t, src, "USE "+schema,
		"INSERT INTO t VALUES (3, 'three')",
		"ALTER TABLE t ADD COLUMN b INT DEFAULT 7, ADD INDEX ia (a)",
		"INSERT INTO t VALUES (4, 'four', 40)",
		"UPDATE t SET b = 11 WHERE id = 1",
		"ALTER TABLE t MODIFY a VARCHAR(40)",
		"UPDATE t SET a = 'a much longer value' WHERE id = 2",
		"ALTER TABLE t DROP COLUMN b",
		"INSERT INTO t VALUES (5, 'five')",
		"RENAME TABLE t TO t2",
		"INSERT INTO t2 VALUES (6, 'six')",
		"CREATE TABLE n (id INT PRIMARY KEY, v BLOB)",
		"INSERT INTO n VALUES (1, x'00ff')",
		"CREATE TABLE gone (id INT)", "DROP TABLE gone",
		"TRUNCATE TABLE n", "INSERT INTO n VALUES (2, x'01')")
	waitSame(t, src, dst, schema, 60*time.Second)
	var n int
	if err := dst.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN ('t', 'gone')", schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("renamed or dropped tables remain on the destination: %d %v", n, err)
	}
	s.stop(t)
	dest.stop(t)
}

func TestRestartsResumeFromTheCheckpoint(t *testing.T) {
	for _, c := range []struct {
		workers int
		direct  bool
	}{{1, false}, {4, false}, {4, true}} {
		name, schema := fmt.Sprintf("parallel_workers=%d", c.workers), fmt.Sprintf("repl_restart_%d", c.workers)
		if c.direct {
			// The tasks in one process: each restart of either ends the
			// direct session, and the source finds the new one.
			name, schema = name+",direct", schema+"_direct"
		}
		t.Run(name, func(t *testing.T) {
			restarts(t, schema, c.workers, c.direct)
		})
	}
}

func restarts(t *testing.T, schema string, workers int, direct bool) {
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "USE "+schema, workloadTables, nokeyTable)
	var b strings.Builder
	for i := range 5000 {
		if i%500 == 0 {
			if b.Len() > 0 {
				exec(t, src, b.String())
			}
			b.Reset()
			b.WriteString("INSERT INTO " + schema + ".w VALUES ")
		} else {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "(%d, %d, 'seed')", -i-1, i)
	}
	exec(t, src, b.String())

	start := startNATS
	if direct {
		start = startDirect
	}
	natsURL := start(t)
	job := jobID("restart")
	srcTask, destTask := tasks(schema)
	srcTask.ChunkSize = 100
	srcTask.GroupMaxSize = 4
	destTask.ParallelWorkers = workers
	w := startWorkload(t, src, schema, 1)

	dest := startDest(t, natsURL, job, destTask)
	s := startSrc(t, natsURL, job, srcTask)
	waitEvent(t, dest, "job_stage_full")
	// Kill the source during the copy, then the destination, then both.
	s.stop(t)
	s = startSrc(t, natsURL, job, srcTask)
	time.Sleep(300 * time.Millisecond)
	dest.stop(t)
	dest = startDest(t, natsURL, job, destTask)
	waitEvent(t, dest, "job_stage_incr")
	// During the binlog stage, stop each time only after transactions were
	// applied since the last restart: a restart must not replay them.
	waitProgress(t, dst, job)
	s.stop(t)
	dest.stop(t)
	dest = startDest(t, natsURL, job, destTask)
	s = startSrc(t, natsURL, job, srcTask)
	waitProgress(t, dst, job)
	dest.stop(t)
	dest = startDest(t, natsURL, job, destTask)
	waitProgress(t, dst, job)
	n := w.end(t)
	waitSame(t, src, dst, schema, 60*time.Second)
	t.Logf("workload committed %d transactions across the restarts", n)
	s.stop(t)
	dest.stop(t)
}

// faultySender fails once, with ErrResync, at the failAt-th chunk, and
// counts the chunk rows sent after that.
type faultySender struct {
	extractor.Sender
	failAt, chunks int
	failed         bool
	rowsAfter      int
}

func (f *faultySender) Send(ctx context.Context, m *change.Message) error {
	if m.Kind == change.KindChunk && m.Table.Name == "w" {
		f.chunks++
		if f.failed {
			f.rowsAfter += m.Rows.N
		} else if f.chunks == f.failAt {
			f.failed = true
			return transport.ErrResync
		}
	}
	return f.Sender.Send(ctx, m)
}

func TestCopyResumesAfterTheCommittedKey(t *testing.T) {
	const schema = "repl_resume"
	const rows, chunk, failAt = 5000, 100, 30
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "USE "+schema, workloadTables, nokeyTable)
	var b strings.Builder
	b.WriteString("INSERT INTO " + schema + ".w VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "(%d, %d, 'seed')", -i-1, i)
	}
	exec(t, src, b.String(), "INSERT INTO "+schema+".nokey VALUES (1, 'a'), (1, 'a'), (2, 'b')")

	natsURL := startNATS(t)
	job := jobID("resume")
	srcTask, destTask := tasks(schema)
	srcTask.ChunkSize = chunk
	w := startWorkload(t, src, schema, 1)
	dest := startDest(t, natsURL, job, destTask)
	fs := &faultySender{failAt: failAt}
	s := startSrcWith(t, natsURL, job, srcTask, func(inner extractor.Sender) extractor.Sender {
		fs.Sender = inner
		return fs
	})
	waitEvent(t, dest, "job_stage_incr")
	w.end(t)
	waitSame(t, src, dst, schema, 60*time.Second)
	s.stop(t)
	dest.stop(t)
	if !fs.failed {
		t.Fatal("the fault was never injected")
	}
	// Chunks before the fault were committed; only what follows is read again.
	if limit := rows - (failAt-2)*chunk; fs.rowsAfter > limit {
		t.Fatalf("after the restart %d rows were copied again; resuming by key allows at most %d", fs.rowsAfter, limit)
	}
	t.Logf("after the restart: %d of %d seed rows copied", fs.rowsAfter, rows)
}

func TestLargeTransactionStreamsInParts(t *testing.T) {
	const schema = "repl_bigtx"
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "USE "+schema, "CREATE TABLE big (id INT PRIMARY KEY, pad LONGTEXT)")

	natsURL := startNATS(t)
	job := jobID("bigtx")
	srcTask, destTask := tasks(schema)
	dest := startDest(t, natsURL, job, destTask)
	var parts int
	s := startSrcWith(t, natsURL, job, srcTask, func(inner extractor.Sender) extractor.Sender {
		return &partCounter{Sender: inner, parts: &parts}
	})
	waitEvent(t, dest, "job_stage_incr")
	// One transaction of about 24 MiB: six times the part size.
	tx, err := src.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 24 {
		if _, err := tx.ExecContext(context.Background(), fmt.Sprintf("INSERT INTO %s.big VALUES (%d, REPEAT('p', 1048576))", schema, i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(context.Background(), "UPDATE "+schema+".big SET pad = 'small' WHERE id < 12"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	waitSame(t, src, dst, schema, 60*time.Second)
	s.stop(t)
	dest.stop(t)
	if parts < 2 {
		t.Fatalf("a 24 MiB transaction went in %d part(s)", parts)
	}
}

type partCounter struct {
	extractor.Sender
	parts *int
}

func (p *partCounter) Send(ctx context.Context, m *change.Message) error {
	for _, tx := range m.Txns {
		if tx.More {
			*p.parts++
		}
	}
	return p.Sender.Send(ctx, m)
}

// gtidCount is the number of transactions in a GTID set: MariaDB's
// sequence numbers per domain, or MySQL's intervals.
func gtidCount(set string) int {
	n := 0
	for _, part := range strings.Split(set, ",") {
		part = strings.TrimSpace(part)
		if uuid, ivs, ok := strings.Cut(part, ":"); ok && uuid != "" {
			for _, iv := range strings.Split(ivs, ":") {
				lo, hi, isRange := strings.Cut(iv, "-")
				a, _ := strconv.Atoi(lo)
				b := a
				if isRange {
					b, _ = strconv.Atoi(hi)
				}
				n += b - a + 1
			}
			continue
		}
		if i := strings.LastIndex(part, "-"); i >= 0 {
			seq, _ := strconv.Atoi(part[i+1:])
			n += seq
		}
	}
	return n
}

// executedGTIDs is the set of transactions db has written to its binlog.
func executedGTIDs(t *testing.T, db *sql.DB) string {
	t.Helper()
	var gtid string
	if err := db.QueryRowContext(context.Background(), "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&gtid); err != nil {
		// MySQL has no gtid_binlog_pos; its executed set is gtid_executed.
		if err := db.QueryRowContext(context.Background(), "SELECT @@GLOBAL.gtid_executed").Scan(&gtid); err != nil {
			t.Fatal(err)
		}
	}
	return gtid
}

func TestStartFromGivenGTIDSkipsTheCopy(t *testing.T) {
	const schema = "repl_gtid"
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "USE "+schema, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1)")
	// The destination already has the table as of now; the job starts here.
	exec(t, dst, "CREATE DATABASE "+schema, "USE "+schema, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1)")
	gtid := executedGTIDs(t, src)
	// Written after the given set: only a job that reads the binlog from
	// that set (not from wherever the binlog is when it starts) brings it.
	exec(t, src, "USE "+schema, "INSERT INTO t VALUES (3, 3)")
	natsURL := startNATS(t)
	job := jobID("gtid")
	srcTask, destTask := tasks(schema)
	srcTask.Gtid = gtid
	dest := startDest(t, natsURL, job, destTask)
	var copied atomic.Int64 // tables and chunks the source sent
	s := startSrcWith(t, natsURL, job, srcTask, func(inner extractor.Sender) extractor.Sender {
		return &copyCounter{Sender: inner, n: &copied}
	})
	waitEvent(t, dest, "job_stage_incr")
	exec(t, src, "USE "+schema, "INSERT INTO t VALUES (2, 2)", "UPDATE t SET v = 10 WHERE id = 1")
	waitSame(t, src, dst, schema, 30*time.Second)
	s.stop(t)
	dest.stop(t)
	if n := copied.Load(); n != 0 {
		t.Fatalf("a job given a GTID set copied anyway: %d table and chunk messages", n)
	}
}

// copyCounter counts the full-copy messages a source sends.
type copyCounter struct {
	extractor.Sender
	n *atomic.Int64
}

func (c *copyCounter) Send(ctx context.Context, m *change.Message) error {
	if m.Kind == change.KindTable || m.Kind == change.KindChunk {
		c.n.Add(1)
	}
	return c.Sender.Send(ctx, m)
}

func TestReplicateDoAndIgnoreTables(t *testing.T) {
	const schema = "repl_filter"
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "USE "+schema, "CREATE TABLE keep1 (id INT PRIMARY KEY)", "CREATE TABLE keep2 (id INT PRIMARY KEY)",
		"CREATE TABLE skip_me (id INT PRIMARY KEY)", "INSERT INTO keep1 VALUES (1)", "INSERT INTO keep2 VALUES (1)",
		"INSERT INTO skip_me VALUES (1)")
	natsURL := startNATS(t)
	job := jobID("filter")
	srcTask, destTask := tasks(schema)
	srcTask.ReplicateDoDB = []*config.ReplicateDB{{TableSchema: schema,
		Tables: []*config.Table{{TableRegex: "^keep"}, {TableName: "skip_me"}}}}
	srcTask.ReplicateIgnoreDB = []*config.ReplicateDB{{TableSchema: schema, Tables: []*config.Table{{TableName: "skip_me"}}}}
	dest := startDest(t, natsURL, job, destTask)
	s := startSrc(t, natsURL, job, srcTask)
	waitEvent(t, dest, "job_stage_incr")
	exec(t, src, "USE "+schema, "INSERT INTO keep1 VALUES (2)", "INSERT INTO skip_me VALUES (2)",
		"ALTER TABLE skip_me ADD COLUMN c INT", "INSERT INTO keep2 VALUES (2)")
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := rowdiff.Tables(ctx, src, dst, schema, "keep1", "keep2")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var n int
	if err := dst.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'skip_me'", schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("an ignored table reached the destination: %d %v", n, err)
	}
	s.stop(t)
	dest.stop(t)
}

func TestTimestampsIgnoreServerTimeZones(t *testing.T) {
	const schema = "repl_tz"
	ctx := context.Background()
	// A destination in another time zone than the source.
	d, err := sandbox.Start(ctx, t.TempDir(), sandbox.Options{Name: "tzdest", Args: []string{"--default-time-zone=+05:30"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	src, dst := open(t, pair.Source), open(t, d.Connection())
	freshSchema(t, src, dst, schema)
	exec(t, src, "SET time_zone = '-07:00'", "USE "+schema, "CREATE TABLE ts (id INT PRIMARY KEY, t TIMESTAMP(6) NULL, dt DATETIME(6))",
		"INSERT INTO ts VALUES (1, '2001-02-03 04:05:06.789012', '2001-02-03 04:05:06.789012')")
	natsURL := startNATS(t)
	job := jobID("tz")
	srcTask, _ := tasks(schema)
	destTask := &config.Task{ConnectionConfig: d.Connection()}
	destTask.Defaults()
	dest := startDest(t, natsURL, job, destTask)
	s := startSrc(t, natsURL, job, srcTask)
	waitEvent(t, dest, "job_stage_incr")
	exec(t, src, "SET time_zone = '+09:00'", "INSERT INTO "+schema+".ts VALUES (2, '2030-06-07 08:09:10.5', '2030-06-07 08:09:10.5')")
	waitSame(t, src, dst, schema, 30*time.Second)
	// rowdiff reads both in UTC; check the instant once more explicitly.
	var got string
	if err := dst.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP(t) FROM "+schema+".ts WHERE id = 1").Scan(&got); err != nil || got != "981198306.789012" {
		t.Fatalf("instant changed: %s %v", got, err)
	}
	s.stop(t)
	dest.stop(t)
}

func TestPurgedBinlogIsAClearError(t *testing.T) {
	const schema = "repl_purged"
	ctx := context.Background()
	// A source of its own: purging binlogs must not disturb the other tests.
	s, err := sandbox.Start(ctx, t.TempDir(), sandbox.Options{Name: "purgesrc"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	src, dst := open(t, s.Connection()), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "USE "+schema, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")

	natsURL := startNATS(t)
	job := jobID("purged")
	srcTask := &config.Task{ConnectionConfig: s.Connection(), ReplicateDoDB: []*config.ReplicateDB{{TableSchema: schema}}}
	_, destTask := tasks(schema)
	srcTask.Defaults()
	dest := startDest(t, natsURL, job, destTask)
	first := startSrc(t, natsURL, job, srcTask)
	waitEvent(t, dest, "job_stage_incr")
	waitSame(t, src, dst, schema, 30*time.Second)
	first.stop(t)

	// While the job is down the source moves on and purges what it has not read.
	exec(t, src, "INSERT INTO "+schema+".t VALUES (2)", "FLUSH BINARY LOGS")
	file := firstColumn(t, src, "SHOW MASTER STATUS")
	// A binlog still open by a lingering dump thread is kept (with only a
	// warning): purge until the older files are gone.
	deadline := time.Now().Add(30 * time.Second)
	for {
		exec(t, src, "PURGE BINARY LOGS TO '"+file+"'")
		first := firstColumn(t, src, "SHOW BINARY LOGS")
		if first == file {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("binlogs before %s were not purged (oldest %s)", file, first)
		}
		time.Sleep(500 * time.Millisecond)
	}

	second := startSrc(t, natsURL, job, srcTask)
	select {
	case <-second.Done():
		err := second.Err()
		var gone *extractor.BinlogGoneError
		if !errors.As(err, &gone) {
			t.Fatalf("want BinlogGoneError, got %v", err)
		}
		if !strings.Contains(err.Error(), "purged") || gone.GTIDSet == "" {
			t.Fatalf("unclear: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the source did not stop on a purged binlog")
	}
	// Nothing copied was lost: the row from before the purge is there.
	var n int
	if err := dst.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+schema+".t WHERE id = 1").Scan(&n); err != nil || n != 1 {
		t.Fatalf("destination lost data: %d %v", n, err)
	}
	dest.stop(t)
}

// firstColumn returns the first column of the first row a statement returns.
func firstColumn(t *testing.T, db *sql.DB, query string) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var first string
	v := make([]any, len(cols))
	v[0] = &first
	for i := 1; i < len(cols); i++ {
		v[i] = new(sql.RawBytes)
	}
	if rows.Next() {
		if err := rows.Scan(v...); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return first
}

// failOnce fails the first message that when matches, with ErrResync.
type failOnce struct {
	extractor.Sender
	when   func(*change.Message) bool
	failed bool
}

func (f *failOnce) Send(ctx context.Context, m *change.Message) error {
	if !f.failed && f.when(m) {
		f.failed = true
		return transport.ErrResync
	}
	return f.Sender.Send(ctx, m)
}

// A table without a key copied after a restart holds a later snapshot than
// the one the binlog starts from: events between the two must not be
// applied to it again, or its rows would be doubled.
func TestKeylessTableCopiedAfterARestartGetsNoEventTwice(t *testing.T) {
	const schema = "repl_keyless_late"
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "USE "+schema, "CREATE TABLE a_keyed (id INT PRIMARY KEY)", "INSERT INTO a_keyed VALUES (1), (2)",
		"CREATE TABLE z_nokey (n INT)", "INSERT INTO z_nokey VALUES (0)")

	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 1; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := src.ExecContext(context.Background(), fmt.Sprintf("INSERT INTO %s.z_nokey VALUES (%d)", schema, i)); err != nil {
				done <- err
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()

	natsURL := startNATS(t)
	job := jobID("keylesslate")
	srcTask, destTask := tasks(schema)
	dest := startDest(t, natsURL, job, destTask)
	f := &failOnce{when: func(m *change.Message) bool { return m.Kind == change.KindTable && m.Table.Name == "z_nokey" }}
	s := startSrcWith(t, natsURL, job, srcTask, func(inner extractor.Sender) extractor.Sender {
		f.Sender = inner
		return f
	})
	waitEvent(t, dest, "job_stage_incr")
	time.Sleep(300 * time.Millisecond)
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitSame(t, src, dst, schema, 30*time.Second)
	s.stop(t)
	dest.stop(t)
	if !f.failed {
		t.Fatal("the fault was never injected")
	}
}

// TestBatchedChangesReduceToTheFinalRows writes, before the job starts,
// transactions that touch the same rows many times over, so the applier
// takes them in batches (and single transactions hold whole histories):
// unique values swapped and moved between rows, keys changed and changed
// back, rows deleted and inserted again, composite and binary keys, and
// text keys under a case- and pad-insensitive collation, where two stored
// keys name one row and the applier's deletes must come before its writes.
func TestBatchedChangesReduceToTheFinalRows(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("parallel_workers=%d", workers), func(t *testing.T) {
			schema := fmt.Sprintf("repl_net_%d", workers)
			src, dst := open(t, pair.Source), open(t, pair.Dest)
			freshSchema(t, src, dst, schema)
			tables := []string{
				"CREATE TABLE u (id INT PRIMARY KEY, u INT NULL UNIQUE, v VARCHAR(20))",
				"CREATE TABLE ck (a INT NOT NULL, d DATE NOT NULL, v INT, PRIMARY KEY (a, d))",
				"CREATE TABLE bk (k VARBINARY(8) PRIMARY KEY, v INT)",
				"CREATE TABLE tk (k VARCHAR(8) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, v INT)",
				nokeyTable,
			}
			exec(t, dst, "CREATE DATABASE "+schema)
			for _, db := range []*sql.DB{src, dst} {
				exec(t, db, append([]string{"USE " + schema}, tables...)...)
			}
			gtid := executedGTIDs(t, src)
			one := func(stmts ...string) { // one source transaction
				exec(t, src, append(append([]string{"USE " + schema, "BEGIN"}, stmts...), "COMMIT")...)
			}
			for i := range 20 {
				one(fmt.Sprintf("INSERT INTO u VALUES (%d, %d, 'r')", i, i))
			}
			one("UPDATE u SET u = NULL WHERE id = 1", "UPDATE u SET u = 1 WHERE id = 2", "UPDATE u SET u = 2 WHERE id = 1")
			one("DELETE FROM u WHERE id = 3", "INSERT INTO u VALUES (30, 3, 'moved')")
			one("UPDATE u SET id = 40 WHERE id = 4", "INSERT INTO u VALUES (4, NULL, 'again')", "DELETE FROM u WHERE id = 40")
			one("UPDATE u SET id = 50 WHERE id = 5")
			one("UPDATE u SET id = 5, v = 'back' WHERE id = 50")
			one("INSERT INTO u VALUES (60, 60, 'brief')", "UPDATE u SET v = 'x' WHERE id = 60", "DELETE FROM u WHERE id = 60")
			one("DELETE FROM u WHERE id = 6", "INSERT INTO u VALUES (6, 6, 'new values')", "UPDATE u SET u = NULL WHERE id = 7", "UPDATE u SET u = 7, v = 'took 7' WHERE id = 8")
			one("UPDATE u SET u = 8 WHERE id = 7")
			for i := range 10 {
				one(fmt.Sprintf("INSERT INTO ck VALUES (%d, '2020-01-0%d', %d)", i%3, 1+i/3, i),
					fmt.Sprintf("INSERT INTO bk VALUES (x'%02x00', %d)", i, i),
					fmt.Sprintf("INSERT INTO nokey VALUES (%d, 'n')", i%2))
			}
			one("UPDATE ck SET d = '2021-01-01' WHERE a = 1 AND d = '2020-01-02'", "DELETE FROM ck WHERE a = 2 AND d = '2020-01-01'",
				"UPDATE bk SET k = x'ff' WHERE k = x'0100'", "UPDATE bk SET k = x'0100', v = -1 WHERE k = x'ff'",
				"DELETE FROM bk WHERE k = x'0200'", "DELETE FROM nokey WHERE a = 1 LIMIT 1")
			one("INSERT INTO tk VALUES ('a', 1), ('b', 2), ('x', 3)")
			one("DELETE FROM tk WHERE k = 'A'", "INSERT INTO tk VALUES ('A', 10)")
			one("UPDATE tk SET k = 'B' WHERE k = 'b'", "INSERT INTO tk VALUES ('c', 4)", "DELETE FROM tk WHERE k = 'C'")
			one("DELETE FROM tk WHERE k = 'x '", "INSERT INTO tk VALUES ('y', 5)", "UPDATE tk SET v = 6 WHERE k = 'Y'")

			written := gtidCount(executedGTIDs(t, src)) - gtidCount(gtid)

			// Hold up the first write to u (a gap lock on the empty table) so
			// that everything after it queues: the groups hold many
			// transactions, whatever the timing.
			hold, err := dst.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = hold.Close() }()
			for _, q := range []string{"BEGIN", "SELECT * FROM " + schema + ".u FOR UPDATE"} {
				if _, err := hold.ExecContext(context.Background(), q); err != nil {
					t.Fatal(err)
				}
			}
			before := gtidCount(executedGTIDs(t, dst))
			natsURL := startNATS(t)
			job := jobID("net")
			srcTask, destTask := tasks(schema)
			srcTask.Gtid = gtid
			destTask.ParallelWorkers = workers
			dest := startDest(t, natsURL, job, destTask)
			s := startSrc(t, natsURL, job, srcTask)
			time.Sleep(time.Second)
			if _, err := hold.ExecContext(context.Background(), "COMMIT"); err != nil {
				t.Fatal(err)
			}
			waitSame(t, src, dst, schema, 60*time.Second)
			s.stop(t)
			dest.stop(t)
			commits := gtidCount(executedGTIDs(t, dst)) - before
			t.Logf("the source wrote %d transactions, the destination committed %d", written, commits)
			if commits*2 > written {
				t.Fatalf("the destination committed %d transactions for the source's %d: the batches did not group them", commits, written)
			}
		})
	}
}

// TestCopyBuildsPlainIndexesLast: a table the job creates gets its plain
// indexes once its rows are in (they are missing while the copy runs, and
// present in the end); unique indexes are there throughout, and so is the
// AUTO_INCREMENT column's; a table with a foreign key, or whose plain index
// one refers to, keeps its indexes; a table that was on the destination
// before the job keeps the indexes it had. While a build is held up, a
// replicated DDL on a table still waiting for its indexes waits for them.
func TestCopyBuildsPlainIndexesLast(t *testing.T) {
	const schema = "repl_indexes"
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "USE "+schema,
		"CREATE TABLE big (id INT PRIMARY KEY, k INT, u INT, c VARCHAR(20), UNIQUE KEY u (u), KEY k (k), KEY ck (c(4), k))",
		"CREATE TABLE child (id INT PRIMARY KEY, big_id INT, KEY big_id (big_id), CONSTRAINT fk FOREIGN KEY (big_id) REFERENCES big (id))",
		"CREATE TABLE theirs (id INT PRIMARY KEY, k INT, KEY k (k))",
		"CREATE TABLE auto (p INT NOT NULL, id INT NOT NULL AUTO_INCREMENT, v INT, PRIMARY KEY (p, id), KEY by_id (id), KEY v (v))",
		"CREATE TABLE parent (id INT PRIMARY KEY, k INT, KEY k (k))",
		"CREATE TABLE kid (id INT PRIMARY KEY, pk INT, KEY pk (pk), CONSTRAINT kfk FOREIGN KEY (pk) REFERENCES parent (k))",
		"CREATE TABLE zlast (id INT PRIMARY KEY, k INT, KEY k (k))")
	for i := range 500 {
		exec(t, src, fmt.Sprintf("INSERT INTO %s.big VALUES (%d, %d, %d, 'c%d')", schema, i, i%7, i, i%13))
	}
	exec(t, src, "INSERT INTO "+schema+".child VALUES (1, 1), (2, 2)", "INSERT INTO "+schema+".theirs VALUES (1, 1)",
		"INSERT INTO "+schema+".auto (p, v) VALUES (1, 1), (1, 2), (2, 3)", "INSERT INTO "+schema+".parent VALUES (1, 10)",
		"INSERT INTO "+schema+".kid VALUES (1, 10)", "INSERT INTO "+schema+".zlast VALUES (1, 1)")
	exec(t, dst, "CREATE DATABASE "+schema, "CREATE TABLE "+schema+".theirs (id INT PRIMARY KEY, k INT)")

	// An open transaction reading auto holds up the build of its indexes
	// (an ALTER waits for it) from when auto's copy ends until released.
	// (Not a table others refer to: a pending ALTER queues the metadata
	// locks a foreign key's CREATE takes on its parent.)
	hold, err := dst.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hold.Close() }()
	holdAuto := func(table string) error {
		if table != "auto" {
			return nil
		}
		if _, err := hold.ExecContext(context.Background(), "BEGIN"); err != nil {
			return err
		}
		_, err := hold.ExecContext(context.Background(), "SELECT COUNT(*) FROM "+schema+".auto")
		return err
	}

	natsURL := startNATS(t)
	job := jobID("indexes")
	srcTask, destTask := tasks(schema)
	srcTask.ChunkSize = 100
	dest := startDest(t, natsURL, job, destTask)
	seen := map[string][]string{} // table -> the destination's indexes when its last chunk was sent
	ddlSent := make(chan struct{})
	s := startSrcWith(t, natsURL, job, srcTask, func(inner extractor.Sender) extractor.Sender {
		return &indexWatcher{Sender: inner, dst: dst, schema: schema, seen: seen, before: holdAuto, ddlSent: ddlSent}
	})
	waitEvent(t, dest, "job_stage_incr")
	// zlast's indexes wait behind auto's: the DDL must find them built.
	exec(t, src, "USE "+schema, "ALTER TABLE zlast DROP INDEX k", "INSERT INTO zlast VALUES (2, 2)")
	// Released only once the DDL is on its way, and given time to arrive:
	// the destination must hold it back, not run it after the release.
	select {
	case <-ddlSent:
	case <-time.After(30 * time.Second):
		t.Fatal("the source never sent the DDL")
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := hold.ExecContext(context.Background(), "COMMIT"); err != nil {
		t.Fatal(err)
	}
	waitTables(t, src, dst, schema, 30*time.Second, "big", "child", "auto", "parent", "kid", "zlast")
	if got := firstColumn(t, dst, "SELECT COUNT(*) FROM dtle.deferred_indexes WHERE job_id = '"+job+"'"); got != "0" {
		t.Errorf("%s tables still wait for their indexes", got)
	}
	s.stop(t)
	dest.stop(t)
	for table, want := range map[string][]string{
		"big":    {"PRIMARY", "u"},
		"child":  {"PRIMARY", "big_id"}, // a foreign key of its own
		"parent": {"PRIMARY", "k"},      // a foreign key refers to its plain index
		"auto":   {"PRIMARY", "by_id"},  // its AUTO_INCREMENT column's index
	} {
		if got := seen[table]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s had indexes %v when its copy ended, want %v", table, got, want)
		}
	}
	if got := firstColumn(t, dst, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '"+schema+"' AND TABLE_NAME = 'theirs' AND INDEX_NAME = 'k'"); got != "0" {
		t.Fatalf("the job added an index to a table it did not create")
	}
	if err := rowdiff.Queries(context.Background(), src, "SELECT * FROM "+schema+".theirs", dst, "SELECT * FROM "+schema+".theirs"); err != nil {
		t.Fatal(err)
	}
}

// indexWatcher records the destination's indexes of a table as the source
// sends the table's end (its chunks are all queued, the indexes not yet
// queued for building), then calls before with the table's name. The
// destination creates tables in the background, so it waits for the table
// to be there: every table of the test has a primary key, which CREATE
// TABLE makes with it.
type indexWatcher struct {
	extractor.Sender
	dst    *sql.DB
	schema string
	seen   map[string][]string
	before func(table string) error
	// ddlSent closes as the first DDL is handed on.
	ddlSent chan struct{}
	sentDDL bool
}

func (w *indexWatcher) Send(ctx context.Context, m *change.Message) error {
	if m.Kind == change.KindTableDone {
		var names []string
		for deadline := time.Now().Add(10 * time.Second); len(names) == 0 && time.Now().Before(deadline); {
			var err error
			names, err = rowdiff.Lines(ctx, w.dst, "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS "+
				"WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME", w.schema, m.Table.Name)
			if err != nil {
				return err
			}
			if len(names) == 0 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		w.seen[m.Table.Name] = names
		if err := w.before(m.Table.Name); err != nil {
			return err
		}
	}
	for _, txn := range m.Txns {
		if txn.DDL != nil && !w.sentDDL {
			w.sentDDL = true
			close(w.ddlSent)
		}
	}
	return w.Sender.Send(ctx, m)
}

// Text of every character set the source server has reaches the
// destination byte for byte through the binlog, for tables created while
// the job runs: the binlog carries a column's text as the bytes of its set,
// which the destination decoded as UTF-8 only (gbk's '添加普通列测试' ended with
// the same row count and another checksum). Compared with CHECKSUM TABLE
// and row by row.
func TestTextOfEveryCharsetThroughTheBinlog(t *testing.T) {
	const schema = "repl_charsets"
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	freshSchema(t, src, dst, schema)
	exec(t, src, "CREATE TABLE "+schema+".seed (id INT PRIMARY KEY)")
	sets := charsetNames(t, src)
	samples := []string{"添加普通列测试", "Ärger über Öl ß é", "Привет мир", "こんにちは", "한국어", "αβγ δ", "שלום", "ąčęėįšųūž", "€ ‰ ™", "ก ข"}
	var tables []string
	fill := func(table, cs string) {
		tables = append(tables, table)
		stmts := []string{"SET SESSION sql_mode = ''", fmt.Sprintf("CREATE TABLE %s.%s (id INT PRIMARY KEY, v VARCHAR(100), c CHAR(20)) DEFAULT CHARSET=%s", schema, table, cs)}
		for i, s := range samples {
			stmts = append(stmts, fmt.Sprintf("INSERT INTO %s.%s VALUES (%d, '%s', '%s')", schema, table, i, s, s))
		}
		stmts = append(stmts, fmt.Sprintf("UPDATE %s.%s SET v = CONCAT(v, c, 'x'), c = 'é' WHERE id %% 2 = 0", schema, table),
			fmt.Sprintf("DELETE FROM %s.%s WHERE id = 3", schema, table))
		exec(t, src, stmts...)
	}
	for _, cs := range sets {
		fill("pre_"+cs, cs) // copied by the full copy
	}
	natsURL := startNATS(t)
	job := jobID("charsets")
	srcTask, destTask := tasks(schema)
	dest := startDest(t, natsURL, job, destTask)
	startSrc(t, natsURL, job, srcTask)
	waitEvent(t, dest, "job_stage_incr")
	for _, cs := range sets {
		fill("t_"+cs, cs) // created, filled and changed in the binlog
	}
	waitSame(t, src, dst, schema, 90*time.Second)
	checksums := func(db *sql.DB) map[string]string {
		out := map[string]string{}
		for _, table := range tables {
			var name string
			var sum sql.NullString
			if err := db.QueryRowContext(context.Background(), "CHECKSUM TABLE "+schema+"."+table).Scan(&name, &sum); err != nil {
				t.Fatal(err)
			}
			out[table] = sum.String
		}
		return out
	}
	want, got := checksums(src), checksums(dst)
	for _, table := range tables {
		if want[table] != got[table] {
			t.Errorf("%s: checksum %s on the destination, %s on the source", table, got[table], want[table])
		}
	}
}

// charsetNames lists the server's character sets but binary and ascii.
func charsetNames(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SELECT CHARACTER_SET_NAME FROM information_schema.CHARACTER_SETS "+
		"WHERE CHARACTER_SET_NAME NOT IN ('binary', 'ascii') ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var sets []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		sets = append(sets, s)
	}
	if err := rows.Err(); err != nil || len(sets) < 20 {
		t.Fatalf("character sets %v, %v", sets, err)
	}
	return sets
}

// A replicated schema reaches the destination with its defaults even when
// it holds no table: before, the copy created schemas only for their
// tables, so a sync job started on an empty schema failed its first
// replicated CREATE TABLE with "Unknown database", on every restart.
func TestEmptySchemaIsCarriedOver(t *testing.T) {
	const schema = "repl_empty"
	src, dst := open(t, pair.Source), open(t, pair.Dest)
	for _, db := range []*sql.DB{src, dst} {
		exec(t, db, "DROP DATABASE IF EXISTS "+schema)
	}
	exec(t, src, "CREATE DATABASE "+schema+" CHARACTER SET latin1 COLLATE latin1_general_cs")
	natsURL := startNATS(t)
	job := jobID("empty")
	srcTask, destTask := tasks(schema)
	dest := startDest(t, natsURL, job, destTask)
	startSrc(t, natsURL, job, srcTask)
	waitEvent(t, dest, "job_stage_incr")
	defaults := func(db *sql.DB) string {
		var cs, coll string
		if err := db.QueryRowContext(context.Background(), "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "+
			"FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", schema).Scan(&cs, &coll); err != nil {
			return err.Error()
		}
		return cs + " " + coll
	}
	if got, want := defaults(dst), defaults(src); got != want {
		t.Fatalf("destination schema: %s, want %s", got, want)
	}
	exec(t, src, "CREATE TABLE "+schema+".t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO "+schema+".t VALUES (1, 'après')")
	waitSame(t, src, dst, schema, 30*time.Second)
}

// queryAll returns a query's rows as text, NULL as "NULL".
func queryAll(t *testing.T, db *sql.DB, q string) [][]string {
	t.Helper()
	return sandboxtest.Rows(t, db, q, "NULL")
}
