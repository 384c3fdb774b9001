package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/verify"
)

// verifyResult is the comparison part: dtle's verify of the sysbench table
// on a dtle pair (idle, then under a write load), and pt-table-checksum of
// the same data on the native replica pair.
type verifyResult struct {
	dtle    timing // idle, in rounds
	pt      timing // pt-table-checksum, in rounds; n == 0 when it could not run
	ptNote  string // why pt-table-checksum has no figure, or what its report said
	load    loadVerify
	chunk   int
	checked int64 // rows dtle's verify compared (last idle round)
	chunks  int64 // in so many chunks
}

// loadVerify is one verify while sysbench writes to the source and the job
// replicates.
type loadVerify struct {
	d           time.Duration
	rows        int64
	differences int64
	unsettled   int64
	rechecked   int64
	writes      int // sysbench transactions committed during the verify
	state       string
}

// verifyOnly measures the comparison part alone and returns errOnePart.
func (tb *testbed) verifyOnly(ctx context.Context) error {
	vr, err := tb.verifies(ctx)
	if err != nil {
		return err
	}
	var b strings.Builder
	vr.markdown(&b)
	fmt.Println(b.String())
	return errOnePart
}

// verifies measures pt-table-checksum on the native replica pair first (its
// statement-based writes to its own table are then in the source's binlog
// before the dtle job starts reading it), then dtle's verify on a running
// dtle pair, idle and under load.
func (tb *testbed) verifies(ctx context.Context) (*verifyResult, error) {
	vr := &verifyResult{}
	step("verify setup: native replica of the source")
	if err := tb.startReplica(ctx); err != nil {
		return nil, err
	}
	pt, note, err := tb.ptRounds(ctx)
	if err != nil {
		return nil, err
	}
	vr.pt, vr.ptNote = pt, note
	if err := stopReplica(ctx, tb.replica); err != nil { // its load stays out of dtle's figures
		return nil, err
	}

	step("verify setup: dtle job copying sbtest, then replicating")
	if err := dropSbtest(ctx, tb.dst); err != nil {
		return nil, err
	}
	j, err := startJob(ctx, tb.src, tb.dst, tb.threads, "")
	if err != nil {
		return nil, err
	}
	defer j.stop()
	if err := j.waitStage(ctx, "job_stage_incr"); err != nil {
		return nil, err
	}
	vr.chunk = j.srcTask.ChunkSize
	idle, err := inRounds([]contender{{name: "dtle verify (idle)", run: func() (time.Duration, error) {
		rep, d, err := j.verify(ctx)
		if err == nil && rep.Differences() != 0 {
			err = fmt.Errorf("%d differences on an idle, complete copy", rep.Differences())
		}
		if err == nil {
			vr.checked = rows(rep)
			vr.chunks = 0
			for _, t := range rep.Tables {
				vr.chunks += t.Chunks
			}
		}
		return d, err
	}}}, tb.rows)
	if err != nil {
		return nil, err
	}
	vr.dtle = idle[0]
	if vr.load, err = tb.verifyUnderLoad(ctx, j); err != nil {
		return nil, err
	}
	return vr, nil
}

func rows(rep verify.Report) int64 {
	var n int64
	for _, t := range rep.Tables {
		n += t.Rows
	}
	return n
}

// verify runs one comparison of the job's sbtest tables and times it.
func (j *job) verify(ctx context.Context) (verify.Report, time.Duration, error) {
	v, err := verify.New(verify.Config{JobID: j.id, Source: j.srcTask, Dest: j.destTask.ConnectionConfig})
	if err != nil {
		return verify.Report{}, 0, err
	}
	step("dtle verify")
	begin := time.Now()
	rep, err := v.Run(ctx)
	d := time.Since(begin)
	if err != nil {
		return rep, d, err
	}
	for _, t := range rep.Tables {
		if t.State == verify.TableFailed {
			return rep, d, fmt.Errorf("verify of %s failed: %s", t.Source, t.Reason)
		}
	}
	return rep, d, nil
}

