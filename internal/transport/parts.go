package transport

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/dtle-io/dtle/internal/change"
)

// A message larger than the connection's max payload (a row with a big
// BLOB, say) goes in parts: requests on the data subject, each with the
// partHeader "i/n" (1-based), none larger than the payload. The receiver
// acknowledges each part but the last at once and gathers them; the last
// part's reply is the message's. A message that fits goes whole, without
// the header.
const partHeader = "Dtle-Part"

// partRoom is what a part leaves of the max payload for its header.
const partRoom = 1 << 10

// request sends data on the job's data subject, in parts when it does not
// fit in one payload, and returns the reply to the last part sent (the
// message's, or the first that did not take a part), opened. Each request
// gets the Sender's timeout.
func (s *Sender) request(ctx context.Context, data []byte) (reply, error) {
	timeout := s.timeout()
	send := func(m *nats.Msg, part int) (reply, error) {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return s.exchange(rctx, m, func(inbox string) string { return replyAD(s.subj.data, inbox, part) })
	}
	maxPayload := s.nc.MaxPayload()
	if int64(len(data)+sealOverhead) <= maxPayload {
		return send(&nats.Msg{Subject: s.subj.data, Data: s.sealer.seal(s.subj.dataAD(""), data)}, 0)
	}
	size := int(maxPayload) - partRoom
	if size <= 0 || !s.nc.HeadersSupported() {
		return reply{}, fmt.Errorf("a message of %d bytes exceeds the NATS max payload %d, and the server cannot take it in parts", len(data), maxPayload)
	}
	n := (len(data) + size - 1) / size
	var rep reply
	for i := range n {
		header := fmt.Sprintf("%d/%d", i+1, n)
		part := s.sealer.seal(s.subj.dataAD(header), data[i*size:min((i+1)*size, len(data))])
		m := &nats.Msg{Subject: s.subj.data, Data: part, Header: nats.Header{}}
		m.Header.Set(partHeader, header)
		var err error
		if rep, err = send(m, i+1); err != nil {
			return rep, err
		}
		if i < n-1 && !rep.OK {
			return rep, nil // the caller reads why
		}
	}
	return rep, nil
}

// exchange publishes m with an inbox of its own and returns the first reply
// that opens for adOf(inbox). A reply that does not open (a stranger answering in
// the destination's place, or faster than it) is passed over, so it cannot
// end the exchange; when none opens before ctx ends, the error says what
// the first one was. A NATS "no responders" status is nats.ErrNoResponders.
func (s *Sender) exchange(ctx context.Context, m *nats.Msg, adOf func(inbox string) string) (reply, error) {
	w, err := s.replies.open(s.nc, adOf, s.readReply)
	if err != nil {
		return reply{}, err
	}
	defer s.replies.close(w)
	m.Reply = w.inbox
	if err := s.nc.PublishMsg(m); err != nil {
		return reply{}, fmt.Errorf("publish: %w", err)
	}
	select {
	case r := <-w.got:
		return r.rep, r.err
	case <-ctx.Done():
		if err := w.firstError(); err != nil {
			return reply{}, err
		}
		return reply{}, ctx.Err()
	}
}

// replyBox routes the replies to a Sender's requests. It holds one
// subscription, on a wildcard under an inbox of its own, for the
// connection's life, and gives each request a subject under it. A
// subscription per request cost the NATS server a SUB and an UNSUB for
// every message, and the client a channel of 64k slots each time: a third
// of the source's CPU when many small messages go (a copy of many tables,
// the binlog under a light load).
type replyBox struct {
	mu      sync.Mutex
	prefix  string // the inbox, with its trailing dot; "" until subscribed
	next    uint64
	waiting map[string]*waiter
}

// waiter is one request waiting for its reply. Replies are opened as they
// arrive, so that any number of strangers' answers cannot crowd out the
// destination's.
type waiter struct {
	inbox, token, ad string
	read             func(*nats.Msg, string) (reply, error)
	got              chan answer // the reply that opened, or no responders
	mu               sync.Mutex
	first            error // why the first reply that did not open did not
}

