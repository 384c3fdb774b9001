package transport

import (
	"context"
	"fmt"
	"strconv"
	"strings"

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
	timeout := s.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
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
	inbox := s.nc.NewRespInbox()
	ad := adOf(inbox)
	sub, err := s.nc.SubscribeSync(inbox)
	if err != nil {
		return reply{}, fmt.Errorf("subscribe for the reply: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	m.Reply = inbox
	if err := s.nc.PublishMsg(m); err != nil {
		return reply{}, fmt.Errorf("publish: %w", err)
	}
	var first error
	for {
		r, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			if first != nil {
				return reply{}, first
			}
			return reply{}, err
		}
		if len(r.Data) == 0 && r.Header.Get("Status") == "503" {
			return reply{}, nats.ErrNoResponders
		}
		rep, err := s.readReply(r, ad)
		if err == nil {
			return rep, nil
		}
		if first == nil {
			first = err
		}
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
