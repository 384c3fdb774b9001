package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/sandbox"
)

// part is a measurement that writes its own section of the report.
type part interface{ markdown(*strings.Builder) }

// printPart prints the section of a part measured alone, and returns
// errOnePart once it is measured.
func printPart[P part](p P, err error) error {
	if err != nil {
		return err
	}
	var b strings.Builder
	p.markdown(&b)
	fmt.Println(b.String())
	return errOnePart
}

// errOnePart ends a run that measured one part only (-copy-only and the
// like): nothing to report, and the servers and files are cleaned up.
var errOnePart = errors.New("one part measured")

// serverArgs give every server the same room. innodb_autoinc_lock_mode 2
// (MySQL 8's default) lets dtle load the AUTO_INCREMENT table with LOAD DATA
// (applier/load.go); INSERT, which every other contender writes, takes no
// table lock under either mode.
var serverArgs = []string{"--innodb-buffer-pool-size=512M", "--innodb-log-file-size=256M",
	"--innodb-flush-log-at-trx-commit=2", "--sync-binlog=0", "--innodb-autoinc-lock-mode=2"}

type result struct {
	rows, threads, writes int
	copies                []timing // full copy
	catchups              []timing // incremental
	kafka                 timing   // full copy into Kafka
	verify                *verifyResult
	lag                   *lagResult
	growth                *growthResult
	tables                *tablesResult
	wide                  *wideResult
	failed                []string // sections of the parts that failed
	memHWM                int64    // bytes, dtle's process
	machine               string
}

type timing struct {
	name string
	d    time.Duration   // the best run's
	all  []time.Duration // every run's, in order
	n    int             // rows or transactions
	cpu  cpuUse          // the best run's
}

func (t timing) rate() float64 { return float64(t.n) / t.d.Seconds() }

