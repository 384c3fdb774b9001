package sandbox

import (
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Child is a long-lived process started for tests or the demo. It runs in
// its own process group and is killed if the starting process dies.
type Child struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// spawns carries start requests to the spawner goroutine.
var spawns = make(chan spawn)

type spawn struct {
	cmd  *exec.Cmd
	done chan error
}

// spawner starts every Child from one OS thread that lives as long as the
// process: Linux sends Pdeathsig when the thread that forked the child
// exits, not the process, and Go may end the thread any goroutine ran on.
func spawner() {
	runtime.LockOSThread() // never unlocked: this thread stays for good
	for s := range spawns {
		s.done <- s.cmd.Start()
	}
}

var startSpawner sync.Once

// StartChild starts cmd as a Child.
func StartChild(cmd *exec.Cmd) (*Child, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	startSpawner.Do(func() { go spawner() })
	s := spawn{cmd: cmd, done: make(chan error, 1)}
	spawns <- s
	if err := <-s.done; err != nil {
		return nil, err
	}
	c := &Child{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// Pid is the process id; the process also leads its own process group.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

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
