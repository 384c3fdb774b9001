package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/progress"
	"github.com/dtle-io/dtle/internal/transport"
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
	NATS   *nats.Conn
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
	topics topics
	cl     *kgo.Client
	adm    *kadm.Client
	Stats  Stats

	mu       sync.Mutex // Handle and the commit timer take turns
	st       *state
	executed change.GTIDSet
	copies   *change.CopySnapshots // nil once passed
	cat      *catalog
	codecs   map[string]*tableCodec
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
	s := &Sink{cfg: cfg, log: cfg.Logger, prefix: t.KafkaTopic, topics: jobTopics(t.KafkaTopic, cfg.JobID), known: map[string]bool{}}
	opts := append(append([]kgo.Opt{}, cfg.Opts...), kgo.SeedBrokers(t.KafkaBrokerAddrs...),
		kgo.TransactionalID("dtle-"+cfg.JobID), kgo.TransactionTimeout(txnTimeout),
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

// Run serves the job's stream until ctx ends or a write fails.
func (s *Sink) Run(ctx context.Context) error {
	defer s.cl.Close()
	cp, err := s.Checkpoint(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while reading the position
		}
		return err
	}
	if cp.Stage == change.StageIncr {
		s.event("job_stage_incr")
	}
	recv, err := transport.Listen(ctx, s.cfg.NATS, s.cfg.JobID, s)
	if err != nil {
		return err
	}
	defer recv.Close()
	s.log.Info("kafka sink listening", "stage", cp.Stage, "gtid_set", cp.GTIDSet, "topic_prefix", s.prefix)
	tick := time.NewTicker(max(s.timeout()/2, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.abort(context.WithoutCancel(ctx))
			s.mu.Unlock()
			return nil
		case err := <-recv.Errors():
			return err
		case <-tick.C:
			if err := s.commitDue(ctx); err != nil {
				return err
			}
		}
	}
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
	st, cat, err := loadState(ctx, s.adm, s.cfg.Task.KafkaBrokerAddrs, s.cfg.Opts, s.topics)
	if err != nil {
		return nil, err
	}
	s.st, s.cat, s.codecs = st, cat, map[string]*tableCodec{}
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
	return &change.Checkpoint{Flavor: st.Flavor, Stage: st.Stage, GTIDSet: st.GTIDSet, Tables: append([]change.TableProgress{}, st.Tables...)}, nil
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
	case change.KindTable:
		return s.startTable(ctx, m)
	case change.KindChunk:
		return s.copyRows(ctx, m)
	case change.KindTableDone:
		s.st.Tables = append(s.st.Tables, change.TableProgress{Schema: m.Table.Schema, Table: m.Table.Name, Done: true, Pos: m.Pos})
		return s.commit(ctx)
	case change.KindCopyDone:
		return s.copyDone(ctx, m)
	case change.KindTxns:
		return s.txns(ctx, m.Txns)
	}
	return fmt.Errorf("unknown message kind %d", m.Kind)
}

func (s *Sink) begin() error {
	if s.open {
		return nil
	}
	if err := s.cl.BeginTransaction(); err != nil {
		return fmt.Errorf("begin kafka transaction: %w", err)
	}
	s.open, s.openedAt, s.bytes = true, time.Now(), 0
	s.pending.txns, s.pending.rows = 0, 0
	return nil
}

// produce queues one record of the open transaction.
func (s *Sink) produce(ctx context.Context, topic string, key, value []byte) {
	s.bytes += len(key) + len(value)
	s.cl.Produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: value}, func(_ *kgo.Record, err error) {
		if err != nil {
			err = fmt.Errorf("produce to %s: %w", topic, err)
			s.prodErr.CompareAndSwap(nil, &err)
		}
	})
}

// commit writes the position and commits the open transaction.
func (s *Sink) commit(ctx context.Context) error {
	if !s.open {
		if err := s.begin(); err != nil {
			return err
		}
	}
	if s.executed != nil {
		s.st.GTIDSet = s.executed.String()
	}
	pos, err := json.Marshal(s.st)
	if err != nil {
		return err
	}
	s.produce(ctx, s.topics.offsets, []byte(s.cfg.JobID), pos)
	if err := s.cl.Flush(ctx); err != nil {
		return fmt.Errorf("flush kafka records: %w", err)
	}
	if p := s.prodErr.Load(); p != nil {
		s.abort(ctx)
		return *p
	}
	if err := s.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("commit kafka transaction: %w", err)
	}
	s.open = false
	s.Stats.TxnsApplied.Add(s.pending.txns)
	s.Stats.RowsApplied.Add(s.pending.rows)
	if s.last != nil {
		s.Stats.LastCommitTS.Store(int64(s.last.Timestamp))
		s.Stats.LogPos.Store(int64(s.last.LogPos))
		file := s.last.LogFile
		s.Stats.LogFile.Store(&file)
		gs := s.st.GTIDSet
		s.Stats.GTIDSet.Store(&gs)
	}
	return nil
}

