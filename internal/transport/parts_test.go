package transport

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/dtle-io/dtle/internal/change"
)

func part(i, n int, data string) *nats.Msg {
	m := &nats.Msg{Data: []byte(data), Header: nats.Header{}}
	if n > 0 {
		m.Header.Set(partHeader, fmt.Sprintf("%d/%d", i, n))
	}
	return m
}

// The receiver gathers parts only in order and only up to its limit; any
// other part drops what it gathered.
func TestAssemblyTakesPartsInOrderWithinTheLimit(t *testing.T) {
	for _, c := range []struct {
		name, why string
		parts     []*nats.Msg
		want      string // the data once whole, "" for none
		err       error  // of the last part
	}{
		{"whole", "a message that fits has no header", []*nats.Msg{part(0, 0, "abc")}, "abc", nil},
		{"in order", "the parts join", []*nats.Msg{part(1, 3, "ab"), part(2, 3, "cd"), part(3, 3, "e")}, "abcde", nil},
		{"restarted", "a new first part drops the old", []*nats.Msg{part(1, 3, "xx"), part(1, 2, "ab"), part(2, 2, "c")}, "abc", nil},
		{"a part skipped", "a part was lost: resync", []*nats.Msg{part(1, 3, "ab"), part(3, 3, "e")}, "", ErrResync},
		{"another message's part", "the count differs: resync", []*nats.Msg{part(1, 3, "ab"), part(2, 4, "cd")}, "", ErrResync},
		{"no first part", "a part without its start: resync", []*nats.Msg{part(2, 2, "cd")}, "", ErrResync},
		{"over the limit", "parts may not add up to more than a frame", []*nats.Msg{part(1, 2, "abcdef"), part(2, 2, "ghijk")}, "", change.ErrTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := assembly{limit: 10}
			var (
				data  []byte
				whole bool
				err   error
			)
			for _, p := range c.parts {
				data, whole, err = a.add(p.Header.Get(partHeader), p.Data)
			}
			if c.err != nil {
				if !errors.Is(err, c.err) || whole {
					t.Fatalf("got %v (whole %v), want %v: %s", err, whole, c.err, c.why)
				}
				if a.buf != nil || a.next != 0 {
					t.Fatal("what was gathered is kept after an error")
				}
				return
			}
			if err != nil || !whole || string(data) != c.want {
				t.Fatalf("got %q, %v, %v; want %q: %s", data, whole, err, c.want, c.why)
			}
		})
	}
	for _, h := range []string{"0/2", "3/2", "a/b", "1", "-1/2"} {
		a := assembly{}
		m := &nats.Msg{Header: nats.Header{partHeader: []string{h}}}
		if _, whole, err := a.add(m.Header.Get(partHeader), m.Data); err == nil || whole {
			t.Errorf("header %q taken", h)
		}
	}
}
