package kafka

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/progress"
)

// BufferBytes bounds the events produced and not yet acknowledged by
// Kafka; producing waits at it.
const BufferBytes = 64 << 20

// txnTimeout is how long Kafka keeps a transaction of a sink that died
// open; a restarted sink aborts it at once.
const txnTimeout = 5 * time.Minute

// Config is what a sink needs.
type Config struct {
	JobID  string
	Task   *config.Task
	Logger hclog.Logger
	// Event reports a stage change ("job_stage_full", "job_stage_incr").
	Event func(msg string)
	// Opts are extra franz-go options (TLS, SASL).
	Opts []kgo.Opt
}

// Stats are live figures of a sink, those of every destination.
type Stats = progress.Dest

// Sink writes one job's stream to Kafka.
type Sink struct {
	cfg    Config
	log    hclog.Logger
	prefix string
	opts   options // the task's Debezium settings
	topics topics
	cl     *kgo.Client
	adm    *kadm.Client
	Stats  Stats

	mu       sync.Mutex         // Handle and the commit timer take turns
	st       *change.Checkpoint // committed with the open transaction; no Session
	executed change.GTIDSet
	copies   *change.CopySnapshots // nil once passed
	cat      *catalog
	codecs   map[change.TableName]*tableCodec
	copying  *tableCopy      // the table being copied, in the open transaction
	known    map[string]bool // topics that exist
	open     bool            // a Kafka transaction is open
	partial  bool            // inside a source transaction sent in parts
	openedAt time.Time
	bytes    int
	pending  struct{ txns, rows int64 }
	last     *change.Txn
	prodErr  atomic.Pointer[error]
}

// New connects to Kafka, fencing off any earlier instance of the job's sink.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	t := cfg.Task
	format, err := optionsOf(t)
	if err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, log: cfg.Logger, prefix: t.KafkaTopic, opts: format, topics: jobTopics(cfg.JobID), known: map[string]bool{}}
	opts := append(append([]kgo.Opt{}, cfg.Opts...), kgo.SeedBrokers(t.KafkaBrokerAddrs...),
		kgo.TransactionalID(transactionalID(cfg.JobID)), kgo.TransactionTimeout(txnTimeout),
		kgo.MaxBufferedBytes(BufferBytes), kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerLinger(5*time.Millisecond),
		kgo.RecordRetries(10), kgo.ProducerBatchCompression(kgo.Lz4Compression(), kgo.NoCompression()))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client for %s: %w", strings.Join(t.KafkaBrokerAddrs, ","), err)
	}
	s.cl, s.adm = cl, kadm.NewClient(cl)
	s.Stats.QueueCapacity = BufferBytes
	for _, name := range []string{s.topics.offsets, s.topics.schemas} {
		if err := ensureTopic(ctx, s.adm, name, 1, true); err != nil {
			cl.Close()
			return nil, err
		}
		s.known[name] = true
	}
	// Taking the producer id aborts a transaction an earlier instance left open.
	if _, _, err := cl.ProducerID(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka transactional producer: %w", err)
	}
	return s, nil
}

// Run waits until ctx ends, then aborts the open Kafka transaction; the
// sink has no other background work (Kafka's client has its own).
func (s *Sink) Run(ctx context.Context) error {
	<-ctx.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abort(context.WithoutCancel(ctx))
	return nil
}

// Tick commits the open Kafka transaction once message_group_timeout passed.
func (s *Sink) Tick(ctx context.Context) error { return s.commitDue(ctx) }

// TickInterval is half of message_group_timeout.
func (s *Sink) TickInterval() time.Duration { return max(s.timeout()/2, 10*time.Millisecond) }

// Figures returns the sink's live figures.
func (s *Sink) Figures() *progress.Dest { return &s.Stats }

// Close closes the Kafka client.
func (s *Sink) Close() error {
	s.cl.Close()
	return nil
}

func (s *Sink) timeout() time.Duration {
	return time.Duration(max(s.cfg.Task.MessageGroupTimeout, 1)) * time.Millisecond
}

