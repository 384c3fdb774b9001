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
	memHWM                int64    // bytes, dtle's process
	machine               string
}

type timing struct {
	name string
	d    time.Duration   // the best run's
	all  []time.Duration // every run's, in order
	n    int             // rows or transactions
}

func (t timing) rate() float64 { return float64(t.n) / t.d.Seconds() }

func run(ctx context.Context, rows, threads, writes int) (*result, error) {
	dir, err := os.MkdirTemp("", "dtle-bench-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	r := &result{rows: rows, threads: threads, writes: writes, machine: machine()}

	var servers []*sandbox.Server
	for _, name := range []string{"source", "dest", "replica"} {
		s, err := sandbox.Start(ctx, dir, sandbox.Options{Name: name, Args: serverArgs})
		if err != nil {
			return nil, err
		}
		defer s.Stop()
		servers = append(servers, s)
	}
	src, dst, replica := servers[0], servers[1], servers[2]
	step("sysbench prepare: %d rows", rows)
	if err := sysbench(ctx, src, "prepare", rows, threads, 0); err != nil {
		return nil, err
	}
	prepared, err := checksum(ctx, src)
	if err != nil {
		return nil, err
	}

	if onlyCopy {
		stop, err := startProfile(profilePath)
		if err != nil {
			return nil, err
		}
		d, err := dtleCopy(ctx, src, dst, threads)
		stop()
		if err != nil {
			return nil, err
		}
		if err := sameChecksum(ctx, prepared, dst); err != nil {
			return nil, err
		}
		step("dtle full copy: %.1fs, %.0f rows/s, same checksum", d.Seconds(), float64(rows)/d.Seconds())
		return nil, errOnePart
	}

	if onlyKafka {
		stop, err := startProfile(profilePath)
		if err != nil {
			return nil, err
		}
		d, err := kafkaCopy(ctx, src, rows)
		stop()
		if err != nil {
			return nil, err
		}
		step("dtle full copy into Kafka: %.1fs, %.0f row events/s, memory high-water mark %.0f MiB",
			d.Seconds(), float64(rows)/d.Seconds(), float64(memHighWater())/(1<<20))
		return nil, errOnePart
	}
	if onlyCatchUp {
		return catchUpProfile(ctx, dir, src, dst, threads, writes)
	}

	// Full copy: every contender into an empty destination, checked.
	copies := []contender{
		{name: "dtle", run: func() (time.Duration, error) { return dtleCopy(ctx, src, dst, threads) },
			check: func() error { return sameChecksum(ctx, prepared, dst) }},
		{name: "mydumper + myloader", run: func() (time.Duration, error) { return mydumperCopy(ctx, dir, src, dst, threads) },
			check: func() error { return sameCount(ctx, src, dst, rows) }},
		{name: "mysqldump | mysql", run: func() (time.Duration, error) { return mysqldumpCopy(ctx, src, dst) },
			check: func() error { return sameCount(ctx, src, dst, rows) }},
	}
	if r.copies, err = inRounds(copies, rows); err != nil {
		return nil, err
	}
	kafka, err := inRounds([]contender{{name: "dtle into Kafka (kfake), Debezium JSON",
		run: func() (time.Duration, error) { return kafkaCopy(ctx, src, rows) }}}, rows)
	if err != nil {
		return nil, err
	}
	r.kafka = kafka[0]

	// Incremental: every follower starts from the same dump, at the same GTID.
	step("catch-up setup")
	dump, err := dumpSbtest(ctx, dir, src, threads)
	if err != nil {
		return nil, err
	}
	start, err := gtidPos(ctx, src)
	if err != nil {
		return nil, err
	}
	step("sysbench write-only: %d transactions", writes)
	if err := sysbench(ctx, src, "run", rows, threads, writes); err != nil {
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
	for _, workers := range []int{1, threads} {
		name := "dtle, parallel_workers=1 (group commit)"
		if workers > 1 {
			name = fmt.Sprintf("dtle, parallel_workers=%d", workers)
		}
		catchups = append(catchups, contender{name: name,
			setup: func() error { return loadSbtest(ctx, dump, dst, threads) },
			run:   func() (time.Duration, error) { return dtleCatchUp(ctx, src, dst, workers, start, end) },
			check: func() error { return sameChecksum(ctx, written, dst) }})
	}
	catchups = append(catchups, contender{name: fmt.Sprintf("MariaDB replica, slave_parallel_threads=%d", threads),
		setup: func() error { return loadSbtest(ctx, dump, replica, threads) },
		run:   func() (time.Duration, error) { return replicaCatchUp(ctx, src, replica, threads, start, end) },
		check: func() error { return sameChecksum(ctx, written, replica) }})
	if r.catchups, err = inRounds(catchups, writes); err != nil {
		return nil, err
	}
	r.memHWM = memHighWater()
	return r, nil
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

func (c contender) measure() (time.Duration, error) {
	if c.setup != nil {
		if err := c.setup(); err != nil {
			return 0, err
		}
	}
	d, err := c.run()
	if err == nil && c.check != nil {
		err = c.check()
	}
	return d, err
}

// inRounds runs every contender once per round, in turn, and keeps each
// one's times; n is the rows or transactions each run handles.
func inRounds(cs []contender, n int) ([]timing, error) {
	out := make([]timing, len(cs))
	for round := range rounds {
		for i, c := range cs {
			step("%s, round %d of %d", c.name, round+1, rounds)
			d, err := c.measure()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			step("%s: %.1fs", c.name, d.Seconds())
			t := &out[i]
			t.name, t.n = c.name, n
			t.all = append(t.all, d)
			if t.d == 0 || d < t.d {
				t.d = d
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
	args := []string{"oltp_write_only", "--db-driver=mysql", "--mysql-host=127.0.0.1",
		"--mysql-port=" + strconv.Itoa(s.Port), "--mysql-user=root", "--mysql-db=sbtest",
		"--tables=1", "--table-size=" + strconv.Itoa(rows), "--threads=" + strconv.Itoa(threads)}
	if cmd == "run" {
		args = append(args, "--events="+strconv.Itoa(events), "--time=0", "--rand-type=uniform")
	}
	out, err := exec.CommandContext(ctx, "sysbench", append(args, cmd)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("sysbench %s: %w: %s", cmd, err, tail(out))
	}
	return nil
}

func mydumperCopy(ctx context.Context, dir string, src, dst *sandbox.Server, threads int) (time.Duration, error) {
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
	if err := loadSbtest(ctx, dump, dst, threads, "--enable-binlog"); err != nil {
		return 0, err
	}
	d := time.Since(begin)
	_ = os.RemoveAll(dump)
	return d, nil
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
func memHighWater() int64 {
	b, err := os.ReadFile("/proc/self/status")
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
