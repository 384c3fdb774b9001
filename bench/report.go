package main

import (
	"fmt"
	"strings"
	"time"
)

func (r *result) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s; %d rows, %d threads for every contender, %d write-only transactions; "+
		"each contender run %d times, interleaved, its best run compared.\n\n",
		time.Now().UTC().Format("2006-01-02"), r.machine, r.rows, r.threads, r.writes, rounds)
	b.WriteString("### Full copy\n\n")
	table(&b, r.copies, "rows/s")
	fmt.Fprintf(&b, "\n### Full copy into Kafka\n\n%s: best %.1f s, %.0f row events/s (target: 100000); every run, seconds: %s.\n",
		r.kafka.name, r.kafka.d.Seconds(), r.kafka.rate(), seconds(r.kafka.all))
	b.WriteString("\n### Incremental catch-up\n\n")
	table(&b, r.catchups, "transactions/s")
	fmt.Fprintf(&b, "\nMemory high-water mark of the process running both dtle tasks (VmHWM), before the verify part: %.0f MiB.\n",
		float64(r.memHWM)/(1<<20))
	r.verify.markdown(&b)
	if r.lag != nil {
		r.lag.markdown(&b)
	}
	if r.growth != nil {
		r.growth.markdown(&b)
	}
	if r.tables != nil {
		r.tables.markdown(&b)
	}
	if r.wide != nil {
		r.wide.markdown(&b)
	}
	for _, f := range r.failed {
		b.WriteString(f)
	}
	return b.String()
}

// table compares each contender's best run with the first contender's.
func table(b *strings.Builder, ts []timing, unit string) {
	fmt.Fprintf(b, "| contender | best, seconds | %s | dtle's speed relative to it | every run, seconds | CPU seconds, best run (own / source / destination) |\n"+
		"| --- | ---: | ---: | ---: | --- | --- |\n", unit)
	base := ts[0]
	for _, t := range ts {
		fmt.Fprintf(b, "| %s | %.1f | %.0f | %.2f× | %s | %s |\n", strings.ReplaceAll(t.name, "|", "\\|"), t.d.Seconds(), t.rate(),
			base.rate()/t.rate(), seconds(t.all), t.cpu)
	}
	fmt.Fprintf(b, "\nCPU seconds: %s.\n", cpuColumns)
}

func seconds(ds []time.Duration) string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = fmt.Sprintf("%.1f", d.Seconds())
	}
	return strings.Join(out, ", ")
}
