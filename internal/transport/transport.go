package transport

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/retry"
)

// DefaultRequestTimeout bounds one message's round trip, applying
// included. A destination that dies mid-message never answers; after this
// the source says hello again (a destination still busy, with a long DDL
// say, answers hello once it is done).
const DefaultRequestTimeout = 30 * time.Second

// subjects are a job's two subjects, built once per sender or receiver.
type subjects struct{ hello, data string }

func subjectsOf(job string) subjects {
	t := Token(job)
	return subjects{hello: "dtle." + t + ".hello", data: "dtle." + t + ".data"}
}

// dataAD binds a sealed message, or one part of it ("i/n"; "" when it goes
// whole), to the job's data subject.
func (s subjects) dataAD(part string) string { return "data\x00" + s.data + "\x00" + part }

// Token writes a job's key as one NATS subject token: every byte but
// letters, digits, '_' and '-' is written as '~' and two hex digits, so a
// job id cannot hold a wildcard ('*', '>') or a separator ('.'), and two
// keys never share a token.
func Token(key string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
			b.WriteByte(c)
		default:
			b.WriteByte('~')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	if b.Len() == 0 {
		return "~"
	}
	return b.String()
}

// Protocol is the version of what a job's two tasks exchange: the hello and
// the encoding of messages (internal/change). Both must speak the same one;
// bump it with any change the other side could misread.
const Protocol = 6

// hello is the source's request.
type hello struct {
	Protocol int `json:"protocol"`
	// Challenge is fresh for each hello; the reply is sealed for it, so a
	// replayed reply never opens.
	Challenge string `json:"challenge,omitempty"`
}

type reply struct {
	// Protocol is the destination's, in hello replies; 0 from one older
	// than the field.
	Protocol   int                `json:"protocol,omitempty"`
	OK         bool               `json:"ok"`
	Resync     bool               `json:"resync,omitempty"`
	Error      string             `json:"error,omitempty"`
	Checkpoint *change.Checkpoint `json:"checkpoint,omitempty"`
}

// Connect opens a NATS connection with the cluster's token and, when
// tlsConfig is set, over TLS (its certificate for servers that verify
// clients, its roots to verify the server).
func Connect(url, token, name string, tlsConfig *tls.Config) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
	}
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	if tlsConfig != nil {
		opts = append(opts, nats.Secure(tlsConfig.Clone()))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	return nc, nil
}

// Handler is the destination's side of a job.
type Handler interface {
	// Checkpoint returns what is committed, for a new session.
	Checkpoint(ctx context.Context) (*change.Checkpoint, error)
	// Handle applies one message; messages come one at a time, in order.
	Handle(ctx context.Context, m *change.Message) error
}

// Receiver serves a job's subjects for a Handler.
type Receiver struct {
	nc     *nats.Conn
	subj   subjects
	sealer *Sealer
	subs   []*nats.Subscription
	h      Handler
	ctx    context.Context //nolint:containedctx // the handler callbacks run on NATS goroutines and need the task's context
	errs   chan error

	// serial makes hello and data handling take turns: a new session's
	// checkpoint is read only after the old session's message is done. It
	// also guards the session state below.
	serial  sync.Mutex
	session string
	next    uint64
	sessNo  uint64
	parts   assembly // of the message coming in parts
	hellos  seenSet  // challenges of the hellos answered

	// direct is where the receiver is offered to sources in its process
	// (Offer), traffic what it took that way; closed once Close ran.
	direct  *Direct
	traffic *Traffic
	closed  atomic.Bool
}

// seenCap is how many hello challenges a receiver remembers.
const seenCap = 4096

// seenSet remembers the last seenCap strings added.
type seenSet struct {
	set   map[string]struct{}
	order []string
}

// add records v and says whether it is new.
func (s *seenSet) add(v string) bool {
	if _, ok := s.set[v]; ok {
		return false
	}
	if s.set == nil {
		s.set = map[string]struct{}{}
	}
	if len(s.order) == seenCap {
		delete(s.set, s.order[0])
		s.order = s.order[1:]
	}
	s.set[v] = struct{}{}
	s.order = append(s.order, v)
	return true
}

// Listen subscribes to the job's subjects. A Handle error is replied to the
// source and also delivered on Errors; the receiver then refuses the session.
// With a sealer, only messages sealed with the job's key are read, and
// every reply is sealed.
func Listen(ctx context.Context, nc *nats.Conn, job string, h Handler, sealer *Sealer) (*Receiver, error) {
	r := &Receiver{nc: nc, subj: subjectsOf(job), sealer: sealer, h: h, ctx: ctx, errs: make(chan error, 1)}
	for subj, fn := range map[string]nats.MsgHandler{r.subj.hello: r.onHello, r.subj.data: r.onData} {
		sub, err := nc.Subscribe(subj, fn)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("subscribe %s: %w", subj, err)
		}
		r.subs = append(r.subs, sub)
	}
	if err := nc.Flush(); err != nil {
		r.Close()
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	return r, nil
}

