package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/sandbox"
)

// Lag under steady load: sysbench writes to the source at a fixed rate
// while a heartbeat row is updated every heartbeatEvery; each follower's
// lag is, per heartbeat, the first time the destination shows it (or a
// later one) minus the time the source wrote it.
var (
	lagDuration = 60 * time.Second
	lagRates    = "1000,5000,10000" // target row changes a second
)

const (
	heartbeatEvery = 50 * time.Millisecond
	pollEvery      = time.Millisecond
	// rowsPerWrite is the row changes of one oltp_write_only transaction:
	// an indexed and a non-indexed UPDATE, a DELETE and an INSERT.
	rowsPerWrite = 4
)

type lagResult struct {
	threads    int
	duration   time.Duration
	contenders []string
	runs       [][]lagRun // per contender, per target rate
}

// lagRun is one follower at one target rate.
type lagRun struct {
	target   int     // row changes/s asked for
	achieved float64 // row changes/s the source committed (InnoDB's row counters)
	tps      float64 // sysbench transactions committed/s
	beats    int     // heartbeats written
	seen     int     // distinct heartbeats the poller saw (the rest were overwritten first)
	lags     []time.Duration
}

func (l lagRun) quantile(q float64) time.Duration {
	if len(l.lags) == 0 {
		return 0
	}
	return l.lags[int(q*float64(len(l.lags)-1)+0.5)]
}

// follower is one way of keeping a copy of the source: start loads the
// same starting copy, starts following from the source's current GTID and
// returns its stop; reached waits until it has applied the GTID position
// end; alive reports a follower that has failed.
type follower struct {
	name    string
	server  *sandbox.Server // where its copy is
	start   func() (stop func(), err error)
	reached func(end string) error
	alive   func() error
}