// run starts the servers, fills the source and measures every part: the
// full copy, the full copy into Kafka, then the catch-up. With -copy-only,
// -kafka-only or -catchup-only it measures that part alone and returns
// errOnePart.
func run(ctx context.Context, rows, threads, writes int) (*result, error) {
	dir, err := os.MkdirTemp("", "dtle-bench-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	r := &result{rows: rows, threads: threads, writes: writes, machine: machine()}

	tb := &testbed{dir: dir, rows: rows, threads: threads, writes: writes}
	stop, err := tb.startServers(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()
	// Through Nomad in the full run and the wide part; the other parts alone
	// do not use it.
	if withNomad && !onlyTables && !onlyGrowth && !onlyLag && !onlyCopy && !onlyKafka && !onlyCatchUp && !onlyVerify {
		if tb.nomad, err = startNomad(ctx, dir); err != nil {
			return nil, err
		}
		defer tb.nomad.stop()
	}
	switch { // the parts that fill the source themselves
	case onlyTables:
		return nil, printPart(tb.manyTables(ctx))
	case onlyGrowth:
		return nil, printPart(tb.growth(ctx))
	case onlyWide:
		return nil, printPart(tb.wide(ctx))
	}
	prepared, err := tb.prepare(ctx)
	if err != nil {
		return nil, err
	}

	switch {
	case onlyLag:
		return nil, printPart(tb.lags(ctx))
	case onlyCopy:
		return nil, tb.copyOnly(ctx, prepared)
	case onlyKafka:
		return nil, tb.kafkaOnly(ctx)
	case onlyCatchUp:
		return catchUpProfile(ctx, dir, tb.src, tb.dst, threads, writes)
	case onlyVerify:
		return nil, tb.verifyOnly(ctx)
	case onlyNomad:
		return nil, printPart(tb.throughNomad(ctx, prepared))
	}

	if r.copies, err = tb.fullCopies(ctx, prepared); err != nil {
		return nil, err
	}
	if r.kafka, err = tb.kafkaCopies(ctx); err != nil {
		return nil, err
	}
	if r.catchups, err = tb.catchUps(ctx); err != nil {
		return nil, err
	}
	r.memHWM = memHighWater() // the copy and catch-up's, before the verify's
	if r.verify, err = tb.verifies(ctx); err != nil {
		return nil, err
	}
	// Last, as they change the source: the lag adds a table, the others
	// replace the sbtest schema.
	// A failure of one of these is reported in its section; the run goes on.
	late := func(name string, err error) error {
		if err != nil && ctx.Err() == nil {
			step("%s failed: %v", name, err)
			r.failed = append(r.failed, fmt.Sprintf("\n### %s\n\nfailed: %s\n", name, strings.Join(strings.Fields(err.Error()), " ")))
			return nil
		}
		return err
	}
	var e error
	if r.lag, e = tb.lags(ctx); late("Lag under steady load", e) != nil {
		return nil, e
	}
	if r.growth, e = tb.growth(ctx); late("Growth", e) != nil {
		return nil, e
	}
	if r.tables, e = tb.manyTables(ctx); late("Many tables", e) != nil {
		return nil, e
	}
	if r.wide, e = tb.wide(ctx); late("Wide rows", e) != nil {
		return nil, e
	}
	return r, nil
}

// testbed is what every part of a run works on: the scratch directory, the
// servers (the source, dtle's and the peers' destination, and the native
// replica) and the size of the load.
type testbed struct {
	dir                   string
	src, dst, replica     *sandbox.Server
	rows, threads, writes int
	// nomad runs dtle's jobs through Nomad too (-nomad); nil without.
	nomad *nomadBench
}

// startServers starts the three servers with the same serverArgs; stop
// stops them, last started first. When one fails to start, those already
// started are stopped.
func (tb *testbed) startServers(ctx context.Context) (stop func(), err error) {
	var servers []*sandbox.Server
	stop = func() {
		for i := len(servers) - 1; i >= 0; i-- {
			servers[i].Stop()
		}
	}
	for _, name := range []string{"source", "dest", "replica"} {
		s, err := sandbox.Start(ctx, tb.dir, sandbox.Options{Name: name, Args: serverArgs})
		if err != nil {
			stop()
			return nil, err
		}
		servers = append(servers, s)
	}
	tb.src, tb.dst, tb.replica = servers[0], servers[1], servers[2]
	cpuServers = servers
	return stop, nil
}

// prepare fills the source with the sysbench table and returns its checksum.
func (tb *testbed) prepare(ctx context.Context) (string, error) {
	step("sysbench prepare: %d rows", tb.rows)
	if err := sysbench(ctx, tb.src, "prepare", tb.rows, tb.threads, 0); err != nil {
		return "", err
	}
	return checksum(ctx, tb.src)
}

// copyOnly measures dtle's full copy once, under the CPU profile, checks it
// against the source's checksum (prepared) and returns errOnePart.
func (tb *testbed) copyOnly(ctx context.Context, prepared string) error {
	stop, err := startProfile(profilePath)
	if err != nil {
		return err
	}
	d, err := dtleCopy(ctx, tb.src, tb.dst, tb.threads)
	stop()
	if err != nil {
		return err
	}
	if err := sameChecksum(ctx, prepared, tb.dst); err != nil {
		return err
	}
	step("dtle full copy: %.1fs, %.0f rows/s, same checksum", d.Seconds(), float64(tb.rows)/d.Seconds())
	return errOnePart
}

// kafkaOnly measures dtle's full copy into Kafka once, under the CPU
// profile, and returns errOnePart.
func (tb *testbed) kafkaOnly(ctx context.Context) error {
	stop, err := startProfile(profilePath)
	if err != nil {
		return err
	}
	d, err := kafkaCopy(ctx, tb.src, tb.rows)
	stop()
	if err != nil {
		return err
	}
	step("dtle full copy into Kafka: %.1fs, %.0f row events/s, memory high-water mark %.0f MiB",
		d.Seconds(), float64(tb.rows)/d.Seconds(), float64(memHighWater())/(1<<20))
	return errOnePart
}

// fullCopies times every contender's full copy into an empty destination,
// each checked against the source (prepared: its checksum).
func (tb *testbed) fullCopies(ctx context.Context, prepared string) ([]timing, error) {
	src, dst, rows, threads := tb.src, tb.dst, tb.rows, tb.threads
	copies := []contender{
		{name: "dtle", run: func() (time.Duration, error) { return dtleCopy(ctx, src, dst, threads) },
			check: func() error { return sameChecksum(ctx, prepared, dst) }},
	}
	if tb.nomad != nil {
		copies = append(copies, contender{name: nomadName,
			run:   func() (time.Duration, error) { return tb.nomad.copyJob(ctx, src, dst, threads) },
			check: func() error { return sameChecksum(ctx, prepared, dst) }})
	}
	if onlyNomad {
		return inRounds(copies, rows)
	}
	copies = append(copies, []contender{
		{name: "mydumper + myloader", run: func() (time.Duration, error) { return mydumperCopy(ctx, tb.dir, src, dst, threads) },
			check: func() error { return sameCount(ctx, src, dst, rows) }},
		{name: "mysqldump | mysql", run: func() (time.Duration, error) { return mysqldumpCopy(ctx, src, dst) },
			check: func() error { return sameCount(ctx, src, dst, rows) }},
	}...)
	return inRounds(copies, rows)
}

// kafkaCopies times dtle's full copy into Kafka.
func (tb *testbed) kafkaCopies(ctx context.Context) (timing, error) {
	kafka, err := inRounds([]contender{{name: "dtle into Kafka (kfake), Debezium JSON",
		run: func() (time.Duration, error) { return kafkaCopy(ctx, tb.src, tb.rows) }}}, tb.rows)
	if err != nil {
		return timing{}, err
	}
	return kafka[0], nil
}

// catchUps times the incremental part: every follower starts from the same
// dump, at the same GTID, and applies the same sysbench writes, checked
// against the source's checksum once they are written.
func (tb *testbed) catchUps(ctx context.Context) ([]timing, error) {
	src, dst, replica, threads := tb.src, tb.dst, tb.replica, tb.threads
	step("catch-up setup")
	dump, err := dumpSbtest(ctx, tb.dir, src, threads)
	if err != nil {
		return nil, err
	}
	start, err := gtidPos(ctx, src)
	if err != nil {
		return nil, err
	}
	step("sysbench write-only: %d transactions", tb.writes)
	if err := sysbench(ctx, src, "run", tb.rows, threads, tb.writes); err != nil {
		return nil, err
	}
	end, err := gtidPos(ctx, src)
	if err != nil {
		return nil, err
	}
	written, err := checksum(ctx, src)
	if err != nil {
		return nil, err
	}
	var catchups []contender
	workerCounts := []int{1, threads}
	if onlyNomad {
		workerCounts = []int{threads}
	}
	for _, workers := range workerCounts {
		name := "dtle, parallel_workers=1 (group commit)"
		if workers > 1 {
			name = fmt.Sprintf("dtle, parallel_workers=%d", workers)
		}
		catchups = append(catchups, contender{name: name,
			setup: func() error { return loadSbtest(ctx, dump, dst, threads) },
			run:   func() (time.Duration, error) { return dtleCatchUp(ctx, src, dst, workers, start, end) },
			check: func() error { return sameChecksum(ctx, written, dst) }})
	}
	if tb.nomad != nil {
		catchups = append(catchups, contender{name: fmt.Sprintf("%s, parallel_workers=%d", nomadName, threads),
			setup: func() error { return loadSbtest(ctx, dump, dst, threads) },
			run:   func() (time.Duration, error) { return tb.nomad.catchUpJob(ctx, src, dst, threads, start, end) },
			check: func() error { return sameChecksum(ctx, written, dst) }})
	}
	if onlyNomad {
		return inRounds(catchups, tb.writes)
	}
	catchups = append(catchups, contender{name: fmt.Sprintf("MariaDB replica, slave_parallel_threads=%d", threads),
		setup: func() error { return loadSbtest(ctx, dump, replica, threads) },
		run:   func() (time.Duration, error) { return replicaCatchUp(ctx, src, replica, threads, start, end) },
		check: func() error { return sameChecksum(ctx, written, replica) }})
	return inRounds(catchups, tb.writes)
}

// rounds is how many times each contender runs; the machine's speed varies
// between runs by a third or more, so each is timed several times,
// interleaved with the others, and its best run is the one compared.
var rounds = 3

// contender is one way of doing the measured work: setup (untimed, may be
// nil), run (returns its own timing), check of the result (may be nil).
type contender struct {
	name  string
	setup func() error
	run   func() (time.Duration, error)
	check func() error
}

func (c contender) measure() (time.Duration, cpuUse, error) {
	if c.setup != nil {
		if err := c.setup(); err != nil {
			return 0, cpuUse{}, err
		}
	}
	before := cpuNow()
	d, err := c.run()
	used := cpuNow().since(before)
	if err == nil && c.check != nil {
		err = c.check()
	}
	return d, used, err
}

// inRounds runs every contender once per round, in turn, and keeps each
// one's times; n is the rows or transactions each run handles.
func inRounds(cs []contender, n int) ([]timing, error) {
	out := make([]timing, len(cs))
	for round := range rounds {
		for i, c := range cs {
			step("%s, round %d of %d", c.name, round+1, rounds)
			d, cpu, err := c.measure()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			step("%s: %.1fs (CPU seconds: %s)", c.name, d.Seconds(), cpu)
			t := &out[i]
			t.name, t.n = c.name, n
			t.all = append(t.all, d)
			if t.d == 0 || d < t.d {
				t.d, t.cpu = d, cpu
			}
		}
	}
	return out, nil
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench] "+format+"\n", args...)
}

func sysbench(ctx context.Context, s *sandbox.Server, cmd string, rows, threads, events int) error {
	db, err := mysqlconn.Open(ctx, s.RootConnection())
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if cmd == "prepare" {
		if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS sbtest"); err != nil {
			return err
		}
	}
	args := sysbenchArgs(s, rows, threads)
	if cmd == "run" {
		args = append(args, "--events="+strconv.Itoa(events), "--time=0", "--rand-type=uniform")
	}
	out, err := exec.CommandContext(ctx, "sysbench", append(args, cmd)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("sysbench %s: %w: %s", cmd, err, tail(out))
	}
	return nil
}