// abort drops the open transaction; the next session resumes from what is
// committed.
func (s *Sink) abort(ctx context.Context) {
	if !s.open {
		return
	}
	s.open, s.partial = false, false
	_ = s.cl.AbortBufferedRecords(ctx)
	if err := s.cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		s.log.Warn("abort kafka transaction", "error", err)
	}
	s.prodErr.Store(nil)
}

// commitDue commits a transaction that is open longer than
// message_group_timeout, unless a source transaction is half sent.
func (s *Sink) commitDue(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open || s.partial || time.Since(s.openedAt) < s.timeout() || s.st.Stage != change.StageIncr {
		return nil
	}
	return s.commit(ctx)
}

func (s *Sink) ensureTopic(ctx context.Context, name string) error {
	if s.known[name] {
		return nil
	}
	if err := ensureTopic(ctx, s.adm, name, -1, false); err != nil {
		return err
	}
	s.known[name] = true
	return nil
}

// setDef records a table's definition in the schemas topic and forgets its
// codec; d nil drops it.
func (s *Sink) setDef(ctx context.Context, id string, d *tableDef) error {
	delete(s.codecs, id)
	if d == nil {
		delete(s.cat.tables, id)
		s.produce(ctx, s.topics.schemas, []byte(id), nil)
		return nil
	}
	s.cat.tables[id] = d
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	s.produce(ctx, s.topics.schemas, []byte(id), b)
	return s.ensureTopic(ctx, tableTopic(s.prefix, d.Schema, d.Name))
}

func (s *Sink) codec(schema, table string) (*tableCodec, error) {
	id := schema + "." + table
	if tc := s.codecs[id]; tc != nil {
		return tc, nil
	}
	d := s.cat.tables[id]
	if d == nil {
		return nil, fmt.Errorf("%w %s", ErrUnknownTable, id)
	}
	tc := newTableCodec(s.prefix, d)
	s.codecs[id] = tc
	return tc, nil
}

// startTable opens the table's copy transaction with its definition.
func (s *Sink) startTable(ctx context.Context, m *change.Message) error {
	if s.st.Stage == "" {
		s.st.Stage = change.StageFull
		s.setStage(change.StageFull)
		s.event("job_stage_full")
	}
	if err := s.begin(); err != nil {
		return err
	}
	d := fromCopy(m.Table)
	if err := s.setDef(ctx, d.id(), d); err != nil {
		return err
	}
	if err := s.ensureTopic(ctx, s.prefix); err != nil {
		return err
	}
	o := &origin{snapshot: "true", tsMS: time.Now().Truncate(time.Second).UnixMilli()}
	key, value := schemaChange(s.prefix, d.Schema, m.Table.CreateSQL, []tableChange{describe("CREATE", d.id(), d)}, o, time.Now())
	s.produce(ctx, s.prefix, key, value)
	return nil
}

func (s *Sink) copyRows(ctx context.Context, m *change.Message) error {
	tc, err := s.codec(m.Table.Schema, m.Table.Name)
	if err != nil {
		return err
	}
	now := time.Now()
	o := &origin{snapshot: "true", tsMS: now.Truncate(time.Second).UnixMilli()}
	rows, err := m.Rows.Unpack()
	if err != nil {
		return fmt.Errorf("rows of %s.%s: %w", m.Table.Schema, m.Table.Name, err)
	}
	for _, row := range rows {
		if err := s.event1(ctx, tc, 'r', nil, row, o, now); err != nil {
			return err
		}
	}
	s.Stats.RowsCopied.Add(int64(len(rows)))
	return nil
}

// copyDone starts the binlog at the earliest snapshot any table was copied at.
func (s *Sink) copyDone(ctx context.Context, m *change.Message) error {
	start, err := change.ParseGTIDSet(m.Flavor, m.Pos)
	if err != nil {
		return fmt.Errorf("copy done: %w", err)
	}
	for _, p := range s.st.Tables {
		set, err := change.ParseGTIDSet(m.Flavor, p.Pos)
		if err != nil {
			return fmt.Errorf("copy position of %s.%s: %w", p.Schema, p.Table, err)
		}
		if change.Before(set, start) {
			start = set
		}
	}
	s.st.Flavor, s.st.Stage, s.st.GTIDSet = m.Flavor, change.StageIncr, start.String()
	s.executed = start
	if err := s.setCopies(); err != nil {
		return err
	}
	if err := s.commit(ctx); err != nil {
		return err
	}
	s.setStage(change.StageIncr)
	s.log.Info("full copy done", "binlog_from", s.st.GTIDSet)
	s.event("job_stage_incr")
	return nil
}

// txns writes binlog transactions; the Kafka transaction commits once it
// holds message_group_max_size bytes, or by the timer.
func (s *Sink) txns(ctx context.Context, txns []change.Txn) error {
	if s.st.Stage != change.StageIncr {
		return fmt.Errorf("%w (stage %q)", ErrNotStarted, s.st.Stage)
	}
	for i := range txns {
		t := &txns[i]
		s.Stats.TxnsReceived.Add(1)
		s.Stats.RowsReceived.Add(int64(len(t.Changes)))
		if err := s.begin(); err != nil {
			return err
		}
		if err := s.txn(ctx, t); err != nil {
			return fmt.Errorf("transaction %s: %w", t.GTID, err)
		}
		s.partial = t.More
		if t.More {
			continue
		}
		if err := s.executed.Add(t.GTID); err != nil {
			return err
		}
		s.pending.txns++
		s.last = t
		s.passCopies()
	}
	if !s.partial && s.bytes >= max(s.cfg.Task.MessageGroupMaxSize, 1) {
		return s.commit(ctx)
	}
	return nil
}

