// Command bench measures dtle against its peers on this machine, side by
// side in one run, and writes the ratios into bench/README.md.
//
// Full copy of a sysbench table: dtle (twice: an A/A run shows the noise),
// mydumper/myloader, and mysqldump | mysql, each with the same number of
// threads; and into Kafka (kfake) as Debezium events. Incremental catch-up over a sysbench write-only binlog: dtle
// against a native MariaDB replica with parallel replication threads. Then
// the lag under a steady load, the copy of many small tables, the copy at
// growing sizes, and the copy and catch-up of wide BLOB/TEXT rows with
// dtle's peak memory. Run it with `make bench`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == kfakeFlag {
		serveKfake()
		return
	}
	rows := flag.Int("rows", 1_000_000, "rows in the sysbench table")
	threads := flag.Int("threads", 4, "threads for every contender")
	writes := flag.Int("writes", 20000, "sysbench write-only transactions for the catch-up")
	out := flag.String("out", "bench/README.md", "file whose results section is rewritten")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the dtle runs to this file")
	copyOnly := flag.Bool("copy-only", false, "measure only dtle's full copy (for profiling)")
	flag.BoolVar(&onlyCatchUp, "catchup-only", false, "measure only dtle's catch-up (for profiling)")
	flag.IntVar(&catchUpWorkers, "catchup-workers", 1, "dtle's parallel_workers with -catchup-only")
	flag.BoolVar(&onlyKafka, "kafka-only", false, "measure only dtle's full copy into Kafka")
	flag.BoolVar(&onlyVerify, "verify-only", false, "measure only the verify part: dtle's verify and pt-table-checksum")
	flag.BoolVar(&onlyLag, "lag-only", false, "measure only the lag of dtle and the native replica under a steady sysbench load")
	flag.DurationVar(&lagDuration, "lag-duration", lagDuration, "how long the load runs at each rate, for the lag")
	flag.StringVar(&lagRates, "lag-rates", lagRates, "target row changes a second of the load, comma-separated, for the lag")
	flag.BoolVar(&onlyTables, "tables-only", false, "measure only the full copy of many small tables")
	flag.IntVar(&manyTables, "tables", manyTables, "tables for the many-tables copy")
	flag.IntVar(&tableRows, "table-rows", tableRows, "rows in each table of the many-tables copy")
	flag.BoolVar(&onlyGrowth, "growth-only", false, "measure only the full copy at growing sizes")
	flag.StringVar(&growthRows, "growth-rows", growthRows, "table sizes of the growth part, comma-separated, smallest first")
	flag.BoolVar(&onlyWide, "wide-only", false, "measure only the copy and catch-up of BLOB/TEXT rows, with dtle's peak memory")
	flag.IntVar(&wideMiB, "wide-mib", wideMiB, "MiB of BLOB/TEXT values in the wide table")
	flag.BoolVar(&onlyNomad, "nomad-only", false, "measure only dtle's full copy and catch-up, in one process and through Nomad")
	flag.BoolVar(&withNomad, "nomad", true, "also run dtle's full copy and catch-up as Nomad jobs (two plugin processes; make build nomad)")
	flag.IntVar(&chunkSize, "chunk-size", 0, "dtle's chunk_size (0: the default)")
	flag.BoolVar(&viaNATS, "via-nats", false, "dtle's tasks in the bench's process talk over NATS, as tasks on two nodes do, instead of directly")
	flag.BoolVar(&verbose, "v", false, "log what dtle's tasks do")
	flag.IntVar(&rounds, "rounds", rounds, "times each contender runs, interleaved; its best run is compared")
	flag.Parse()
	profilePath, onlyCopy = *cpuProfile, *copyOnly

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
	defer cancel()
	r, err := run(ctx, *rows, *threads, *writes)
	if errors.Is(err, errOnePart) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	report := r.markdown()
	fmt.Println(report)
	if err := writeResults(*out, report); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var (
	withNomad      bool
	chunkSize      int
	verbose        bool
	viaNATS        bool
	catchUpWorkers int
	profilePath    string
	onlyCopy       bool
	onlyCatchUp    bool
	onlyKafka      bool
	onlyVerify     bool
	onlyNomad      bool
	onlyLag        bool
	onlyTables     bool
	onlyGrowth     bool
	onlyWide       bool
)

const (
	beginMark = "<!-- results:begin -->"
	endMark   = "<!-- results:end -->"
)

// writeResults replaces the results section of the README.
func writeResults(path, report string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		return fmt.Errorf("%s lacks the %s ... %s markers", path, beginMark, endMark)
	}
	s = s[:i+len(beginMark)] + "\n" + report + "\n" + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