// verifyUnderLoad runs sysbench write-only on the source (threads
// connections, no event cap) while dtle's verify runs, then stops it.
func (tb *testbed) verifyUnderLoad(ctx context.Context, j *job) (loadVerify, error) {
	var lv loadVerify
	before, err := committed(ctx, tb.src)
	if err != nil {
		return lv, err
	}
	lctx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan error, 1)
	step("sysbench write-only on the source, %d threads, while dtle verifies", tb.threads)
	go func() { loadDone <- sysbenchFor(lctx, tb.src, tb.rows, tb.threads) }()
	time.Sleep(2 * time.Second) // the load and the job's replication under way
	rep, d, err := j.verify(ctx)
	after, cerr := committed(ctx, tb.src)
	stopLoad()
	lerr := <-loadDone
	if err != nil {
		return lv, err
	}
	if cerr != nil {
		return lv, cerr
	}
	if lerr != nil && !errors.Is(lctx.Err(), context.Canceled) {
		return lv, lerr
	}
	if err := j.ended(); err != nil {
		return lv, err
	}
	lv = loadVerify{d: d, rows: rows(rep), differences: rep.Differences(), writes: int(after - before), state: rep.State}
	for _, t := range rep.Tables {
		lv.unsettled += t.Unsettled
		lv.rechecked += t.Rechecked
	}
	step("dtle verify under load: %.1fs, %d rows, %d differences, %d unsettled, %d chunks rechecked, %d transactions written meanwhile",
		d.Seconds(), lv.rows, lv.differences, lv.unsettled, lv.rechecked, lv.writes)
	if lv.differences != 0 {
		return lv, fmt.Errorf("verify under load reported %d differences", lv.differences)
	}
	return lv, nil
}

// sysbenchFor runs sysbench write-only until ctx ends.
func sysbenchFor(ctx context.Context, s *sandbox.Server, rows, threads int) error {
	args := []string{"oltp_write_only", "--db-driver=mysql", "--mysql-host=127.0.0.1",
		"--mysql-port=" + strconv.Itoa(s.Port), "--mysql-user=root", "--mysql-db=sbtest",
		"--tables=1", "--table-size=" + strconv.Itoa(rows), "--threads=" + strconv.Itoa(threads),
		"--events=0", "--time=3600", "--rand-type=uniform", "run"}
	out, err := exec.CommandContext(ctx, "sysbench", args...).CombinedOutput()
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("sysbench run: %w: %s", err, tail(out))
	}
	return nil
}

// committed is the server's count of committed transactions.
func committed(ctx context.Context, s *sandbox.Server) (int64, error) {
	db, err := mysqlconn.Open(ctx, s.RootConnection())
	if err != nil {
		return 0, err
	}
	defer func() { _ = db.Close() }()
	var name string
	var n int64
	err = db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Com_commit'").Scan(&name, &n)
	return n, err
}

// startReplica makes tb.replica a native replica of the source holding
// sbtest as it is now, and waits until it has caught up.
func (tb *testbed) startReplica(ctx context.Context) error {
	dump, err := dumpSbtest(ctx, tb.dir, tb.src, tb.threads)
	if err != nil {
		return err
	}
	if err := loadSbtest(ctx, dump, tb.replica, tb.threads); err != nil {
		return err
	}
	pos, err := gtidPos(ctx, tb.src)
	if err != nil {
		return err
	}
	db, err := mysqlconn.Open(ctx, tb.replica.RootConnection())
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	for _, q := range []string{
		"STOP SLAVE", "RESET SLAVE ALL", "RESET MASTER", "DROP DATABASE IF EXISTS percona",
		fmt.Sprintf("SET GLOBAL gtid_slave_pos = '%s'", pos),
		fmt.Sprintf("CHANGE MASTER TO master_host = '127.0.0.1', master_port = %d, master_user = 'root', master_use_gtid = slave_pos", tb.src.Port),
		"START SLAVE",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("replica: %s: %w", q, err)
		}
	}
	return nil
}

func stopReplica(ctx context.Context, s *sandbox.Server) error {
	db, err := mysqlconn.Open(ctx, s.RootConnection())
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	_, err = db.ExecContext(ctx, "STOP SLAVE")
	return err
}

// ptRounds times pt-table-checksum of sbtest on the source and its native
// replica. When it cannot run here, it returns no timing and the reason.
func (tb *testbed) ptRounds(ctx context.Context) (timing, string, error) {
	if _, err := exec.LookPath("pt-table-checksum"); err != nil {
		return timing{}, "pt-table-checksum is not installed (Debian's percona-toolkit)", nil
	}
	if err := tb.ptDSNs(ctx); err != nil {
		return timing{}, "", err
	}
	var report string
	ts, err := inRounds([]contender{{name: "pt-table-checksum 3.2.1 (native replica pair)", run: func() (time.Duration, error) {
		d, out, err := tb.ptChecksum(ctx)
		report = out
		return d, err
	}}}, tb.rows)
	var pe *ptError
	if errors.As(err, &pe) {
		step("pt-table-checksum cannot run here: %s", pe.out)
		return timing{}, pe.Error(), nil
	}
	if err != nil {
		return timing{}, "", err
	}
	return ts[0], report, nil
}

