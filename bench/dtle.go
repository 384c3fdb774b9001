package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/go-hclog"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/dtle-io/dtle/applier"
	"github.com/dtle-io/dtle/extractor"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/transport"
)

// job runs a dtle job in this process: the applier and the extractor
// joined by an embedded NATS server, as two nodes' plugins would be.
type job struct {
	cancel context.CancelFunc
	done   chan error
	stage  chan string
	app    *applier.Applier
}

func startJob(ctx context.Context, src, dst *sandbox.Server, workers int, gtid string) (*job, error) {
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true,
		MaxPayload: 8 << 20, Authorization: "bench"})
	if err != nil {
		return nil, err
	}
	go srv.Start()
	if !srv.ReadyForConnections(5 * time.Second) {
		return nil, errors.New("nats not ready")
	}
	ctx, cancel := context.WithCancel(ctx)
	j := &job{cancel: cancel, done: make(chan error, 2), stage: make(chan string, 4)}
	id := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	srcTask := &config.Task{ConnectionConfig: src.RootConnection(), Gtid: gtid, GroupMaxSize: 16, ChunkSize: chunkSize,
		ReplicateDoDB: []*config.ReplicateDB{{TableSchema: "sbtest"}}}
	destTask := &config.Task{ConnectionConfig: dst.RootConnection(), ParallelWorkers: workers}
	srcTask.Defaults()
	destTask.Defaults()
	quiet := hclog.New(&hclog.LoggerOptions{Output: io.Discard})

	dnc, err := transport.Connect(srv.ClientURL(), "bench", "dest")
	if err != nil {
		cancel()
		return nil, err
	}
	j.app, err = applier.New(ctx, applier.Config{JobID: id, Task: destTask, NATS: dnc, Logger: quiet,
		Event: func(m string) { j.stage <- m }})
	if err != nil {
		cancel()
		return nil, err
	}
	go func() { j.done <- j.app.Run(ctx); dnc.Close() }()

	snc, err := transport.Connect(srv.ClientURL(), "bench", "src")
	if err != nil {
		cancel()
		return nil, err
	}
	e, err := extractor.New(ctx, extractor.Config{JobID: id, AllocID: id, Task: srcTask,
		Sender: transport.NewSender(snc, id), Logger: quiet})
	if err != nil {
		cancel()
		return nil, err
	}
	go func() {
		j.done <- e.RunResuming(ctx, transport.Retryable)
		_ = e.Close()
		snc.Close()
		srv.Shutdown()
	}()
	return j, nil
}

func (j *job) stop() {
	j.cancel()
	for range 2 {
		if err := <-j.done; err != nil {
			step("task ended: %v", err)
		}
	}
}

// waitStage waits for a stage event, failing early if a task ends.
func (j *job) waitStage(ctx context.Context, want string) error {
	for {
		select {
		case s := <-j.stage:
			if s == want {
				return nil
			}
		case err := <-j.done:
			return fmt.Errorf("task ended: %w", err)
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
	return time.Since(begin), nil
}

// dtleCatchUp times applying the binlog from start until end is applied.
func dtleCatchUp(ctx context.Context, src, dst *sandbox.Server, workers int, start, end string) (time.Duration, error) {
	db, err := mysqlconn.Open(ctx, dst.RootConnection())
	if err != nil {
		return 0, err
	}
	defer func() { _ = db.Close() }()
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS dtle"); err != nil {
		return 0, err
	}
	step("dtle catch-up, parallel_workers=%d", workers)
	begin := time.Now()
	j, err := startJob(ctx, src, dst, workers, start)
	if err != nil {
		return 0, err
	}
	defer j.stop()
	for {
		var set string
		err := db.QueryRowContext(ctx, "SELECT gtid_set FROM dtle.checkpoint").Scan(&set)
		if err == nil && set == end {
			return time.Since(begin), nil
		}
		select {
		case err := <-j.done:
			return 0, fmt.Errorf("task ended: %w", err)
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