// Errors delivers the first error a Handle call returned.
func (r *Receiver) Errors() <-chan error { return r.errs }

// Close unsubscribes and withdraws the receiver's offer.
func (r *Receiver) Close() {
	r.closed.Store(true)
	if r.direct != nil {
		r.direct.withdraw(r)
	}
	for _, s := range r.subs {
		_ = s.Unsubscribe()
	}
}

// respond answers m, sealed for ad.
func (r *Receiver) respond(m *nats.Msg, ad string, rep reply) {
	b, _ := json.Marshal(rep)
	_ = m.Respond(r.sealer.seal(ad, b))
}

// refuse answers, unsealed, a request that did not open with the job's key:
// the job's own source, on a node without the cluster's key, learns why.
func (r *Receiver) refuse(m *nats.Msg) {
	b, _ := json.Marshal(reply{Protocol: Protocol, Error: ErrNotSealed.Error()})
	_ = m.Respond(b)
}

// report delivers err on Errors, unless one waits there already.
func (r *Receiver) report(err error) {
	select {
	case r.errs <- err:
	default:
	}
}

func (r *Receiver) onHello(m *nats.Msg) {
	r.serial.Lock()
	defer r.serial.Unlock()
	data, err := r.sealer.open("hello\x00"+r.subj.hello, m.Data)
	if err != nil {
		r.refuse(m) // not the job's source: it opens no session
		return
	}
	var h hello
	if len(data) > 0 {
		_ = json.Unmarshal(data, &h) // unreadable: protocol 0
	}
	if h.Challenge != "" && !r.hellos.add(h.Challenge) {
		// A hello answered before, replayed by someone who recorded it: it
		// opens no new session (which would cost the job a resume).
		return
	}
	ad := replyAD(r.subj.hello, h.Challenge, 0)
	if h.Protocol != Protocol {
		// An older source sends no protocol and retries on any error, so the
		// destination fails too, with the reason.
		err := &IncompatibleError{Source: h.Protocol, Dest: Protocol}
		r.report(err)
		r.respond(m, ad, reply{Protocol: Protocol, Error: err.Error()})
		return
	}
	r.respond(m, ad, r.openSession())
}

// openSession reads the handler's checkpoint and opens a new session at
// it, which ends the one before; the reply says the checkpoint or why
// there is none.
func (r *Receiver) openSession() reply {
	r.parts.reset()
	var cp *change.Checkpoint
	err := call(func() (err error) { cp, err = r.h.Checkpoint(r.ctx); return err })
	var pe *panicError
	if errors.As(err, &pe) {
		r.report(err)
	}
	if err != nil {
		return reply{Protocol: Protocol, Error: err.Error()}
	}
	r.sessNo++
	r.session = fmt.Sprintf("%d-%d", time.Now().UnixNano(), r.sessNo)
	r.next = 1
	cp.Session = r.session
	return reply{Protocol: Protocol, OK: true, Checkpoint: cp}
}

func (r *Receiver) onData(m *nats.Msg) {
	r.serial.Lock()
	defer r.serial.Unlock()
	// Replies are sealed for the request's own reply inbox: only the
	// sender that made it opens them, once; one out of step reads Resync.
	header := m.Header.Get(partHeader)
	part, _, _ := parsePart(header)
	ad := replyAD(r.subj.data, m.Reply, part)
	// Each part is sealed on its own: what does not open is refused before
	// it is gathered, so a stranger can neither fill the receiver's memory
	// nor break a message that is coming in.
	opened, err := r.sealer.open(r.subj.dataAD(header), m.Data)
	if err != nil {
		r.refuse(m)
		return
	}
	data, whole, err := r.parts.add(header, opened)
	switch {
	case errors.Is(err, ErrResync):
		r.respond(m, ad, reply{Resync: true})
		return
	case err != nil:
		r.respond(m, ad, reply{Error: err.Error()})
		return
	case !whole:
		r.respond(m, ad, reply{OK: true}) // a part: send the next
		return
	}
	r.respond(m, ad, r.deliver(data))
}

// deliver decodes a whole message and hands it to the handler when it is
// the session's next; the reply says how that went.
func (r *Receiver) deliver(data []byte) reply {
	msg, err := change.Decode(data)
	if err != nil {
		return reply{Error: err.Error()}
	}
	if msg.Session != r.session || r.session == "" || msg.Seq != r.next {
		return reply{Resync: true}
	}
	r.next++
	if err := call(func() error { return r.h.Handle(r.ctx, msg) }); err != nil {
		r.session = "" // nothing more from this session
		r.report(err)
		return reply{Error: err.Error()}
	}
	return reply{OK: true}
}

