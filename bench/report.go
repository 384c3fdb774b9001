package main

import (
	"fmt"
	"strings"
	"time"
)

func (r *result) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s; %d rows, %d threads for every contender, %d write-only transactions.\n\n",
		time.Now().UTC().Format("2006-01-02"), r.machine, r.rows, r.threads, r.writes)
	b.WriteString("### Full copy\n\n| contender | seconds | rows/s | dtle's speed relative to it |\n| --- | ---: | ---: | ---: |\n")
	base := r.copies[0]
	for _, t := range r.copies {
		fmt.Fprintf(&b, "| %s | %.1f | %.0f | %.2f× |\n", strings.ReplaceAll(t.name, "|", "\\|"), t.d.Seconds(), t.rate(), base.rate()/t.rate())
	}
	fmt.Fprintf(&b, "\n### Full copy into Kafka\n\n%s: %.1f s, %.0f row events/s (target: 100000).\n",
		r.kafka.name, r.kafka.d.Seconds(), r.kafka.rate())
	b.WriteString("\n### Incremental catch-up\n\n| contender | seconds | transactions/s | dtle's speed relative to it |\n| --- | ---: | ---: | ---: |\n")
	base = r.catchups[0]
	for _, t := range r.catchups {
		fmt.Fprintf(&b, "| %s | %.1f | %.0f | %.2f× |\n", strings.ReplaceAll(t.name, "|", "\\|"), t.d.Seconds(), t.rate(), base.rate()/t.rate())
	}
	fmt.Fprintf(&b, "\nMemory high-water mark of the process running both dtle tasks (VmHWM): %.0f MiB.\n",
		float64(r.memHWM)/(1<<20))
	return b.String()
}
