package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dtle-io/dtle/internal/change"
)

// topics are the job's own topics: its position and its table definitions.
type topics struct {
	offsets, schemas string
}

// jobTopics are the job's topics, _dtle.<job>.offsets and .schemas: not
// under the data topics' prefix, so that consumers of <prefix>.* do not
// read them as data.
func jobTopics(job string) topics {
	base := sanitizeTopic("_dtle." + job)
	return topics{offsets: base + ".offsets", schemas: base + ".schemas"}
}

// legacyTopics are where jobs of earlier versions kept them, under the
// data topics' prefix; a job that has them and not the new ones moves
// what they hold (see Sink.migrate).
func legacyTopics(prefix, job string) topics {
	base := sanitizeTopic(prefix + "._dtle." + job)
	return topics{offsets: base + ".offsets", schemas: base + ".schemas"}
}

// hasRecords reports whether topic exists and holds records.
func hasRecords(ctx context.Context, adm *kadm.Client, topic string) (bool, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return false, fmt.Errorf("end of %s: %w", topic, err)
	}
	o, ok := ends.Lookup(topic, 0)
	if !ok || errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
		return false, nil
	}
	if o.Err != nil {
		return false, fmt.Errorf("end of %s: %w", topic, o.Err)
	}
	return o.Offset > 0, nil
}

// ensureTopic creates a topic unless it exists; partitions -1 is the
// broker's default.
func ensureTopic(ctx context.Context, adm *kadm.Client, name string, partitions int32, compact bool) error {
	var configs map[string]*string
	if compact {
		configs = map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
	}
	_, err := adm.CreateTopic(ctx, partitions, -1, configs, name)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	return nil
}

// readTopic reads partition 0 of topic from offset from up to end (its
// last stable offset), committed records only, and calls fn for each.
func readTopic(ctx context.Context, seeds []string, opts []kgo.Opt, topic string, from, end int64, fn func(*kgo.Record)) error {
	if end <= from {
		return nil
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, opts...), kgo.SeedBrokers(seeds...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(200*time.Millisecond),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(from)}}))...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = err
			}
		})
		if ferr != nil {
			return fmt.Errorf("read %s: %w", topic, ferr)
		}
		n, last := 0, int64(-1)
		fs.EachRecord(func(r *kgo.Record) {
			n++
			last = r.Offset
			if r.Offset < end {
				fn(r)
			}
		})
		// Everything below the stable end is readable at once: an empty
		// poll means only markers of transactions were left.
		if n == 0 || last >= end-1 {
			return nil
		}
	}
}

// readCheckpoint reads the job's committed position (the last record of its
// offsets topic: a change.Checkpoint in JSON, without a session) and table
// definitions (its schemas topic).
func readCheckpoint(ctx context.Context, adm *kadm.Client, seeds []string, opts []kgo.Opt, t topics) (*change.Checkpoint, *catalog, error) {
	ends, err := adm.ListCommittedOffsets(ctx, t.schemas, t.offsets)
	if err != nil {
		return nil, nil, fmt.Errorf("end of %s and %s: %w", t.schemas, t.offsets, err)
	}
	end := map[string]int64{}
	for _, name := range []string{t.schemas, t.offsets} {
		o, ok := ends.Lookup(name, 0)
		if !ok || o.Err != nil {
			return nil, nil, fmt.Errorf("end of %s: %w", name, errors.Join(o.Err, ErrNoTopic))
		}
		end[name] = o.Offset
	}
	// Records are keyed by the table's quoted id; a tombstone drops the
	// definition under its key.
	byKey := map[string]*tableDef{}
	err = readTopic(ctx, seeds, opts, t.schemas, 0, end[t.schemas], func(r *kgo.Record) {
		if r.Value == nil {
			delete(byKey, string(r.Key))
			return
		}
		var d tableDef
		if json.Unmarshal(r.Value, &d) == nil {
			byKey[string(r.Key)] = &d
		}
	})
	if err != nil {
		return nil, nil, err
	}
	cat := newCatalog()
	for _, d := range byKey {
		cat.tables[d.name()] = d
	}
	st := &change.Checkpoint{}
	found, err := lastPosition(ctx, seeds, opts, t.offsets, end[t.offsets])
	if err != nil || found == nil {
		return st, cat, err
	}
	if err := json.Unmarshal(found, st); err != nil {
		return nil, nil, fmt.Errorf("%s: %w: %w", t.offsets, ErrBadOffsets, err)
	}
	return st, cat, nil
}

// lastPosition is the value of the last committed position record of the
// offsets topic below end (its last stable offset); nil when it has none.
// Records of another kind (see recordKind) are passed over: they sit before
// the position record of their transaction, never after it.
func lastPosition(ctx context.Context, seeds []string, opts []kgo.Opt, topic string, end int64) ([]byte, error) {
	// Transaction markers sit between records, so look back in growing
	// windows.
	for window := int64(64); ; window *= 8 {
		from := max(end-window, 0)
		var found []byte
		err := readTopic(ctx, seeds, opts, topic, from, end, func(r *kgo.Record) {
			if recordKind(r) == "" {
				found = r.Value
			}
		})
		if err != nil || found != nil || from == 0 {
			return found, err
		}
	}
}
