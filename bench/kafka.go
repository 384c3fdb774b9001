package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/sandbox"
)

// kfakeFlag makes the bench binary serve a kfake cluster instead: the
// broker's memory then stays out of the figures of the process running dtle.
const kfakeFlag = "-serve-kfake"

// serveKfake runs a kfake cluster, prints its address and stops when stdin closes.
func serveKfake() {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(4))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
	fmt.Println(strings.Join(c.ListenAddrs(), ","))
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	c.Close()
}

// startKfake starts a kfake cluster in a child process.
func startKfake(ctx context.Context) ([]string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.CommandContext(ctx, self, kfakeFlag)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, nil, fmt.Errorf("kfake did not start: %w", err)
	}
	return strings.Split(strings.TrimSpace(line), ","), func() { _ = stdin.Close(); _ = cmd.Wait() }, nil
}

// kafkaCopy times the full copy of the sysbench table into Kafka as
// Debezium snapshot events, then checks that a read_committed consumer
// gets one event per row.
func kafkaCopy(ctx context.Context, src *sandbox.Server, rows int) (time.Duration, error) {
	brokers, stop, err := startKfake(ctx)
	if err != nil {
		return 0, err
	}
	defer stop()
	step("dtle full copy into Kafka (kfake)")
	begin := time.Now()
	j, err := startJobWith(ctx, src, "", &config.Task{KafkaBrokerAddrs: brokers, KafkaTopic: "bench"})
	if err != nil {
		return 0, err
	}
	defer j.stop()
	if err := j.waitStage(ctx, "job_stage_incr"); err != nil {
		return 0, err
	}
	d := time.Since(begin)
	n, err := countRecords(ctx, brokers, "bench.sbtest.sbtest1")
	if err != nil {
		return 0, err
	}
	if n != rows {
		return 0, fmt.Errorf("kafka holds %d events of sbtest1, want %d", n, rows)
	}
	return d, nil
}

// countRecords counts the committed records of a topic.
func countRecords(ctx context.Context, brokers []string, topic string) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	n, idle := 0, 0
	for idle < 2 {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		got := fs.NumRecords()
		if got == 0 {
			idle++
		}
		n += got
	}
	return n, nil
}