func (s *Sink) event(msg string) {
	if s.cfg.Event != nil {
		s.cfg.Event(msg)
	}
}

// Checkpoint aborts what is not committed and reads the committed position
// back from Kafka; it is called for each new session.
func (s *Sink) Checkpoint(ctx context.Context) (*change.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abort(ctx)
	st, cat, err := readCheckpoint(ctx, s.adm, s.cfg.Task.KafkaBrokerAddrs, s.cfg.Opts, s.topics)
	if err != nil {
		return nil, err
	}
	migrate := false
	if st.Stage == "" && len(cat.tables) == 0 {
		old := legacyTopics(s.prefix, s.cfg.JobID)
		if migrate, err = hasRecords(ctx, s.adm, old.offsets); err != nil {
			return nil, err
		}
		if migrate {
			if st, cat, err = readCheckpoint(ctx, s.adm, s.cfg.Task.KafkaBrokerAddrs, s.cfg.Opts, old); err != nil {
				return nil, err
			}
			s.log.Info("moving the job's position and definitions out of the data topics' prefix",
				"from", old.offsets, "to", s.topics.offsets)
		}
	}
	s.st, s.cat, s.codecs, s.copying = st, cat, map[change.TableName]*tableCodec{}, nil
	s.executed, s.copies = nil, nil
	s.setStage(st.Stage)
	if st.Stage == change.StageIncr {
		if s.executed, err = change.ParseGTIDSet(st.Flavor, st.GTIDSet); err != nil {
			return nil, fmt.Errorf("%s: %w: %w", s.topics.offsets, ErrBadOffsets, err)
		}
		gs := st.GTIDSet
		s.Stats.GTIDSet.Store(&gs)
		if err := s.setCopies(); err != nil {
			return nil, err
		}
	}
	if migrate {
		if err := s.migrate(ctx); err != nil {
			return nil, err
		}
	}
	cp := *st
	cp.Tables = append([]change.TableProgress{}, st.Tables...)
	return &cp, nil
}

// migrate writes the position and the definitions read from the legacy
// topics into the job's topics, in one Kafka transaction. The legacy
// topics are left as they are; nothing reads them again.
func (s *Sink) migrate(ctx context.Context) error {
	if err := s.begin(); err != nil {
		return err
	}
	for id, d := range s.cat.tables {
		if err := s.setDef(ctx, id, d); err != nil {
			s.abort(ctx)
			return err
		}
	}
	return s.commit(ctx)
}

// setCopies keeps the snapshots tables were copied at while the applied
// set has not passed them all (see change.CopySnapshots).
func (s *Sink) setCopies() (err error) {
	if s.copies, err = change.NewCopySnapshots(s.st.Flavor, s.st.Tables, s.executed); s.copies == nil {
		s.st.Tables = nil // no longer needed in the position
	}
	return err
}

// passCopies drops the copy snapshots once the applied set holds them all.
func (s *Sink) passCopies() {
	if s.copies != nil && s.copies.PassedBy(s.executed) {
		s.copies, s.st.Tables = nil, nil
	}
}

func (s *Sink) setStage(st string) {
	s.Stats.Stage.Store(&st)
}

// Handle writes one message's events into the open Kafka transaction.
func (s *Sink) Handle(ctx context.Context, m *change.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.prodErr.Load(); p != nil {
		return *p
	}
	if m.Flavor != "" && s.st.Flavor == "" {
		s.st.Flavor = m.Flavor
	}
	switch m.Kind {
	case change.KindSchema:
		return nil // topics are per table; an empty schema has none
	case change.KindTable:
		return s.startTable(ctx, m)
	case change.KindChunk:
		return s.copyRows(ctx, m)
	case change.KindTableDone:
		return s.tableDone(ctx, m)
	case change.KindCopyDone:
		return s.copyDone(ctx, m)
	case change.KindTxns:
		return s.txns(ctx, m.Txns)
	}
	return fmt.Errorf("unknown message kind %d", m.Kind)
}