type answer struct {
	rep reply
	err error
}

func (w *waiter) firstError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first
}

// take reads one reply to the request.
func (w *waiter) take(m *nats.Msg) {
	var a answer
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		a.err = nats.ErrNoResponders
	} else if a.rep, a.err = w.read(m, w.ad); a.err != nil {
		w.mu.Lock()
		if w.first == nil {
			w.first = a.err
		}
		w.mu.Unlock()
		return
	}
	select {
	case w.got <- a:
	default: // answered already
	}
}

// open registers a request: its inbox, the additional data its reply is
// sealed with (adOf(inbox)), and how a reply is read. It subscribes on the
// first call.
func (b *replyBox) open(nc *nats.Conn, adOf func(inbox string) string, read func(*nats.Msg, string) (reply, error)) (*waiter, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.prefix == "" {
		prefix := nc.NewInbox() + "."
		if _, err := nc.Subscribe(prefix+"*", b.deliver); err != nil {
			return nil, fmt.Errorf("subscribe for replies: %w", err)
		}
		b.prefix, b.waiting = prefix, map[string]*waiter{}
	}
	b.next++
	w := &waiter{token: strconv.FormatUint(b.next, 36), read: read, got: make(chan answer, 1)}
	w.inbox = b.prefix + w.token
	w.ad = adOf(w.inbox)
	b.waiting[w.token] = w
	return w, nil
}

func (b *replyBox) close(w *waiter) {
	b.mu.Lock()
	delete(b.waiting, w.token)
	b.mu.Unlock()
}

// deliver hands a reply to the request it answers; a reply to no request
// (late, or a stranger's) is dropped.
func (b *replyBox) deliver(m *nats.Msg) {
	b.mu.Lock()
	w := b.waiting[strings.TrimPrefix(m.Subject, b.prefix)]
	b.mu.Unlock()
	if w != nil {
		w.take(m)
	}
}

// assembly gathers the parts of one message on the receiver.
type assembly struct {
	buf   []byte
	next  int // the part expected next, from 1; 0: none
	parts int // the message's parts
	limit int // bytes; zero means change.MaxFrameBytes
}

// add takes a data request's (opened) data and its partHeader ("" for a
// message sent whole). It returns the message's data once it is whole: at
// once for a message that came whole, at its last part for one in parts. A
// part out of order is ErrResync (what came before it is dropped); parts
// adding up to more than the limit, change.ErrTooLarge.
func (a *assembly) add(h string, part []byte) (data []byte, whole bool, err error) {
	if h == "" {
		a.reset()
		return part, true, nil
	}
	i, n, ok := parsePart(h)
	switch {
	case !ok:
		a.reset()
		return nil, false, fmt.Errorf("bad %s header %q", partHeader, h)
	case i == 1:
		a.reset()
		a.next, a.parts = 1, n
	case i != a.next || n != a.parts:
		a.reset()
		return nil, false, ErrResync
	}
	limit := a.limit
	if limit <= 0 {
		limit = change.MaxFrameBytes
	}
	if len(a.buf)+len(part) > limit {
		a.reset()
		return nil, false, fmt.Errorf("%w: parts of more than %d bytes", change.ErrTooLarge, limit)
	}
	a.buf = append(a.buf, part...)
	if a.next++; i < n {
		return nil, false, nil
	}
	data = a.buf
	a.reset()
	return data, true, nil
}

// reset drops what was gathered.
func (a *assembly) reset() { a.buf, a.next, a.parts = nil, 0, 0 }

// parsePart reads a partHeader: part i of n, 1 <= i <= n.
func parsePart(h string) (i, n int, ok bool) {
	is, ns, found := strings.Cut(h, "/")
	if !found {
		return 0, 0, false
	}
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if err1 != nil || err2 != nil || i < 1 || i > n {
		return 0, 0, false
	}
	return i, n, true
}
