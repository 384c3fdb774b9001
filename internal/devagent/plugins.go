package devagent

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// PluginPIDs lists the running dtle plugin processes the agent started:
// those in its process group, or with its TMPDIR for plugins an earlier run
// of the agent started (other agents, of tests running in parallel, run
// the same plugin binary).
func (a *Agent) PluginPIDs() []int {
	want := filepath.Join(a.pluginDir, "dtle")
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		argv0, _, _ := strings.Cut(string(cmdline), "\x00")
		if argv0 != want {
			continue
		}
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid == a.proc.Pid() || a.startedBy(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func (a *Agent) startedBy(pid int) bool {
	env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		return false
	}
	for _, kv := range strings.Split(string(env), "\x00") {
		if kv == "TMPDIR="+a.tmpDir {
			return true
		}
	}
	return false
}

// KillPlugins kills every dtle plugin process with SIGKILL and returns how
// many it killed.
func (a *Agent) KillPlugins() int {
	n := 0
	for _, pid := range a.PluginPIDs() {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}
