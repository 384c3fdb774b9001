package pipeline

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/extractor"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/retry"
	"github.com/dtle-io/dtle/internal/throttle"
	"github.com/dtle-io/dtle/internal/transport"
)

// The source's one resume policy: the wait before resuming doubles from
// resumeFirst up to resumeMax; maxSourceFailures failures in a row that are
// not the transport's (a destination that is away does not count) end the
// task; a stream that ran healthyAfter starts the count and the wait afresh.
const (
	resumeFirst       = 500 * time.Millisecond
	resumeMax         = 30 * time.Second
	maxSourceFailures = 10
	healthyAfter      = 5 * time.Minute
)

// Source is the source side of a job.
type Source struct {
	// Namespace and JobID name the Nomad job (see Key).
	Namespace, JobID, AllocID string
	Task                      *config.Task
	Logger                    hclog.Logger
	// Locate returns the NATS URL of the job's destination; it is asked
	// before every attempt, as the destination may have moved. An error
	// wrapping transport.ErrNoDestination is waited out.
	Locate func(ctx context.Context) (string, error)
	// Secret is the cluster's secret the job's key derives from (see
	// SinkConfig.Secret); the destination must have the same.
	Secret []byte
	// Token authenticates to the destination's NATS server; TLS, when set,
	// secures the connection (nats_tls_*).
	Token string
	TLS   *tls.Config
	// RequestTimeout bounds each message; zero is the transport's default.
	RequestTimeout time.Duration
	// Direct, when set, is where the job's destination is looked for in
	// this process before NATS (transport.Direct).
	Direct *transport.Direct
	// Wrap, when set, wraps the sender (a test counts or injects faults).
	Wrap func(extractor.Sender) extractor.Sender
	// Limiter, when set, paces the full copy's chunks and the binlog's
	// transactions (the job's speed limit); it applies before Wrap.
	Limiter *throttle.Limiter
	// Live, when set, is handed each attempt's figures and connection, and
	// nil when it ends.
	Live func(*Live)
	// OnRetry, when set, hears each failure that is resumed from.
	OnRetry func(error)
}

// Run streams the source to the destination until ctx ends (nil) or a
// fatal error or too many failures in a row end it (the error).
func (s Source) Run(ctx context.Context) error {
	return s.resume(ctx, s.once, retry.New(resumeFirst, resumeMax))
}

// resume runs attempt until ctx ends or the policy gives up.
func (s Source) resume(ctx context.Context, attempt func(context.Context) error, backoff *retry.Backoff) error {
	failures := 0
	for {
		started := time.Now()
		err := attempt(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil || Fatal(err) {
			return err
		}
		if time.Since(started) > healthyAfter {
			failures = 0 // it had been working
			backoff.Reset()
		}
		if s.OnRetry != nil {
			s.OnRetry(err)
		}
		if !transport.Retryable(err) {
			if failures++; failures >= maxSourceFailures {
				return fmt.Errorf("%d failures in a row, the last: %w", failures, err)
			}
		}
		wait := backoff.Next()
		s.Logger.Warn("streaming stopped; resuming from the destination checkpoint", "reason", err, "retry_in", wait)
		if retry.Sleep(ctx, wait) != nil {
			return nil
		}
	}
}

// once runs one attempt: connect to the destination, resume from its
// checkpoint, and stream until something stops it.
func (s Source) once(ctx context.Context) error {
	url, err := s.Locate(ctx)
	if err != nil {
		return err
	}
	nc, err := transport.Connect(url, s.Token, "dtle-src-"+s.AllocID, s.TLS)
	if err != nil {
		return fmt.Errorf("%w: %w", transport.ErrNoDestination, err)
	}
	defer nc.Close()
	seal, err := sealer(s.Secret, Key(s.Namespace, s.JobID))
	if err != nil {
		return err
	}
	ts := transport.NewSender(nc, Key(s.Namespace, s.JobID), seal)
	ts.RequestTimeout = s.RequestTimeout
	ts.Direct, ts.Traffic = s.Direct, &transport.Traffic{}
	var sender extractor.Sender = ts
	if s.Limiter != nil {
		sender = throttle.Sender{Next: sender, Limiter: s.Limiter}
	}
	if s.Wrap != nil {
		sender = s.Wrap(sender)
	}
	e, err := extractor.New(ctx, extractor.Config{JobID: Key(s.Namespace, s.JobID), AllocID: s.AllocID, Task: s.Task,
		Sender: sender, Logger: s.Logger.Named("extractor")})
	if err != nil {
		return err
	}
	defer func() { _ = e.Close() }()
	if s.Live != nil {
		s.Live(&Live{Source: &e.Stats, NATS: nc, Direct: ts.Traffic})
		defer s.Live(nil)
	}
	s.Logger.Info("streaming to the destination", "nats", url)
	return e.Run(ctx)
}

// At is a Locate for a destination at a known URL.
func At(url string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return url, nil }
}
