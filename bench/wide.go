package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/sandbox"
)

// wideMiB is the size of the BLOB and TEXT values of the wide table.
var wideMiB = 1024

const (
	wideMin   = 64 << 10 // each value's size, bytes: from wideMin to wideMax
	wideMax   = 1 << 20
	wideTxMiB = 32 // the fill's transactions
)

type wideResult struct {
	rows      int
	bytes     int64
	threads   int
	packet    int64 // the servers' max_allowed_packet
	copies    []timing
	catchups  []timing
	copyErr   string // a contender failed: no figures
	catchErr  string
	copyPeak  int64  // VmHWM of the process during dtle's copies (the highest)
	catchPeak int64  // ... during dtle's catch-ups
	idle      int64  // the process's resident memory before them
	noReset   string // why VmHWM could not be reset, if it could not
	// nomadCopyPeak and nomadCatchPeak are the VmHWM of the source's and
	// the destination's plugin processes through Nomad (tb.nomad).
	nomadCopyPeak, nomadCatchPeak [2]int64
}

// wide replaces the source's sbtest schema with two tables of BLOB and TEXT
// values: wide, filled in transactions of about wideTxMiB, and wide_tx,
// filled from wide in one transaction. The copy (wide only) and the
// catch-up (from both tables empty, through every transaction) are each
// timed for dtle and its peer, with the peak memory of dtle's runs.
func (tb *testbed) wide(ctx context.Context) (*wideResult, error) {
	src, dst, replica, threads := tb.src, tb.dst, tb.replica, tb.threads
	wr := &wideResult{threads: threads}
	if err := dropSbtest(ctx, src); err != nil {
		return nil, err
	}
	const ddl = " (id INT NOT NULL PRIMARY KEY, b LONGBLOB NOT NULL, t LONGTEXT NOT NULL)"
	if err := execOn(ctx, src, "CREATE DATABASE sbtest", "CREATE TABLE sbtest.wide"+ddl, "CREATE TABLE sbtest.wide_tx"+ddl); err != nil {
		return nil, err
	}
	empty, err := dumpSbtest(ctx, tb.dir, src, threads)
	if err != nil {
		return nil, err
	}
	start, err := gtidPos(ctx, src)
	if err != nil {
		return nil, err
	}
	if wr.packet, err = maxPacket(ctx, src); err != nil {
		return nil, err
	}
	step("wide rows: %d MiB of BLOB/TEXT values", wideMiB)
	if wr.rows, wr.bytes, err = fillWide(ctx, src); err != nil {
		return nil, err
	}
	want, err := schemaChecksums(ctx, src, "sbtest")
	if err != nil {
		return nil, err
	}
	if err := resetMemHighWater(); err != nil {
		wr.noReset = err.Error()
	}
	wr.idle = memHighWater()
	check := func(s *sandbox.Server, want map[string]string) func() error {
		return func() error { return sameSchema(ctx, want, s, "sbtest") }
	}
	copies := []contender{
		{name: "dtle", setup: func() error { return resetBinlog(ctx, dst) },
			run:   measuredPeak(&wr.copyPeak, func() (time.Duration, error) { return dtleCopy(ctx, src, dst, threads) }),
			check: check(dst, want)},
		{name: "mydumper + myloader", setup: func() error { return resetBinlog(ctx, dst) },
			run:   func() (time.Duration, error) { return mydumperCopy(ctx, tb.dir, src, dst, threads) },
			check: check(dst, want)},
	}
	if nb := tb.nomad; nb != nil {
		copies = append(copies, contender{name: nomadName, setup: func() error { return resetBinlog(ctx, dst) },
			run:   nb.measuredPeaks(&wr.nomadCopyPeak, func() (time.Duration, error) { return nb.copyJob(ctx, src, dst, threads) }),
			check: check(dst, want)})
	}
	wr.copies, err = inRounds(copies, int(wr.bytes>>20))
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		wr.copyErr = err.Error()
	}

	step("wide rows: one transaction of %d MiB", wr.bytes>>20)
	if err := execOn(ctx, src, "INSERT INTO sbtest.wide_tx SELECT * FROM sbtest.wide"); err != nil {
		return nil, err
	}
	end, err := gtidPos(ctx, src)
	if err != nil {
		return nil, err
	}
	if want, err = schemaChecksums(ctx, src, "sbtest"); err != nil {
		return nil, err
	}
	emptyDest := func() error {
		if err := resetBinlog(ctx, dst); err != nil {
			return err
		}
		return loadSbtest(ctx, empty, dst, threads)
	}
	catchups := []contender{
		{name: fmt.Sprintf("dtle, parallel_workers=%d", threads), setup: emptyDest,
			run:   measuredPeak(&wr.catchPeak, func() (time.Duration, error) { return dtleCatchUp(ctx, src, dst, threads, start, end) }),
			check: check(dst, want)},
		{name: fmt.Sprintf("MariaDB replica, slave_parallel_threads=%d", threads),
			setup: func() error { return loadSbtest(ctx, empty, replica, threads) },
			run:   func() (time.Duration, error) { return replicaCatchUp(ctx, src, replica, threads, start, end) },
			check: check(replica, want)},
	}
	if nb := tb.nomad; nb != nil {
		catchups = append(catchups, contender{name: fmt.Sprintf("%s, parallel_workers=%d", nomadName, threads), setup: emptyDest,
			run: nb.measuredPeaks(&wr.nomadCatchPeak, func() (time.Duration, error) {
				return nb.catchUpJob(ctx, src, dst, threads, start, end)
			}),
			check: check(dst, want)})
	}
	wr.catchups, err = inRounds(catchups, int(2*wr.bytes>>20))
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		wr.catchErr = err.Error()
	}
	_ = os.RemoveAll(empty)
	return wr, nil
}