func (s *Sink) txn(ctx context.Context, t *change.Txn) error {
	now := time.Now()
	o := &origin{snapshot: "false", tsMS: int64(t.Timestamp) * 1000, gtid: t.GTID, file: t.LogFile, pos: int64(t.LogPos),
		serverID: serverOf(t.GTID)}
	if t.DDL != nil {
		// A table's definition came from its copy: a DDL inside the
		// copy's snapshot is already in it.
		if in, err := s.copies.HoldsAll(t.DDL.Tables, t.GTID); err != nil || in {
			return err
		}
		return s.ddl(ctx, t.DDL, o, now)
	}
	for i := range t.Changes {
		c := &t.Changes[i]
		in, err := s.copies.Holds(c.Schema+"."+c.Table, t.GTID)
		if err != nil {
			return err
		}
		if in {
			continue // the copy holds it
		}
		tc, err := s.codec(c.Schema, c.Table)
		if err != nil {
			return err
		}
		o.row = i
		if err := s.change(ctx, tc, c, o, now); err != nil {
			return err
		}
		s.pending.rows++
	}
	return nil
}

// change writes one row change: an update that moves the key is a delete
// and a create, as Debezium sends it.
func (s *Sink) change(ctx context.Context, tc *tableCodec, c *change.RowChange, o *origin, now time.Time) error {
	n := len(tc.fields)
	for _, r := range []change.Row{c.Before, c.After} {
		if r != nil && len(r) != n {
			return &RowError{Table: tc.def.id(), Have: len(r), Expected: n}
		}
	}
	switch c.Op {
	case change.OpInsert:
		return s.event1(ctx, tc, 'c', nil, c.After, o, now)
	case change.OpDelete:
		return s.event1(ctx, tc, 'd', c.Before, nil, o, now)
	}
	oldKey, err := tc.appendKey(nil, c.Before)
	if err != nil {
		return err
	}
	newKey, err := tc.appendKey(nil, c.After)
	if err != nil {
		return err
	}
	if string(oldKey) == string(newKey) {
		return s.event1(ctx, tc, 'u', c.Before, c.After, o, now)
	}
	if err := s.event1(ctx, tc, 'd', c.Before, nil, o, now); err != nil {
		return err
	}
	return s.event1(ctx, tc, 'c', nil, c.After, o, now)
}

// event1 produces one change event, and the tombstone after a delete.
func (s *Sink) event1(ctx context.Context, tc *tableCodec, op byte, before, after change.Row, o *origin, now time.Time) error {
	keyRow := after
	if op == 'd' {
		keyRow = before
	}
	key, err := tc.appendKey(make([]byte, 0, len(tc.keyHead)+64), keyRow)
	if err != nil {
		return err
	}
	value, err := tc.appendValueRecord(make([]byte, 0, len(tc.valueHead)+tc.payloadHint(before, after)), s.prefix, op, before, after, o, now)
	if err != nil {
		return err
	}
	s.produce(ctx, tc.topic, key, value)
	if op == 'd' && key != nil {
		s.produce(ctx, tc.topic, key, nil)
	}
	return nil
}

// ddl applies a statement to the tracked definitions and sends it to the
// schema-change topic.
func (s *Sink) ddl(ctx context.Context, d *change.DDL, o *origin, now time.Time) error {
	before := map[string]bool{}
	for id := range s.cat.tables {
		before[id] = true
	}
	ids, err := s.cat.apply(d.Schema, d.SQL)
	if err != nil {
		s.log.Warn("DDL not understood; table definitions unchanged", "schema", d.Schema, "error", err)
	}
	var changes []tableChange
	for _, id := range ids {
		def := s.cat.tables[id]
		kind := "ALTER"
		switch {
		case def == nil:
			kind = "DROP"
		case !before[id]:
			kind = "CREATE"
		}
		if err := s.setDef(ctx, id, def); err != nil {
			return err
		}
		changes = append(changes, describe(kind, id, def))
	}
	if err := s.ensureTopic(ctx, s.prefix); err != nil {
		return err
	}
	db := d.Schema
	if len(ids) > 0 {
		db, _, _ = strings.Cut(ids[len(ids)-1], ".")
	}
	key, value := schemaChange(s.prefix, db, d.SQL, changes, o, now)
	s.produce(ctx, s.prefix, key, value)
	return nil
}

// serverOf is the server id of a MariaDB GTID (domain-server-sequence); 0
// for MySQL's, which do not carry it.
func serverOf(gtid string) int64 {
	parts := strings.Split(gtid, "-")
	if len(parts) != 3 {
		return 0
	}
	n, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

var _ transport.Handler = (*Sink)(nil)
