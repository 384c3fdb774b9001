package applier

import (
	"reflect"
	"testing"

	"github.com/dtle-io/dtle/internal/change"
)

// A batch waits for the last batch that wrote one of its values or the
// whole index; batches writing different values of an index do not wait
// for each other.
func TestBatchesWaitForWhatTheyOverlap(t *testing.T) {
	p := &parallel{lastWriter: map[writeKey]*batch{}, lastWhole: map[indexID]*batch{}, lastInIndex: map[indexID]*batch{}}
	var bs []*batch
	add := func(keys ...writeKey) *batch {
		b := &batch{seq: uint64(len(bs) + 1), done: make(chan struct{})}
		p.depend(b, keys)
		bs = append(bs, b)
		return b
	}
	i := indexID{change.TableName{Schema: "db", Table: "t"}, 0}
	j := indexID{change.TableName{Schema: "db", Table: "t"}, 1}
	x, y := writeKey{index: i, value: "\x00x"}, writeKey{index: i, value: "\x00y"}
	whole := writeKey{index: i, whole: true}
	other := writeKey{index: j, value: "\x00x"}
	b1 := add(x)
	b2 := add(y)
	b3 := add(whole)
	b4 := add(x)
	b5 := add(y, other)
	b6 := add(other)
	for _, c := range []struct {
		b    *batch
		want []*batch
	}{{b1, nil}, {b2, nil}, {b3, []*batch{b2}}, {b4, []*batch{b1, b3}}, {b5, []*batch{b2, b3}}, {b6, []*batch{b5}}} {
		if !reflect.DeepEqual(c.b.deps, c.want) {
			t.Errorf("batch %d waits for %v, want %v", c.b.seq, seqs(c.b.deps), seqs(c.want))
		}
	}
	// A committed batch is waited for by no one.
	close(b6.done)
	if b7 := add(other); len(b7.deps) != 0 {
		t.Errorf("batch 7 waits for %v, a committed batch", seqs(b7.deps))
	}
}

func seqs(bs []*batch) []uint64 {
	var out []uint64
	for _, b := range bs {
		out = append(out, b.seq)
	}
	return out
}
