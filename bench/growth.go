package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// growthRows are the sizes of the sysbench table the growth part copies.
var growthRows = "1000000,4000000"

type growthResult struct {
	threads int
	sizes   []int
	copies  [][]timing // per size, per contender
}

// growth times dtle's full copy and mydumper + myloader's at each size, the
// source's sysbench table prepared anew each time.
func (tb *testbed) growth(ctx context.Context) (*growthResult, error) {
	sizes, err := parseSizes(growthRows)
	if err != nil {
		return nil, err
	}
	gr := &growthResult{threads: tb.threads, sizes: sizes}
	src, dst, threads := tb.src, tb.dst, tb.threads
	for _, n := range sizes {
		step("growth: sysbench prepare, %d rows", n)
		if err := dropSbtest(ctx, src); err != nil {
			return nil, err
		}
		if err := sysbench(ctx, src, "prepare", n, threads, 0); err != nil {
			return nil, err
		}
		prepared, err := checksum(ctx, src)
		if err != nil {
			return nil, err
		}
		check := func() error { return sameChecksum(ctx, prepared, dst) }
		copies, err := inRounds([]contender{
			{name: "dtle", setup: func() error { return resetBinlog(ctx, dst) },
				run: func() (time.Duration, error) { return dtleCopy(ctx, src, dst, threads) }, check: check},
			{name: "mydumper + myloader", setup: func() error { return resetBinlog(ctx, dst) },
				run: func() (time.Duration, error) { return mydumperCopy(ctx, tb.dir, src, dst, threads) }, check: check},
		}, n)
		if err != nil {
			return nil, err
		}
		gr.copies = append(gr.copies, copies)
	}
	return gr, nil
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || (len(out) > 0 && n <= out[len(out)-1]) {
			return nil, fmt.Errorf("bad size %q in %q: positive and growing", f, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// markdown writes the growth section of the report: each contender's best
// time per size, and the ratio of the largest to the smallest.
func (gr *growthResult) markdown(b *strings.Builder) {
	first, last := gr.sizes[0], gr.sizes[len(gr.sizes)-1]
	fmt.Fprintf(b, "\n### Growth\n\nFull copy of the sysbench table at each size, %d threads for each contender, each checked with "+
		"`CHECKSUM TABLE`; best run of each, seconds. Linear growth from %d to %d rows is a ratio of %.1f.\n\n",
		gr.threads, first, last, float64(last)/float64(first))
	b.WriteString("| contender |")
	for _, n := range gr.sizes {
		fmt.Fprintf(b, " %d rows |", n)
	}
	fmt.Fprintf(b, " ratio %d / %d rows | every run, seconds |\n| --- |", last, first)
	b.WriteString(strings.Repeat(" ---: |", len(gr.sizes)+1) + " --- |\n")
	for c := range gr.copies[0] {
		fmt.Fprintf(b, "| %s |", gr.copies[0][c].name)
		var runs []string
		for i, n := range gr.sizes {
			t := gr.copies[i][c]
			fmt.Fprintf(b, " %.1f |", t.d.Seconds())
			runs = append(runs, fmt.Sprintf("%d rows: %s", n, seconds(t.all)))
		}
		fmt.Fprintf(b, " %.2f | %s |\n", gr.copies[len(gr.sizes)-1][c].d.Seconds()/gr.copies[0][c].d.Seconds(), strings.Join(runs, "; "))
	}
}