// sysbenchArgs are sysbench's oltp_write_only and its connection to s.
func sysbenchArgs(s *sandbox.Server, rows, threads int) []string {
	return []string{"oltp_write_only", "--db-driver=mysql", "--mysql-host=127.0.0.1",
		"--mysql-port=" + strconv.Itoa(s.Port), "--mysql-user=root", "--mysql-db=sbtest",
		"--tables=1", "--table-size=" + strconv.Itoa(rows), "--threads=" + strconv.Itoa(threads)}
}

func mydumperCopy(ctx context.Context, dir string, src, dst *sandbox.Server, threads int) (time.Duration, error) {
	return mydumperCopyOnce(ctx, dir, src, dst, threads, false)
}

func mydumperCopyOnce(ctx context.Context, dir string, src, dst *sandbox.Server, threads int, retried bool) (time.Duration, error) {
	if err := dropSbtest(ctx, dst); err != nil {
		return 0, err
	}
	step("mydumper/myloader -t %d", threads)
	begin := time.Now()
	dump, err := dumpSbtest(ctx, dir, src, threads)
	if err != nil {
		return 0, err
	}
	// Like dtle and mysql, write the destination's binlog (myloader's default skips it).
	err = loadSbtest(ctx, dump, dst, threads, "--enable-binlog")
	d := time.Since(begin)
	_ = os.RemoveAll(dump)
	if err != nil && strings.Contains(err.Error(), "Deadlock found") && !retried {
		// myloader's threads deadlock now and then on one big table (seen at
		// 4M rows) and it gives up: the run is made again, and that one timed.
		step("myloader gave up on a deadlock: its run is made again")
		return mydumperCopyOnce(ctx, dir, src, dst, threads, true)
	}
	return d, err
}