// ptDSNs lists the replica for pt-table-checksum's --recursion-method=dsn:
// its processlist discovery would take the source's port for the replica.
func (tb *testbed) ptDSNs(ctx context.Context) error {
	db, err := mysqlconn.Open(ctx, tb.src.RootConnection())
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS percona",
		"CREATE TABLE IF NOT EXISTS percona.dsns (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT, dsn VARCHAR(255) NOT NULL)",
		"DELETE FROM percona.dsns",
		fmt.Sprintf("INSERT INTO percona.dsns (dsn) VALUES ('h=127.0.0.1,P=%d,u=root')", tb.replica.Port),
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("source: %s: %w", q, err)
		}
	}
	return nil
}

// ptError is a pt-table-checksum run that failed or reported a problem.
type ptError struct {
	code int
	out  string
}

func (e *ptError) Error() string {
	return fmt.Sprintf("pt-table-checksum exited with status %d: %s", e.code, e.out)
}

// ptRow is its report line of the table: TS ERRORS DIFFS ROWS DIFF_ROWS CHUNKS
// SKIPPED TIME TABLE; it captures ERRORS, DIFFS, ROWS and SKIPPED.
var ptRow = regexp.MustCompile(`(?m)^\s*\S+\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+\d+\s+(\d+)\s+\S+\s+sbtest\.sbtest1\s*$`)

// ptChecksum runs pt-table-checksum once and checks it found the table
// whole and equal on the replica. --no-check-binlog-format: the replica
// logs in ROW format, which the tool refuses by default because a replica
// of that replica would get rows, not its checksum statements; the bench's
// replica has none, and it applies the statements it receives as such.
func (tb *testbed) ptChecksum(ctx context.Context) (time.Duration, string, error) {
	step("pt-table-checksum")
	args := []string{"--databases=sbtest", "--replicate=percona.checksums",
		fmt.Sprintf("--recursion-method=dsn=h=127.0.0.1,P=%d,u=root,D=percona,t=dsns", tb.src.Port),
		"--no-check-binlog-format", "--no-version-check", fmt.Sprintf("h=127.0.0.1,P=%d,u=root", tb.src.Port)}
	begin := time.Now()
	out, err := exec.CommandContext(ctx, "pt-table-checksum", args...).CombinedOutput()
	d := time.Since(begin)
	text := strings.TrimSpace(string(out))
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return d, text, &ptError{code: ee.ExitCode(), out: tail(out)}
	}
	if err != nil {
		return d, text, err
	}
	m := ptRow.FindStringSubmatch(text)
	if m == nil {
		return d, text, &ptError{out: "no report line for sbtest.sbtest1: " + tail(out)}
	}
	if m[1] != "0" || m[2] != "0" || m[4] != "0" {
		return d, text, &ptError{out: "errors, differences or skipped chunks: " + m[0]}
	}
	if n, _ := strconv.Atoi(m[3]); n != tb.rows {
		return d, text, &ptError{out: fmt.Sprintf("checked %d rows, want %d: %s", n, tb.rows, m[0])}
	}
	return d, m[0], nil
}

// markdown writes the comparison section of the report.
func (vr *verifyResult) markdown(b *strings.Builder) {
	b.WriteString("\n### Verify\n\n")
	if vr.pt.n > 0 {
		table(b, []timing{vr.dtle, vr.pt}, "rows/s")
		fmt.Fprintf(b, "\npt-table-checksum's report line (last round): `%s`\n", strings.Join(strings.Fields(vr.ptNote), " "))
	} else {
		table(b, []timing{vr.dtle}, "rows/s")
		fmt.Fprintf(b, "\npt-table-checksum: no figure. %s\n", vr.ptNote)
	}
	fmt.Fprintf(b, "\ndtle's verify compared %d rows in %d chunks (sized to take about 0.1 s on the source, the first of "+
		"the job's chunk_size, %d rows), 0 differences. Under load (sysbench write-only, "+
		"%d transactions committed on the source during the verify, the job replicating them): %.1f s, %d rows, "+
		"state %s, **%d differences**, %d unsettled, %d chunks compared row by row.\n",
		vr.checked, vr.chunks, vr.chunk, vr.load.writes, vr.load.d.Seconds(), vr.load.rows, vr.load.state, vr.load.differences,
		vr.load.unsettled, vr.load.rechecked)
}
