// Command dtle-demo brings up a dev Nomad agent with the dtle plugin and its
// HTTP API, a source and a destination MariaDB, and a dtle migration job
// created through the API, then shows the job's live figures from the API
// until interrupted and tears everything down. `make demo` runs it.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/devagent"
	"github.com/dtle-io/dtle/internal/mysqlconn"
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

	if err := seed(ctx, servers["source"]); err != nil {
		return err
	}

	apiAddr := "127.0.0.1:8190" // the default port, unless it is taken: then a free one
	if ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", apiAddr); err != nil {
		apiAddr = ""
	} else {
		_ = ln.Close()
	}
	a, err := devagent.Start(ctx, devagent.Options{Dir: filepath.Join(dir, "nomad"), APIAddr: apiAddr, API: true})
	if err != nil {
		return err
	}
	defer func() {
		a.Stop()
		_ = a.Remove()
	}()
	say("Nomad dev agent on %s with the dtle plugin (log: %s)", a.Addr, a.LogPath)

	api := &apiClient{base: a.APIURL}
	say("dtle API on %s  (swagger UI: %s/swagger/index.html)", api.base, api.base)
	src, dst := servers["source"], servers["dest"]
	if err := api.createJob(ctx, src.Port, dst.Port); err != nil {
		return err
	}
	allocs, err := waitRunning(ctx, a.Client())
	if err != nil {
		return err
	}
	say("job %s is running. Watch it through the API:", jobID)
	say("  curl -s %s/v2/jobs", api.base)
	say("  curl -s '%s/v2/job/migration/detail?job_id=%s'", api.base, jobID)
	say("  curl -s '%s/v2/monitor/task?allocation_id=%s&task_name=dest'", api.base, allocs["dest"])
	say("  curl -s %s/metrics", api.base)
	say("  curl -s -XPOST %s/v2/job/pause -d job_id=%s   (and /v2/job/resume)", api.base, jobID)
	say("A writer inserts a row into demo.orders on the source every second; below: both servers' row counts and the API's figures.")
	say("Press Ctrl-C to stop and clean up.")
	watch(ctx, src, dst, func() string { return api.figures(ctx, allocs["dest"]) })
	say("stopping")
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	api.deleteJob(stopCtx)
	return nil
}

// waitRunning waits until both tasks run and have passed their checks,
// prints each task's events and returns each task's allocation id.
func waitRunning(ctx context.Context, client *nomad.Client) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		allocs, _, err := client.Jobs().Allocations(jobID, false, (&nomad.QueryOptions{}).WithContext(ctx))
		if err == nil {
			ready := 0
			for _, al := range allocs {
				for name, st := range al.TaskStates {
					if st.Failed {
						return nil, fmt.Errorf("task %s failed: %s", name, lastEvent(st))
					}
					if st.State == "running" && passed(st) {
						ready++
					}
				}
			}
			if ready == 2 {
				ids := map[string]string{}
				for _, al := range allocs {
					for name, st := range al.TaskStates {
						say("task %-4s alloc %s: %s", name, al.ID[:8], lastEvent(st))
						ids[name] = al.ID
					}
				}
				return ids, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("job %s not running: %w", jobID, ctx.Err())
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

// seed creates the demo schema on the source, with rows for the full copy.
func seed(ctx context.Context, s *sandbox.Server) error {
	db, err := mysqlconn.Open(ctx, s.Connection())
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS demo",
		"CREATE TABLE demo.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(64) NOT NULL, " +
			"qty INT NOT NULL, created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))",
		"INSERT INTO demo.orders (item, qty) SELECT CONCAT('item ', seq), seq % 7 FROM demo.seq_1_to_1000",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("seed the source: %w", err)
		}
	}
	return nil
}

// watch writes a row a second to the source and prints both row counts
// until ctx ends.
func watch(ctx context.Context, src, dst *sandbox.Server, figures func() string) {
	sdb, err := mysqlconn.Open(ctx, src.Connection())
	if err != nil {
		say("writer: %v", err)
		<-ctx.Done()
		return
	}
	defer func() { _ = sdb.Close() }()
	ddb, err := mysqlconn.Open(ctx, dst.Connection())
	if err != nil {
		say("reader: %v", err)
		<-ctx.Done()
		return
	}
	defer func() { _ = ddb.Close() }()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := sdb.ExecContext(ctx, "INSERT INTO demo.orders (item, qty) VALUES (?, ?)", fmt.Sprintf("live %d", i), i%5); err != nil {
			say("writer: %v", err)
			continue
		}
		if i%5 == 0 {
			say("demo.orders rows: source %d, destination %d | %s", count(ctx, sdb), count(ctx, ddb), figures())
		}
	}
}

func count(ctx context.Context, db *sql.DB) int {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM demo.orders").Scan(&n); err != nil {
		return -1
	}
	return n
}
