package driver

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// errNoAgent: the plugin's parent process is not a Nomad agent (it was
// reattached after its agent died, or runs outside Nomad).
var errNoAgent = errors.New("the plugin's parent process is not a Nomad agent")

// ReloadAgent sends SIGHUP to the Nomad agent that started the plugin, which
// reloads its configuration, its log_level included: the agent passes on
// only the plugin lines its own level lets through, so a level raised with
// POST /v2/log/level shows only once the agent's is raised too (the 3.x
// procedure: edit both levels in the agent's file, then call the route).
func (d *Driver) ReloadAgent() error {
	ppid := os.Getppid()
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid))
	if err != nil || strings.TrimSpace(string(comm)) != "nomad" {
		return errNoAgent
	}
	if err := syscall.Kill(ppid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("signal the Nomad agent (pid %d): %w", ppid, err)
	}
	d.logger.Info("asked the Nomad agent to reload its configuration", "pid", ppid)
	return nil
}