func dumpSbtest(ctx context.Context, dir string, src *sandbox.Server, threads int) (string, error) {
	dump := filepath.Join(dir, fmt.Sprintf("dump-%d", time.Now().UnixNano()))
	out, err := exec.CommandContext(ctx, "mydumper", "-h", "127.0.0.1", "-P", strconv.Itoa(src.Port), "-u", "root",
		"-B", "sbtest", "-t", strconv.Itoa(threads), "-o", dump, "--rows", "100000").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("mydumper: %w: %s", err, tail(out))
	}
	return dump, nil
}

// loadSbtest replaces sbtest on dst with the dump.
func loadSbtest(ctx context.Context, dump string, dst *sandbox.Server, threads int, extra ...string) error {
	if err := dropSbtest(ctx, dst); err != nil {
		return err
	}
	args := append([]string{"-h", "127.0.0.1", "-P", strconv.Itoa(dst.Port), "-u", "root",
		"-d", dump, "-t", strconv.Itoa(threads)}, extra...)
	out, err := exec.CommandContext(ctx, "myloader", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("myloader: %w: %s", err, tail(out))
	}
	return nil
}

func mysqldumpCopy(ctx context.Context, src, dst *sandbox.Server) (time.Duration, error) {
	if err := dropSbtest(ctx, dst); err != nil {
		return 0, err
	}
	step("mysqldump | mysql")
	script := fmt.Sprintf("set -o pipefail; mysqldump -h127.0.0.1 -P%d -uroot --single-transaction --databases sbtest | mysql -h127.0.0.1 -P%d -uroot",
		src.Port, dst.Port)
	begin := time.Now()
	out, err := exec.CommandContext(ctx, "bash", "-c", script).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%w: %s", err, tail(out))
	}
	return time.Since(begin), nil
}