func parseRates(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad rate %q in %q", f, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// lags runs every follower in turn over every target rate.
func (tb *testbed) lags(ctx context.Context) (*lagResult, error) {
	rates, err := parseRates(lagRates)
	if err != nil {
		return nil, err
	}
	if err := execOn(ctx, tb.src,
		"CREATE TABLE IF NOT EXISTS sbtest.heartbeat (id INT PRIMARY KEY, ts TIMESTAMP(6) NOT NULL)",
		"REPLACE INTO sbtest.heartbeat VALUES (1, NOW(6))"); err != nil {
		return nil, err
	}
	lr := &lagResult{threads: tb.threads, duration: lagDuration}
	for _, f := range tb.followers(ctx) {
		runs, err := tb.lagFollower(ctx, f, rates)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		lr.contenders = append(lr.contenders, f.name)
		lr.runs = append(lr.runs, runs)
	}
	return lr, nil
}

// execOn runs stmts in order on one connection to s.
func execOn(ctx context.Context, s *sandbox.Server, stmts ...string) error {
	db, err := mysqlconn.Open(ctx, s.RootConnection())
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	return sandbox.ExecErr(ctx, db, stmts...)
}

// followers are dtle with parallel_workers 1 and tb.threads on tb.dst, and
// the native replica with as many parallel threads, each from a fresh
// copy (mydumper/myloader) of the source at its current GTID.
func (tb *testbed) followers(ctx context.Context) []follower {
	var fs []follower
	for _, workers := range []int{1, tb.threads} {
		var j *job
		name := "dtle, parallel_workers=1 (group commit)"
		if workers > 1 {
			name = fmt.Sprintf("dtle, parallel_workers=%d", workers)
		}
		fs = append(fs, follower{name: name, server: tb.dst,
			start: func() (func(), error) {
				dump, err := dumpSbtest(ctx, tb.dir, tb.src, tb.threads)
				if err != nil {
					return nil, err
				}
				defer func() { _ = os.RemoveAll(dump) }()
				if err := loadSbtest(ctx, dump, tb.dst, tb.threads); err != nil {
					return nil, err
				}
				pos, err := gtidPos(ctx, tb.src)
				if err != nil {
					return nil, err
				}
				step("dtle, parallel_workers=%d, from %s", workers, pos)
				if j, err = startJob(ctx, tb.src, tb.dst, workers, pos); err != nil {
					return nil, err
				}
				return j.stop, nil
			},
			reached: func(end string) error { return dtleReached(ctx, j, tb.dst, end) },
			alive:   func() error { return j.ended() }})
	}
	fs = append(fs, follower{name: fmt.Sprintf("MariaDB replica, slave_parallel_threads=%d", tb.threads), server: tb.replica,
		start: func() (func(), error) {
			if err := execOn(ctx, tb.replica, "STOP SLAVE",
				fmt.Sprintf("SET GLOBAL slave_parallel_threads = %d", tb.threads),
				"SET GLOBAL slave_parallel_mode = 'optimistic'"); err != nil {
				return nil, err
			}
			if err := tb.startReplica(ctx); err != nil {
				return nil, err
			}
			return func() { _ = stopReplica(ctx, tb.replica) }, nil
		},
		reached: func(end string) error {
			db, err := mysqlconn.Open(ctx, tb.replica.RootConnection())
			if err != nil {
				return err
			}
			defer func() { _ = db.Close() }()
			var res int
			if err := db.QueryRowContext(ctx, "SELECT MASTER_GTID_WAIT(?, 600)", end).Scan(&res); err != nil || res != 0 {
				return fmt.Errorf("MASTER_GTID_WAIT = %d: %w", res, err)
			}
			return nil
		},
		alive: func() error { return nil }})
	return fs
}

// dtleReached waits until the job's checkpoint on dst is end.
func dtleReached(ctx context.Context, j *job, dst *sandbox.Server, end string) error {
	db, err := mysqlconn.Open(ctx, dst.RootConnection())
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	return j.poll(wctx, func() (bool, error) {
		var set string
		if db.QueryRowContext(wctx, "SELECT gtid_set FROM dtle.checkpoint").Scan(&set) != nil {
			return false, nil
		}
		return set == end, nil
	})
}

// lagFollower starts f, measures its lag at each rate, then checks its
// copy against the source.
func (tb *testbed) lagFollower(ctx context.Context, f follower, rates []int) ([]lagRun, error) {
	step("lag: %s", f.name)
	stop, err := f.start()
	if err != nil {
		return nil, err
	}
	defer stop()
	srcDB, err := mysqlconn.Open(ctx, tb.src.RootConnection())
	if err != nil {
		return nil, err
	}
	defer func() { _ = srcDB.Close() }()
	srcDB.SetMaxOpenConns(1)
	dstDB, err := mysqlconn.Open(ctx, f.server.RootConnection())
	if err != nil {
		return nil, err
	}
	defer func() { _ = dstDB.Close() }()
	dstDB.SetMaxOpenConns(1)

	var runs []lagRun
	for _, rate := range rates {
		// Caught up first: one heartbeat, seen on the destination.
		if _, err := heartbeats(ctx, srcDB, dstDB, f.alive, 0); err != nil {
			return nil, fmt.Errorf("before the load: %w", err)
		}
		run, err := tb.lagAt(ctx, srcDB, dstDB, f.alive, rate)
		if err != nil {
			return nil, err
		}
		step("%s at %d row changes/s: reached %.0f, p50 %s, p99 %s, max %s (%d heartbeats, %d seen)", f.name, rate, run.achieved,
			ms(run.quantile(0.5)), ms(run.quantile(0.99)), ms(run.quantile(1)), run.beats, run.seen)
		runs = append(runs, run)
	}
	end, err := gtidPos(ctx, tb.src)
	if err != nil {
		return nil, err
	}
	if err := f.reached(end); err != nil {
		return nil, err
	}
	want, err := schemaChecksums(ctx, tb.src, "sbtest")
	if err != nil {
		return nil, err
	}
	return runs, sameSchema(ctx, want, f.server, "sbtest")
}

// lagAt runs sysbench at rate row changes/s for lagDuration with the
// heartbeat, and waits for the last heartbeat to show on the destination.
func (tb *testbed) lagAt(ctx context.Context, srcDB, dstDB *sql.DB, alive func() error, rate int) (lagRun, error) {
	run := lagRun{target: rate}
	before, err := rowChanges(ctx, srcDB)
	if err != nil {
		return run, err
	}
	txBefore, err := committed(ctx, tb.src)
	if err != nil {
		return run, err
	}
	step("sysbench write-only at %d transactions/s (%d row changes/s) for %s", rate/rowsPerWrite, rate, lagDuration)
	hctx, stopBeats := context.WithCancel(ctx)
	defer stopBeats()
	type hbOut struct {
		s   *hbStats
		err error
	}
	beats := make(chan hbOut, 1)
	go func() {
		s, err := heartbeats(hctx, srcDB, dstDB, alive, lagDuration)
		beats <- hbOut{s, err}
	}()
	begin := time.Now()
	if err := sysbenchRate(ctx, tb.src, tb.rows, tb.threads, rate/rowsPerWrite, lagDuration); err != nil {
		return run, err
	}
	elapsed := time.Since(begin)
	after, err := rowChanges(ctx, srcDB)
	if err != nil {
		return run, err
	}
	txAfter, err := committed(ctx, tb.src)
	if err != nil {
		return run, err
	}
	hb := <-beats
	if hb.err != nil {
		return run, hb.err
	}
	lags, seen := hb.s.lags, hb.s.seen
	run.beats = hb.s.written
	// The heartbeat's own updates are row changes too, but not the load's.
	run.achieved = float64(after-before-int64(run.beats)) / elapsed.Seconds()
	run.tps = float64(txAfter-txBefore) / elapsed.Seconds()
	sort.Slice(lags, func(a, b int) bool { return lags[a] < lags[b] })
	run.lags, run.seen = lags, seen
	return run, nil
}

type hbStats struct {
	written, seen int
	lags          []time.Duration
}

// heartbeats updates the heartbeat row on the source every heartbeatEvery
// for d (once when d is 0) while polling the destination every pollEvery,
// and waits until the last one shows there. Each heartbeat's lag is the
// destination's NOW(6) at the first poll that shows it or a later one,
// minus the source's NOW(6) it wrote: one clock, the servers share the
// machine.
func heartbeats(ctx context.Context, srcDB, dstDB *sql.DB, alive func() error, d time.Duration) (*hbStats, error) {
	type obs struct{ ts, at int64 } // µs since the epoch
	var written []int64
	var seen []obs
	last := int64(-1)
	poll := func() error {
		var ts, now string
		if err := dstDB.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP(ts), UNIX_TIMESTAMP(NOW(6)) FROM sbtest.heartbeat WHERE id = 1").Scan(&ts, &now); err != nil {
			return err
		}
		o := obs{ts: micros(ts), at: micros(now)}
		if o.ts > last {
			seen, last = append(seen, o), o.ts
		}
		return nil
	}
	write := func() error {
		if _, err := srcDB.ExecContext(ctx, "UPDATE sbtest.heartbeat SET ts = NOW(6) WHERE id = 1"); err != nil {
			return err
		}
		var ts string
		if err := srcDB.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP(ts) FROM sbtest.heartbeat WHERE id = 1").Scan(&ts); err != nil {
			return err
		}
		written = append(written, micros(ts))
		return nil
	}
	if err := poll(); err != nil { // what shows already is no heartbeat of this run
		return nil, fmt.Errorf("heartbeat poll: %w", err)
	}
	seen = seen[:0]
	begin := time.Now()
	next := begin
	for {
		if now := time.Now(); !now.Before(next) && (len(written) == 0 || now.Sub(begin) < d) {
			if err := write(); err != nil {
				return nil, fmt.Errorf("heartbeat: %w", err)
			}
			next = next.Add(heartbeatEvery)
		}
		if err := poll(); err != nil {
			return nil, fmt.Errorf("heartbeat poll: %w", err)
		}
		if time.Since(begin) >= d && last >= written[len(written)-1] {
			break
		}
		if err := alive(); err != nil {
			return nil, err
		}
		if time.Since(begin) > d+10*time.Minute {
			return nil, errors.New("the last heartbeat did not show on the destination within 10 minutes")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
	s := &hbStats{written: len(written), seen: len(seen)}
	i := 0
	for _, w := range written {
		for seen[i].ts < w {
			i++
		}
		s.lags = append(s.lags, time.Duration(seen[i].at-w)*time.Microsecond)
	}
	return s, nil
}

// micros parses UNIX_TIMESTAMP(TIMESTAMP(6)), "1796000000.123456".
func micros(s string) int64 {
	sec, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(sec, 10, 64)
	frac = (frac + "000000")[:6]
	f, _ := strconv.ParseInt(frac, 10, 64)
	return n*1_000_000 + f
}

// rowChanges is the rows the server's storage engines have been asked to
// write, update and delete (MariaDB 10.11 has no Innodb_rows_* counters;
// the few internal temporary rows these counters include are noise). The
// values are text: summed as such they make a double, written in exponent
// form past a million, so each is cast to an integer first.
func rowChanges(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, "SELECT SUM(CAST(VARIABLE_VALUE AS UNSIGNED)) FROM information_schema.GLOBAL_STATUS "+
		"WHERE VARIABLE_NAME IN ('HANDLER_WRITE', 'HANDLER_UPDATE', 'HANDLER_DELETE')").Scan(&n)
	return n, err
}