// DefaultHelloTimeout is how long Hello waits for a destination before
// giving up with ErrNoDestination (the caller may look for it elsewhere).
const DefaultHelloTimeout = 60 * time.Second

// Sender is the source's side of a job.
type Sender struct {
	// RequestTimeout bounds each request of Send (a message larger than a
	// NATS payload takes one per part); zero means DefaultRequestTimeout.
	RequestTimeout time.Duration

	// Direct, when set, is where a destination of the job in this process
	// is looked for at each hello (see Direct); Traffic, when set, counts
	// what goes to it that way.
	Direct  *Direct
	Traffic *Traffic

	nc      *nats.Conn
	subj    subjects
	sealer  *Sealer
	session string
	seq     uint64
	replies replyBox
	peer    *Receiver // the session's destination when it is direct
}

// timeout is the bound of each request.
func (s *Sender) timeout() time.Duration {
	if s.RequestTimeout > 0 {
		return s.RequestTimeout
	}
	return DefaultRequestTimeout
}

// NewSender sends the job's messages over nc, sealed with sealer (nil: as
// they are).
func NewSender(nc *nats.Conn, job string, sealer *Sealer) *Sender {
	return &Sender{nc: nc, subj: subjectsOf(job), sealer: sealer}
}

// readReply opens and reads the reply to a request: ad binds it to the
// request. A reply that does not open is ErrResync with ErrNotSealed: the
// destination is out of step (its session moved on), or someone else
// answered in its place.
func (s *Sender) readReply(m *nats.Msg, ad string) (reply, error) {
	var rep reply
	data, err := s.sealer.open(ad, m.Data)
	if err != nil {
		var plain reply
		if json.Unmarshal(m.Data, &plain) == nil && plain.Error == ErrNotSealed.Error() {
			return rep, fmt.Errorf("%w: the destination says: %w", ErrResync, ErrNotSealed)
		}
		return rep, fmt.Errorf("%w: %w", ErrResync, err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return rep, fmt.Errorf("bad reply: %w", err)
	}
	return rep, nil
}

// Hello asks the destination for its checkpoint and opens a session, trying
// until one answers or ctx ends.
func (s *Sender) Hello(ctx context.Context) (*change.Checkpoint, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultHelloTimeout)
	defer cancel()
	// Both tasks usually start together: retry soon, then less often.
	backoff := retry.New(25*time.Millisecond, 5*time.Second)
	for {
		s.peer = nil
		rep, found, err := s.helloDirect(ctx)
		if !found {
			rep, err = s.helloNATS(ctx)
		}
		if err != nil && !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("hello: %w", err)
		}
		if err == nil {
			if rep.Protocol != Protocol {
				return nil, &IncompatibleError{Source: Protocol, Dest: rep.Protocol}
			}
			if !rep.OK || rep.Checkpoint == nil {
				return nil, &RemoteError{Msg: rep.Error}
			}
			s.session, s.seq = rep.Checkpoint.Session, 0
			return rep.Checkpoint, nil
		}
		if err := backoff.Wait(ctx); err != nil {
			return nil, fmt.Errorf("hello: %w: %w", ErrNoDestination, err)
		}
	}
}

// helloTimeout bounds one hello.
const helloTimeout = 10 * time.Second

// helloNATS says hello over NATS once.
func (s *Sender) helloNATS(ctx context.Context) (reply, error) {
	challenge := make([]byte, 16)
	_, _ = rand.Read(challenge)
	h := hello{Protocol: Protocol, Challenge: hex.EncodeToString(challenge)}
	req, _ := json.Marshal(h)
	rctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	ad := replyAD(s.subj.hello, h.Challenge, 0)
	return s.exchange(rctx, &nats.Msg{Subject: s.subj.hello, Data: s.sealer.seal("hello\x00"+s.subj.hello, req)},
		func(string) string { return ad })
}

// Send delivers one message and waits until the destination took it.
func (s *Sender) Send(ctx context.Context, m *change.Message) error {
	s.seq++
	m.Session, m.Seq = s.session, s.seq
	data, err := change.Encode(m)
	if err != nil {
		return err
	}
	var rep reply
	if s.peer != nil {
		rep, err = s.requestDirect(ctx, data)
	} else {
		rep, err = s.request(ctx, data)
	}
	if err != nil {
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			return fmt.Errorf("send: %w", ErrResync)
		case errors.Is(err, ErrResync):
			return fmt.Errorf("send: %w", err)
		}
		return fmt.Errorf("send message %d: %w", m.Seq, err)
	}
	switch {
	case rep.Resync:
		return ErrResync
	case !rep.OK:
		return &RemoteError{Msg: rep.Error}
	}
	return nil
}