// fillWide inserts rows into sbtest.wide until their values reach wideMiB,
// each value from wideMin to wideMax bytes (BLOB: bytes of every value,
// TEXT: hex lines), made by the server. It returns the rows and bytes.
func fillWide(ctx context.Context, s *sandbox.Server) (int, int64, error) {
	db, err := mysqlconn.Open(ctx, s.RootConnection())
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = db.Close() }()
	rng := rand.New(rand.NewPCG(1, 2))
	var total, inTx int64
	stmts := []string{"BEGIN"}
	rows := 0
	for total < int64(wideMiB)<<20 {
		rows++
		nb := (wideMin + rng.IntN(wideMax-wideMin+1)) / 16 // UNHEX(MD5): 16 bytes
		nt := (wideMin + rng.IntN(wideMax-wideMin+1)) / 33 // MD5 and a newline
		stmts = append(stmts, fmt.Sprintf("INSERT INTO sbtest.wide VALUES (%d, UNHEX(REPEAT(MD5(%d), %d)), REPEAT(CONCAT(MD5(%d), '\\n'), %d))",
			rows, rows, nb, rows, nt))
		size := int64(16*nb + 33*nt)
		total += size
		if inTx += size; inTx >= wideTxMiB<<20 || total >= int64(wideMiB)<<20 {
			if err := sandbox.ExecErr(ctx, db, append(stmts, "COMMIT")...); err != nil {
				return 0, 0, err
			}
			stmts, inTx = stmts[:1], 0
		}
	}
	return rows, total, nil
}

func maxPacket(ctx context.Context, s *sandbox.Server) (int64, error) {
	db, err := mysqlconn.Open(ctx, s.RootConnection())
	if err != nil {
		return 0, err
	}
	defer func() { _ = db.Close() }()
	var n int64
	err = db.QueryRowContext(ctx, "SELECT @@GLOBAL.max_allowed_packet").Scan(&n)
	return n, err
}

// markdown writes the wide-rows section of the report.
func (wr *wideResult) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "\n### Wide rows\n\n%d rows, %d MiB of values (a LONGBLOB and a LONGTEXT per row, each %d KiB to %d KiB), "+
		"filled in transactions of about %d MiB; max_allowed_packet %d MiB. Full copy of that table:\n\n",
		wr.rows, wr.bytes>>20, wideMin>>10, wideMax>>10, wideTxMiB, wr.packet>>20)
	if wr.copyErr != "" {
		fmt.Fprintf(b, "failed: %s\n", wr.copyErr)
	} else {
		table(b, wr.copies, "MiB/s")
	}
	fmt.Fprintf(b, "\nCatch-up from both tables empty, through the fill's transactions and then one transaction of %d MiB copying the rows "+
		"into a second table (%d MiB in all):\n\n", wr.bytes>>20, 2*wr.bytes>>20)
	if wr.catchErr != "" {
		fmt.Fprintf(b, "failed: %s\n", wr.catchErr)
	} else {
		table(b, wr.catchups, "MiB/s")
	}
	if wr.nomadCopyPeak != [2]int64{} || wr.nomadCatchPeak != [2]int64{} {
		fmt.Fprintf(b, "\nPeak resident memory of each task's plugin process through Nomad (VmHWM, reset before each run; the highest "+
			"run; target below 256 MiB each): full copy: src %.0f MiB, dest %.0f MiB; catch-up: src %.0f MiB, dest %.0f MiB.\n",
			mib(wr.nomadCopyPeak[0]), mib(wr.nomadCopyPeak[1]), mib(wr.nomadCatchPeak[0]), mib(wr.nomadCatchPeak[1]))
	}
	if wr.noReset != "" {
		fmt.Fprintf(b, "\nPeak resident memory of the process running both dtle tasks (VmHWM, which could not be reset: %s; so the "+
			"process's peak since it started): after the full copies %.0f MiB, after the catch-ups %.0f MiB.\n",
			wr.noReset, mib(wr.copyPeak), mib(wr.catchPeak))
		return
	}
	fmt.Fprintf(b, "\nPeak resident memory of the process running both dtle tasks (VmHWM, reset before each run; the highest run): "+
		"full copy %.0f MiB, catch-up %.0f MiB; %.0f MiB before them.\n", mib(wr.copyPeak), mib(wr.catchPeak), mib(wr.idle))
}
