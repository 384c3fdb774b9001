package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/sandbox"
)

// The many-tables copy: manyTables tables of tableRows rows in sbtest.
var (
	manyTables = 2000
	tableRows  = 500
)

type tablesResult struct {
	tables, rows, threads int
	copies                []timing // n: tables
}

// tableKinds are the keys of the tables, in turn: a primary key, only a
// unique key over NOT NULL columns, no key at all.
var tableKinds = []struct{ name, ddl string }{
	{"primary key", "(id INT NOT NULL, k INT NOT NULL, c CHAR(32), d DATETIME NOT NULL, PRIMARY KEY (id))"},
	{"unique key over NOT NULL columns", "(id INT NOT NULL, k INT NOT NULL, c CHAR(32), d DATETIME NOT NULL, UNIQUE KEY (k, id))"},
	{"no key", "(id INT NOT NULL, k INT NOT NULL, c CHAR(32), d DATETIME NOT NULL)"},
}

// manyTables replaces the source's sbtest schema with manyTables tables
// and times dtle's copy and mydumper + myloader's, each checked table by
// table against the source.
func (tb *testbed) manyTables(ctx context.Context) (*tablesResult, error) {
	tr := &tablesResult{tables: manyTables, rows: tableRows, threads: tb.threads}
	step("many tables: %d tables of %d rows", manyTables, tableRows)
	if err := fillTables(ctx, tb.src, tb.threads); err != nil {
		return nil, err
	}
	want, err := schemaChecksums(ctx, tb.src, "sbtest")
	if err != nil {
		return nil, err
	}
	if len(want) != manyTables {
		return nil, fmt.Errorf("the source holds %d tables, want %d", len(want), manyTables)
	}
	src, dst, threads := tb.src, tb.dst, tb.threads
	check := func() error { return sameSchema(ctx, want, dst, "sbtest") }
	tr.copies, err = inRounds([]contender{
		{name: "dtle", setup: func() error { return resetBinlog(ctx, dst) },
			run: func() (time.Duration, error) { return dtleCopy(ctx, src, dst, threads) }, check: check},
		{name: "mydumper + myloader", setup: func() error { return resetBinlog(ctx, dst) },
			run: func() (time.Duration, error) { return mydumperCopy(ctx, tb.dir, src, dst, threads) }, check: check},
	}, manyTables)
	return tr, err
}

// fillTables creates sbtest anew on s with the many tables, threads at a
// time. Each row is made by the server (the sequence engine).
func fillTables(ctx context.Context, s *sandbox.Server, threads int) error {
	if err := dropSbtest(ctx, s); err != nil {
		return err
	}
	db, err := mysqlconn.Open(ctx, s.RootConnection())
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE sbtest"); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(threads)
	for i := range manyTables {
		g.Go(func() error {
			name := fmt.Sprintf("sbtest.t%05d", i)
			return sandbox.ExecErr(gctx, db,
				"CREATE TABLE "+name+" "+tableKinds[i%len(tableKinds)].ddl,
				fmt.Sprintf("INSERT INTO %s SELECT seq, seq * 7 %% 1000 + %d * 1000, IF(seq %% 10 = 0, NULL, MD5(seq + %d)), "+
					"'2026-01-01' + INTERVAL seq MINUTE FROM sbtest.seq_1_to_%d", name, i, i, tableRows))
		})
	}
	return g.Wait()
}

// resetBinlog empties s's binlog, so that the copies of a part do not fill the disk.
func resetBinlog(ctx context.Context, s *sandbox.Server) error {
	return execOn(ctx, s, "RESET MASTER")
}

// markdown writes the many-tables section of the report.
func (tr *tablesResult) markdown(b *strings.Builder) {
	kinds := make([]string, len(tableKinds))
	for i, k := range tableKinds {
		kinds[i] = k.name
	}
	fmt.Fprintf(b, "\n### Many tables\n\n%d tables of %d rows (in turn: %s), %d threads for each contender; "+
		"every table checked with `CHECKSUM TABLE` against the source.\n\n", tr.tables, tr.rows, strings.Join(kinds, ", "), tr.threads)
	table(b, tr.copies, "tables/s")
}