func dropSbtest(ctx context.Context, s *sandbox.Server) error {
	db, err := mysqlconn.Open(ctx, s.RootConnection())
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	for _, q := range []string{"DROP DATABASE IF EXISTS sbtest", "DROP DATABASE IF EXISTS dtle"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func gtidPos(ctx context.Context, s *sandbox.Server) (string, error) {
	db, err := mysqlconn.Open(ctx, s.RootConnection())
	if err != nil {
		return "", err
	}
	defer func() { _ = db.Close() }()
	var pos string
	err = db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&pos)
	return pos, err
}

func replicaCatchUp(ctx context.Context, src, replica *sandbox.Server, threads int, start, end string) (time.Duration, error) {
	db, err := mysqlconn.Open(ctx, replica.RootConnection())
	if err != nil {
		return 0, err
	}
	defer func() { _ = db.Close() }()
	step("native replica catch-up")
	for _, q := range []string{
		// RESET MASTER: an earlier round's GTIDs, in the binlog by
		// log_slave_updates, would conflict with the start position.
		"STOP SLAVE", "RESET SLAVE ALL", "RESET MASTER",
		fmt.Sprintf("SET GLOBAL slave_parallel_threads = %d", threads),
		"SET GLOBAL slave_parallel_mode = 'optimistic'",
		fmt.Sprintf("SET GLOBAL gtid_slave_pos = '%s'", start),
		fmt.Sprintf("CHANGE MASTER TO master_host = '127.0.0.1', master_port = %d, master_user = 'root', master_use_gtid = slave_pos", src.Port),
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("%s: %w", q, err)
		}
	}
	begin := time.Now()
	if _, err := db.ExecContext(ctx, "START SLAVE"); err != nil {
		return 0, err
	}
	var res int
	if err := db.QueryRowContext(ctx, "SELECT MASTER_GTID_WAIT(?, 600)", end).Scan(&res); err != nil || res != 0 {
		return 0, fmt.Errorf("MASTER_GTID_WAIT = %d: %w", res, err)
	}
	d := time.Since(begin)
	_, _ = db.ExecContext(ctx, "STOP SLAVE")
	return d, nil
}

