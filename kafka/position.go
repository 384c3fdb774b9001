package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/position"
)

// Position control of a subscription job, from outside its tasks (the API,
// while the job is paused and its tasks stopped). The job's position is the
// last committed position record of its offsets topic, which the sink reads
// back when it starts (readCheckpoint) and hands to the source, which reads
// the binlog after its GTID set. Moving the position or skipping a
// transaction appends a new position record, in a Kafka transaction of the
// sink's own transactional id: taking that id fences off any instance of
// the sink still alive and aborts a transaction one left open, and
// read_committed readers see the new record only once it is whole.

// recordKindHeader marks the records of the offsets topic that are not a
// position, with their kind as its value; the sink's position records have
// no such header, and readers of the position pass the others over.
const recordKindHeader = "dtle.record"

// kindSkipped is the kind of the record of a skipped transaction.
const kindSkipped = "skipped"

// recordKind is the kind of a record of the offsets topic; "" for a
// position.
func recordKind(r *kgo.Record) string {
	for _, h := range r.Headers {
		if h.Key == recordKindHeader {
			return string(h.Value)
		}
	}
	return ""
}

// transactionalID is the Kafka transactional id of a job's sink, which
// position control takes over to fence the sink off.
func transactionalID(job string) string { return "dtle-" + job }

// Skipped is a source transaction that position control skipped, as its
// record in the job's offsets topic holds it. The record is written in the
// transaction of the position that skips it, under a key of its own
// ("skipped/<gtid>"), so that compaction, which keeps the last record of
// each key, keeps it when the sink writes later positions.
type Skipped struct {
	GTID string `json:"gtid"`
	// At is when it was skipped, UTC.
	At time.Time `json:"skipped_at"`
	// From and To are the position's GTID sets before and after the skip.
	From string `json:"from_gtid_set"`
	To   string `json:"gtid_set"`
}

// Position is a subscription job's position in its Kafka cluster, open
// for position control. Read and Skips change nothing; Move and Skip fence
// off the job's sink, so call them only while its tasks are stopped.
type Position struct {
	job            string
	seeds          []string
	opts           []kgo.Opt
	topics, legacy topics
	cl             *kgo.Client
	adm            *kadm.Client
}

// OpenPosition connects to the Kafka cluster of a subscription job's
// destination task (its kafka_broker_addrs). job is the job's key, as its
// sink has it (Config.JobID); opts are extra franz-go options (TLS, SASL),
// as the sink's Config.Opts. Close the Position after use.
func OpenPosition(job string, task *config.Task, opts ...kgo.Opt) (*Position, error) {
	if !task.IsKafka() {
		return nil, errors.New("the destination task has no kafka_broker_addrs: it does not write to Kafka")
	}
	p := &Position{job: job, seeds: task.KafkaBrokerAddrs, opts: append([]kgo.Opt{}, opts...),
		topics: jobTopics(job), legacy: legacyTopics(task.KafkaTopic, job)}
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, p.opts...), kgo.SeedBrokers(p.seeds...))...)
	if err != nil {
		return nil, fmt.Errorf("kafka client for %s: %w", strings.Join(p.seeds, ","), err)
	}
	p.cl, p.adm = cl, kadm.NewClient(cl)
	return p, nil
}

// Close closes the Kafka client.
func (p *Position) Close() { p.cl.Close() }

// Read reads the job's position: the last committed position record of its
// offsets topic. A job without one is position.ErrNoCheckpoint, one still
// in its full copy position.ErrNotReplicating.
func (p *Position) Read(ctx context.Context) (*change.Checkpoint, error) {
	end, ok, err := p.committedEnd(ctx)
	if err != nil {
		return nil, err
	}
	var found []byte
	if ok {
		if found, err = lastPosition(ctx, p.seeds, p.opts, p.topics.offsets, end); err != nil {
			return nil, err
		}
	}
	cp := &change.Checkpoint{}
	if found != nil {
		if err := json.Unmarshal(found, cp); err != nil {
			return nil, fmt.Errorf("%s: %w: %w", p.topics.offsets, ErrBadOffsets, err)
		}
	}
	switch cp.Stage {
	case "":
		return nil, p.noPosition(ctx)
	case change.StageIncr:
		return cp, nil
	}
	return nil, fmt.Errorf("job %q: %w (stage %q): let its full copy finish first", p.job, position.ErrNotReplicating, cp.Stage)
}

