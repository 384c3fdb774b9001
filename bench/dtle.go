package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/pipeline"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/transport"
)

// jobSecret seals the job's stream, as the cluster's secret does under
// Nomad, so that the figures include it.
var jobSecret = []byte("bench-secret-of-thirty-two-bytes")

// job is a dtle job running in this process (internal/pipeline, as the driver runs it), with the
// destination's stage events.
type job struct {
	id        string
	nats      interface{ Shutdown() }
	src, dest *pipeline.Running
	stage     chan string
	// srcTask and destTask are the tasks' configurations (verify reads them).
	srcTask, destTask *config.Task
}

func startJob(ctx context.Context, src, dst *sandbox.Server, workers int, gtid string) (*job, error) {
	return startJobWith(ctx, src, gtid, &config.Task{ConnectionConfig: dst.RootConnection(), ParallelWorkers: workers})
}

// startJobWith runs a job from src's sbtest schema to destTask.
func startJobWith(ctx context.Context, src *sandbox.Server, gtid string, destTask *config.Task) (*job, error) {
	const token = "bench"
	srv, err := pipeline.StartLocalServer(token)
	if err != nil {
		return nil, err
	}
	id := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	srcTask := &config.Task{ConnectionConfig: src.RootConnection(), Gtid: gtid, GroupMaxSize: 16, ChunkSize: chunkSize,
		ReplicateDoDB: []*config.ReplicateDB{{TableSchema: "sbtest"}}}
	srcTask.Defaults()
	destTask.Defaults()
	quiet := hclog.New(&hclog.LoggerOptions{Output: io.Discard})
	if verbose {
		quiet = hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Debug, TimeFormat: "15:04:05.000"})
	}
	j := &job{id: id, nats: srv, stage: make(chan string, 16), srcTask: srcTask, destTask: destTask}
	// Both tasks run in this process, as on one Nomad node, where they
	// meet directly; -via-nats measures them as on two nodes.
	direct := transport.NewDirect()
	if viaNATS {
		direct = nil
	}
	j.dest = pipeline.Go(ctx, pipeline.Dest{URL: srv.ClientURL(), Token: token, Name: "dest", Direct: direct,
		SinkConfig: pipeline.SinkConfig{Secret: jobSecret, JobID: id, Task: destTask, Logger: quiet,
			Event: func(m string) {
				select {
				case j.stage <- m:
				default:
				}
			}}}.Run)
	j.src = pipeline.Go(ctx, pipeline.Source{Secret: jobSecret, Locate: pipeline.At(srv.ClientURL()), Token: token, JobID: id,
		AllocID: "local-" + id, Task: srcTask, Logger: quiet, Direct: direct}.Run)
	return j, nil
}

func (j *job) stop() {
	for _, t := range []*pipeline.Running{j.src, j.dest} {
		if t == nil {
			continue
		}
		if err := t.Stop(time.Minute); err != nil {
			step("task ended: %v", err)
		}
	}
	j.nats.Shutdown()
}

// ended reports a task that has ended, nil while both run.
func (j *job) ended() error {
	select {
	case <-j.src.Done():
		return fmt.Errorf("source ended: %w", j.src.Err())
	case <-j.dest.Done():
		return fmt.Errorf("destination ended: %w", j.dest.Err())
	default:
		return nil
	}
}

// waitStage waits for a stage event, failing early if a task ends.
func (j *job) waitStage(ctx context.Context, want string) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case s := <-j.stage:
			if s == want {
				return nil
			}
		case <-tick.C:
			if err := j.ended(); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// dtleCopy times a full copy: from start to the binlog stage.
func dtleCopy(ctx context.Context, src, dst *sandbox.Server, threads int) (time.Duration, error) {
	if err := dropSbtest(ctx, dst); err != nil {
		return 0, err
	}
	step("dtle full copy, %d writers", threads)
	begin := time.Now()
	j, err := startJob(ctx, src, dst, threads, "")
	if err != nil {
		return 0, err
	}
	defer j.stop()
	if err := j.waitStage(ctx, "job_stage_incr"); err != nil {
		return 0, err
	}
	// Complete once the secondary indexes, built after the rows, are there.
	db, err := mysqlconn.Open(ctx, dst.RootConnection())
	if err != nil {
		return 0, err
	}
	defer func() { _ = db.Close() }()
	err = j.poll(ctx, func() (bool, error) {
		var pending int
		err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM dtle.deferred_indexes WHERE job_id = ?", j.id).Scan(&pending)
		return pending == 0, err
	})
	return time.Since(begin), err
}

// poll calls done every 20 ms until it reports true, fails, the job ends
// or ctx does.
func (j *job) poll(ctx context.Context, done func() (bool, error)) error {
	for {
		if ok, err := done(); ok || err != nil {
			return err
		}
		if err := j.ended(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// withoutJobState connects to dst and drops dtle's schema there (the
// checkpoints of earlier runs), so that a new job starts from its own
// position.
func withoutJobState(ctx context.Context, dst *sandbox.Server) (*sql.DB, error) {
	db, err := mysqlconn.Open(ctx, dst.RootConnection())
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS dtle"); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// dtleCatchUp times applying the binlog from start until end is applied.
func dtleCatchUp(ctx context.Context, src, dst *sandbox.Server, workers int, start, end string) (time.Duration, error) {
	db, err := withoutJobState(ctx, dst)
	if err != nil {
		return 0, err
	}
	defer func() { _ = db.Close() }()
	step("dtle catch-up, parallel_workers=%d", workers)
	begin := time.Now()
	j, err := startJob(ctx, src, dst, workers, start)
	if err != nil {
		return 0, err
	}
	defer j.stop()
	var first time.Duration // until the first transaction is applied: the start-up
	err = j.poll(ctx, func() (bool, error) {
		var set string
		if db.QueryRowContext(ctx, "SELECT gtid_set FROM dtle.checkpoint").Scan(&set) != nil {
			return false, nil // not written yet
		}
		if set != start && first == 0 {
			first = time.Since(begin)
		}
		return set == end, nil
	})
	if err != nil {
		return 0, err
	}
	step("dtle catch-up: first transaction applied after %.2fs", first.Seconds())
	return time.Since(begin), nil
}