func sameCount(ctx context.Context, src, dst *sandbox.Server, want int) error {
	for _, s := range []*sandbox.Server{src, dst} {
		db, err := mysqlconn.Open(ctx, s.RootConnection())
		if err != nil {
			return err
		}
		var n int
		err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sbtest.sbtest1").Scan(&n)
		_ = db.Close()
		if err != nil {
			return err
		}
		if n != want {
			return fmt.Errorf("%s has %d rows, want %d", s.Name, n, want)
		}
	}
	return nil
}

// sameChecksum compares CHECKSUM TABLE (same server version on both sides).
// checksum is CHECKSUM TABLE of the sysbench table on s.
func checksum(ctx context.Context, s *sandbox.Server) (string, error) {
	db, err := mysqlconn.Open(ctx, s.RootConnection())
	if err != nil {
		return "", err
	}
	defer func() { _ = db.Close() }()
	var name string
	var v sql.NullString
	err = db.QueryRowContext(ctx, "CHECKSUM TABLE sbtest.sbtest1").Scan(&name, &v)
	return v.String, err
}

// sameChecksum compares dst's checksum with the source's, computed once
// per phase by the caller (the source does not change within one).
func sameChecksum(ctx context.Context, want string, dst *sandbox.Server) error {
	got, err := checksum(ctx, dst)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("checksum of sbtest1: source %s, %s %s", want, dst.Name, got)
	}
	return nil
}

func tail(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 6 {
		lines = lines[len(lines)-6:]
	}
	return strings.Join(lines, "\n")
}

// memHighWater is the process's peak resident memory (VmHWM).
func memHighWater() int64 { return peakOf("self") }

// peakOf is a process's high-water mark of resident memory (VmHWM); pid is
// a number or "self". 0 when it cannot be read.
func peakOf(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func machine() string {
	return strconv.Itoa(runtime.NumCPU()) + " cores"
}

// startProfile writes a CPU profile to path until the returned stop is called.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// catchUpProfile measures dtle's catch-up alone, under the CPU profile.
func catchUpProfile(ctx context.Context, dir string, src, dst *sandbox.Server, threads, writes int) (*result, error) {
	dump, err := dumpSbtest(ctx, dir, src, threads)
	if err != nil {
		return nil, err
	}
	if err := loadSbtest(ctx, dump, dst, threads); err != nil {
		return nil, err
	}
	start, err := gtidPos(ctx, src)
	if err != nil {
		return nil, err
	}
	if err := sysbench(ctx, src, "run", 0, threads, writes); err != nil {
		return nil, err
	}
	end, err := gtidPos(ctx, src)
	if err != nil {
		return nil, err
	}
	stop, err := startProfile(profilePath)
	if err != nil {
		return nil, err
	}
	d, err := dtleCatchUp(ctx, src, dst, catchUpWorkers, start, end)
	stop()
	if err != nil {
		return nil, err
	}
	want, err := checksum(ctx, src)
	if err != nil {
		return nil, err
	}
	if err := sameChecksum(ctx, want, dst); err != nil {
		return nil, err
	}
	step("dtle catch-up: %.1fs, %.0f tx/s, same checksum", d.Seconds(), float64(writes)/d.Seconds())
	return nil, errOnePart
}
