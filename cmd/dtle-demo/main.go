// Command dtle-demo brings up a dev Nomad agent with the dtle plugin, a
// source and a destination MariaDB, and a dtle migration job, then waits
// until interrupted and tears everything down. `make demo` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/devagent"
	"github.com/dtle-io/dtle/internal/sandbox"
)

const (
	jobID        = "job1-migration"
	demoUser     = "dtle"
	demoPassword = "dtle-demo"
)

func main() {
	runFor := flag.Duration("for", 0, "stop after this long (default: run until interrupted)")
	keep := flag.Bool("keep", false, "keep the demo directory after stopping")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *runFor)
		defer cancel()
	}
	if err := run(ctx, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "dtle-demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, keep bool) error {
	dir, err := os.MkdirTemp("", "dtle-demo-")
	if err != nil {
		return err
	}
	if !keep {
		defer func() { _ = os.RemoveAll(dir) }()
	}
	say("demo directory: %s", dir)

	servers := map[string]*sandbox.Server{}
	for _, name := range []string{"source", "dest"} {
		s, err := sandbox.Start(ctx, dir, sandbox.Options{Name: name, User: demoUser, Password: demoPassword})
		if err != nil {
			return err
		}
		defer s.Stop()
		servers[name] = s
		say("MariaDB %-6s on 127.0.0.1:%d  (mariadb -h127.0.0.1 -P%d -u%s -p%s)", name, s.Port, s.Port, demoUser, demoPassword)
	}

	a, err := devagent.Start(ctx, devagent.Options{Dir: filepath.Join(dir, "nomad")})
	if err != nil {
		return err
	}
	defer a.Stop()
	say("Nomad dev agent on %s with the dtle plugin (log: %s)", a.Addr, a.LogPath)

	job, err := filepath.Abs("docs/examples/migration.nomad.hcl")
	if err != nil {
		return err
	}
	src, dst := servers["source"], servers["dest"]
	out, err := a.Nomad(ctx, "job", "run", "-detach",
		"-var", "job_id="+jobID,
		"-var", fmt.Sprintf("src_port=%d", src.Port), "-var", fmt.Sprintf("dest_port=%d", dst.Port),
		"-var", "mysql_user="+demoUser, "-var", "mysql_password="+demoPassword, job)
	if err != nil {
		return err
	}
	say("%s", strings.TrimSpace(out))

	if err := waitRunning(ctx, a.Client()); err != nil {
		return err
	}
	say("job %s is running. Watch it with:", jobID)
	say("  NOMAD_ADDR=%s %s job status %s", a.Addr, a.NomadBin, jobID)
	say("  NOMAD_ADDR=%s %s alloc status -job %s   (task events)", a.Addr, a.NomadBin, jobID)
	say("Press Ctrl-C to stop and clean up.")
	<-ctx.Done()
	say("stopping")
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, _ = a.Nomad(stopCtx, "job", "stop", jobID)
	return nil
}

// waitRunning waits until both tasks run and have passed their checks, and
// prints each task's events.
func waitRunning(ctx context.Context, client *nomad.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		allocs, _, err := client.Jobs().Allocations(jobID, false, (&nomad.QueryOptions{}).WithContext(ctx))
		if err == nil {
			ready := 0
			for _, al := range allocs {
				for name, st := range al.TaskStates {
					if st.Failed {
						return fmt.Errorf("task %s failed: %s", name, lastEvent(st))
					}
					if st.State == "running" && passed(st) {
						ready++
					}
				}
			}
			if ready == 2 {
				for _, al := range allocs {
					for name, st := range al.TaskStates {
						say("task %-4s alloc %s: %s", name, al.ID[:8], lastEvent(st))
					}
				}
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("job %s not running: %w", jobID, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func passed(st *nomad.TaskState) bool {
	for _, e := range st.Events {
		if strings.Contains(e.DisplayMessage, "checks passed") {
			return true
		}
	}
	return false
}

func lastEvent(st *nomad.TaskState) string {
	if len(st.Events) == 0 {
		return st.State
	}
	e := st.Events[len(st.Events)-1]
	return strings.TrimSpace(e.Type + ": " + e.DisplayMessage + " " + e.DriverError)
}

func say(format string, args ...any) {
	fmt.Printf("[dtle-demo] "+format+"\n", args...)
}