// committedEnd is the last stable offset of the offsets topic; ok is false
// when the topic does not exist.
func (p *Position) committedEnd(ctx context.Context) (end int64, ok bool, err error) {
	ends, err := p.adm.ListCommittedOffsets(ctx, p.topics.offsets)
	if err != nil {
		return 0, false, fmt.Errorf("end of %s: %w", p.topics.offsets, err)
	}
	o, ok := ends.Lookup(p.topics.offsets, 0)
	switch {
	case !ok, errors.Is(o.Err, kerr.UnknownTopicOrPartition):
		return 0, false, nil
	case o.Err != nil:
		return 0, false, fmt.Errorf("end of %s: %w", p.topics.offsets, o.Err)
	}
	return o.Offset, true, nil
}

// noPosition is why the job has no position: it never ran, or it ran under
// an earlier version that kept the position under the data topics' prefix
// and has not run since (its sink moves it on its first start).
func (p *Position) noPosition(ctx context.Context) error {
	if p.legacy.offsets != p.topics.offsets {
		if old, err := hasRecords(ctx, p.adm, p.legacy.offsets); err == nil && old {
			return fmt.Errorf("job %q: %w in %s: its position is still in %s, where earlier versions of dtle kept it; "+
				"resume the job once, so that its sink moves it, pause it again and retry",
				p.job, position.ErrNoCheckpoint, p.topics.offsets, p.legacy.offsets)
		}
	}
	return fmt.Errorf("job %q: %w (its offsets topic %s holds no position)", p.job, position.ErrNoCheckpoint, p.topics.offsets)
}

// Move replaces the GTID set of the job's position with to, keeping the
// rest (the copied tables' snapshots still skip the events their rows
// hold): once resumed, the job reads the binlog after to, skipping what
// lies between (moved forward) or emitting it again (moved back). to is
// not checked against the source; the caller does that
// (position.CheckReachable).
func (p *Position) Move(ctx context.Context, to string) (position.Moved, error) {
	var moved position.Moved
	err := p.write(ctx, func(cp *change.Checkpoint) ([]*kgo.Record, error) {
		set, err := position.NormalizeSet(cp.Flavor, to)
		if err != nil {
			return nil, err
		}
		moved = position.Moved{Flavor: cp.Flavor, From: cp.GTIDSet, To: set}
		cp.GTIDSet = set
		return nil, nil
	})
	return moved, err
}

// Skip adds the one transaction gtid to the job's position (SkipSet) and
// records the skip in its offsets topic, in the same Kafka transaction:
// once resumed, the job never emits that transaction, and emits the one
// after it.
func (p *Position) Skip(ctx context.Context, gtid string) (Skipped, error) {
	var sk Skipped
	err := p.write(ctx, func(cp *change.Checkpoint) ([]*kgo.Record, error) {
		g, err := position.NormalizeGTID(cp.Flavor, gtid)
		if err != nil {
			return nil, err
		}
		to, err := SkipSet(cp.Flavor, cp.GTIDSet, g)
		if err != nil {
			return nil, err
		}
		sk = Skipped{GTID: g, At: time.Now().UTC(), From: cp.GTIDSet, To: to}
		b, err := json.Marshal(sk)
		if err != nil {
			return nil, err
		}
		cp.GTIDSet = to
		return []*kgo.Record{{Topic: p.topics.offsets, Key: []byte("skipped/" + g), Value: b,
			Headers: []kgo.RecordHeader{{Key: recordKindHeader, Value: []byte(kindSkipped)}}}}, nil
	})
	return sk, err
}

