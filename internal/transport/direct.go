package transport

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// A job's two tasks often run in one process: the plugin process of a
// single Nomad node, or a test or bench that runs both. Their messages need
// not go through NATS there. Each would be sealed, written to the NATS
// server over loopback, read and routed by it, written to the destination,
// opened, and its reply would take the same way back: four socket writes,
// the waits for the goroutines that read them, and two AES passes in each
// direction, for every group of transactions and every chunk of a copy.
//
// A Direct is one process's meeting point. A destination offers its
// receiver there (Receiver.Offer); a source whose Sender knows the same
// Direct finds it at hello, when the job and its key are the same, and
// hands the receiver its encoded messages itself. Everything else is as on
// the wire: the same encoding, the same session and sequence checks, the
// same replies, each bounded by the same timeout. When the destination
// stops, the source's next message reads Resync, and its next hello looks
// again, here and then over NATS. Nothing leaves the process, so nothing is
// sealed; a stranger reaches a Direct only by running code in the process.

// Direct lets the sources of a process reach the destinations of the same
// jobs in it without NATS. The zero value is not usable; see NewDirect.
type Direct struct {
	mu   sync.Mutex
	recv map[string]*Receiver // by the job's data subject
}

// NewDirect returns an empty meeting point.
func NewDirect() *Direct { return &Direct{recv: map[string]*Receiver{}} }

// Traffic counts the messages and bytes one side of a job passed directly,
// which its NATS connection's figures do not include.
type Traffic struct {
	InMsgs, OutMsgs, InBytes, OutBytes atomic.Uint64
}

func (t *Traffic) add(in, out, inBytes, outBytes int) {
	if t == nil {
		return
	}
	t.InMsgs.Add(uint64(in))
	t.OutMsgs.Add(uint64(out))
	t.InBytes.Add(uint64(inBytes))
	t.OutBytes.Add(uint64(outBytes))
}

// keyID tells whether two sides hold the same job key without keeping the
// key: a hash of it, the zero value for a nil sealer.
func keyID(key []byte) [sha256.Size]byte {
	return sha256.Sum256(append([]byte("dtle direct\x00"), key...))
}

func (s *Sealer) keyID() [sha256.Size]byte {
	if s == nil {
		return [sha256.Size]byte{}
	}
	return s.id
}

// Offer makes r reachable by the job's sources in this process, until
// Close; t, when not nil, counts what it takes that way. A later receiver
// of the same job takes its place.
func (r *Receiver) Offer(d *Direct, t *Traffic) {
	if d == nil {
		return
	}
	r.direct, r.traffic = d, t
	d.mu.Lock()
	d.recv[r.subj.data] = r
	d.mu.Unlock()
}

// withdraw ends r's offer, unless another receiver took its place.
func (d *Direct) withdraw(r *Receiver) {
	d.mu.Lock()
	if d.recv[r.subj.data] == r {
		delete(d.recv, r.subj.data)
	}
	d.mu.Unlock()
}

// find returns the receiver offered for s's job and key, or nil.
func (d *Direct) find(s *Sender) *Receiver {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	r := d.recv[s.subj.data]
	d.mu.Unlock()
	if r == nil || r.closed.Load() || r.sealer.keyID() != s.sealer.keyID() {
		return nil
	}
	return r
}

// errWithdrawn: the receiver found closed before it answered a hello.
var errWithdrawn = errors.New("transport: the destination in this process stopped")

// directHello opens a session with r, as onHello does for a hello that
// came over NATS.
func (r *Receiver) directHello() (reply, error) {
	r.serial.Lock()
	defer r.serial.Unlock()
	if r.closed.Load() {
		return reply{}, errWithdrawn
	}
	r.traffic.add(1, 1, 0, 0)
	return r.openSession(), nil
}

// directData takes one whole encoded message, as onData does one that came
// over NATS in one piece.
func (r *Receiver) directData(data []byte) reply {
	r.serial.Lock()
	defer r.serial.Unlock()
	if r.closed.Load() {
		return reply{Resync: true}
	}
	r.traffic.add(1, 1, len(data), 0)
	r.parts.reset()
	return r.deliver(data)
}

// within runs f on a goroutine of its own and returns its reply, or the
// error of ctx, or of timeout passing first: a destination that hangs holds
// the source no longer than it would over NATS. f then ends by itself, its
// reply unread, as a late NATS reply is dropped.
func within(ctx context.Context, timeout time.Duration, f func() (reply, error)) (reply, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	got := make(chan answer, 1)
	go func() {
		var a answer
		if err := call(func() (err error) { a.rep, a.err = f(); return a.err }); err != nil {
			a.err = err
		}
		got <- a
	}()
	select {
	case a := <-got:
		return a.rep, a.err
	case <-ctx.Done():
		return reply{}, ctx.Err()
	}
}

// helloDirect says hello to the job's destination in this process; false
// when there is none, or it stopped meanwhile.
func (s *Sender) helloDirect(ctx context.Context) (reply, bool, error) {
	r := s.Direct.find(s)
	if r == nil {
		return reply{}, false, nil
	}
	rep, err := within(ctx, helloTimeout, r.directHello)
	if errors.Is(err, errWithdrawn) {
		return reply{}, false, nil
	}
	if err != nil {
		return reply{}, true, err
	}
	s.peer = r
	s.Traffic.add(1, 1, 0, 0)
	return rep, true, nil
}

// requestDirect hands data to the destination of the session, bounded by
// the Sender's timeout.
func (s *Sender) requestDirect(ctx context.Context, data []byte) (reply, error) {
	r := s.peer
	rep, err := within(ctx, s.timeout(), func() (reply, error) { return r.directData(data), nil })
	if err == nil {
		s.Traffic.add(1, 1, 0, len(data))
	}
	return rep, err
}
