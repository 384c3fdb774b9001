package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/dtle-io/dtle/internal/sandbox"
)

// cpuServers are the servers whose CPU time each run reports: the
// source, the destination and the replica, in that order.
var cpuServers []*sandbox.Server

// cpuColumns says what a cpuUse holds, for the reports.
const cpuColumns = "own is the contender's processes (dtle in the bench's process, or the peer's programs; " +
	"through Nomad, dtle works in the agents' plugin processes, which are not counted), then the source server's, " +
	"then the destination server's or the replica's"

// cpuUse is CPU time, user and system, in seconds: this process with its
// finished children (dtle when it runs in this process; mydumper, myloader,
// mysqldump), the source server, and the destination server with the
// replica (only one of them works in a run). dtle run through Nomad works in
// the agents' plugin processes, which it does not count.
type cpuUse struct{ own, src, dst float64 }

func (c cpuUse) String() string { return fmt.Sprintf("%.1f / %.1f / %.1f", c.own, c.src, c.dst) }

func (c cpuUse) since(before cpuUse) cpuUse {
	return cpuUse{own: c.own - before.own, src: c.src - before.src, dst: c.dst - before.dst}
}

// cpuNow reads the CPU time used so far.
func cpuNow() cpuUse {
	var c cpuUse
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			c.own += seconds1(ru.Utime) + seconds1(ru.Stime)
		}
	}
	for i, s := range cpuServers {
		v := processCPU(s.Pid())
		if i == 0 {
			c.src += v
		} else {
			c.dst += v
		}
	}
	return c
}

func seconds1(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// processCPU is a process's user and system time from /proc, in seconds
// (clock ticks of 1/100 s, Linux's USER_HZ); 0 when it cannot be read.
func processCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return 0
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}