// sysbenchRate runs sysbench write-only for d at tps transactions a second.
func sysbenchRate(ctx context.Context, s *sandbox.Server, rows, threads, tps int, d time.Duration) error {
	args := append(sysbenchArgs(s, rows, threads), "--rate="+strconv.Itoa(tps), "--events=0",
		"--time="+strconv.Itoa(int(d.Seconds())), "--rand-type=uniform", "run")
	out, err := exec.CommandContext(ctx, "sysbench", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("sysbench run --rate=%d: %w: %s", tps, err, tail(out))
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// markdown writes the lag section of the report.
func (lr *lagResult) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "\n### Lag under steady load\n\n"+
		"sysbench write-only at a fixed rate (%d threads, %.0f s per rate), a heartbeat every %.0f ms; lag of each heartbeat, milliseconds.\n\n",
		lr.threads, lr.duration.Seconds(), msf(heartbeatEvery))
	b.WriteString("| contender | target, row changes/s | reached, row changes/s (transactions/s) | p50 | p99 | max | heartbeats (seen) |\n" +
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for i, name := range lr.contenders {
		for _, r := range lr.runs[i] {
			fmt.Fprintf(b, "| %s | %d | %.0f (%.0f) | %.0f | %.0f | %.0f | %d (%d) |\n", name, r.target, r.achieved, r.tps,
				msf(r.quantile(0.5)), msf(r.quantile(0.99)), msf(r.quantile(1)), r.beats, r.seen)
		}
	}
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