// write fences off the job's sink, reads its position, lets change edit
// it, and commits the edited position after the records change returns, in
// one Kafka transaction.
func (p *Position) write(ctx context.Context, edit func(*change.Checkpoint) ([]*kgo.Record, error)) error {
	tx, err := kgo.NewClient(append(append([]kgo.Opt{}, p.opts...), kgo.SeedBrokers(p.seeds...),
		kgo.TransactionalID(transactionalID(p.job)), kgo.TransactionTimeout(txnTimeout))...)
	if err != nil {
		return fmt.Errorf("kafka client for %s: %w", strings.Join(p.seeds, ","), err)
	}
	defer tx.Close()
	// Taking the producer id first aborts a transaction a sink left open,
	// so that the position read below is the last one committed, and
	// makes a sink still alive fail its next commit instead of overwriting
	// the new position.
	if _, _, err := tx.ProducerID(ctx); err != nil {
		return fmt.Errorf("kafka transactional producer %s: %w", transactionalID(p.job), err)
	}
	cp, err := p.Read(ctx)
	if err != nil {
		return err
	}
	recs, err := edit(cp)
	if err != nil {
		return err
	}
	val, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	recs = append(recs, &kgo.Record{Topic: p.topics.offsets, Key: []byte(p.job), Value: val})
	if err := tx.BeginTransaction(); err != nil {
		return fmt.Errorf("begin kafka transaction: %w", err)
	}
	if err := tx.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		_ = tx.EndTransaction(context.WithoutCancel(ctx), kgo.TryAbort)
		return fmt.Errorf("write %s: %w", p.topics.offsets, err)
	}
	if err := tx.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("commit kafka transaction: %w", err)
	}
	return nil
}

// Skips lists the transactions skipped by Skip, oldest first; none for a
// job without an offsets topic.
func (p *Position) Skips(ctx context.Context) ([]Skipped, error) {
	end, ok, err := p.committedEnd(ctx)
	if err != nil || !ok {
		return nil, err
	}
	var out []Skipped
	var bad error
	err = readTopic(ctx, p.seeds, p.opts, p.topics.offsets, 0, end, func(r *kgo.Record) {
		if recordKind(r) != kindSkipped {
			return
		}
		var sk Skipped
		if err := json.Unmarshal(r.Value, &sk); err != nil {
			bad = errors.Join(bad, fmt.Errorf("%s offset %d: %w: %w", p.topics.offsets, r.Offset, ErrBadOffsets, err))
			return
		}
		out = append(out, sk)
	})
	if err != nil {
		return nil, err
	}
	return out, bad
}

// SkipSet is the GTID set that skips exactly the one transaction gtid after
// the set applied, and no other. On MySQL it is the set with gtid added,
// wherever it lies. A MariaDB position holds one sequence number per
// domain, all below it applied: only the transaction right after it in its
// domain can be skipped alone. A transaction the set holds already is
// position.ErrAlreadyApplied.
func SkipSet(flavor, applied, gtid string) (string, error) {
	g, err := position.NormalizeGTID(flavor, gtid)
	if err != nil {
		return "", err
	}
	set, err := change.ParseGTIDSet(flavor, applied)
	if err != nil {
		return "", fmt.Errorf("the position's gtid set: %w", err)
	}
	if in, err := set.Contains(g); err != nil {
		return "", fmt.Errorf("%w: %w", position.ErrBadPosition, err)
	} else if in {
		return "", fmt.Errorf("transaction %s: %w (the job's position is %s)", g, position.ErrAlreadyApplied, applied)
	}
	if flavor == change.FlavorMariaDB {
		domain, seq := mariaDomainSeq(g)
		var at string
		var cur uint64
		for _, part := range strings.Split(set.String(), ",") {
			if d, s := mariaDomainSeq(part); part != "" && d == domain {
				at, cur = part, s
			}
		}
		if seq != cur+1 {
			where := "at " + at
			if at == "" {
				where = "before the first transaction"
			}
			return "", fmt.Errorf("%w: transaction %s: the job is %s in domain %s, and on MariaDB only the next transaction "+
				"of a domain, %s-<server>-%d, can be skipped alone (a position keeps one sequence number per domain, so "+
				"skipping %s would skip the %d transactions before it as well); to skip all of them, move the job's "+
				"checkpoint to %s instead", position.ErrBadPosition, g, where, domain, domain, cur+1, g, seq-cur-1, g)
		}
	}
	if err := set.Add(g); err != nil {
		return "", fmt.Errorf("%w: %w", position.ErrBadPosition, err)
	}
	return set.String(), nil
}

// mariaDomainSeq is the domain and sequence number of a MariaDB GTID
// domain-server-seq, already checked.
func mariaDomainSeq(g string) (string, uint64) {
	parts := strings.Split(strings.TrimSpace(g), "-")
	if len(parts) != 3 {
		return "", 0
	}
	seq, _ := strconv.ParseUint(parts[2], 10, 64)
	return parts[0], seq
}
