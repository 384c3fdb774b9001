package sandbox

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Child is a long-lived process started for tests or the demo. It runs in
// its own process group and is killed if the starting process dies.
type Child struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartChild starts cmd as a Child.
func StartChild(cmd *exec.Cmd) (*Child, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &Child{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// Exited closes when the process has exited.
func (c *Child) Exited() <-chan struct{} { return c.exited }

// Stop sends sig, waits up to grace for the process to exit, then kills its
// whole process group (children it started included) and waits.
func (c *Child) Stop(sig os.Signal, grace time.Duration) {
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.exited:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.exited
}
