package transport

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/dtle-io/dtle/internal/change"
)

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) Checkpoint(context.Context) (*change.Checkpoint, error) {
	return &change.Checkpoint{}, nil
}
func (c *counter) Handle(context.Context, *change.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return nil
}

// Parts are sealed one by one and opened before they are gathered: a
// stranger's data between two parts of the job's message is refused and
// leaves the message whole. Before, parts were gathered unopened, so a
// stranger's message (or part) reset the assembly and broke the job's.
func TestStrangerCannotBreakAMessageInParts(t *testing.T) {
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats not ready")
	}
	defer srv.Shutdown()
	nc, err := Connect(srv.ClientURL(), "", "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	h := &counter{}
	recv, err := Listen(context.Background(), nc, "job", h, sealer)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	s := NewSender(nc, "job", sealer)
	if _, err := s.Hello(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.seq++
	data, err := change.Encode(&change.Message{Kind: change.KindTxns, Session: s.session, Seq: s.seq})
	if err != nil {
		t.Fatal(err)
	}
	half := len(data) / 2
	send := func(data []byte, header string) *nats.Msg {
		m := &nats.Msg{Subject: s.subj.data, Data: data, Header: nats.Header{}}
		if header != "" {
			m.Header.Set(partHeader, header)
		}
		resp, err := nc.RequestMsg(m, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	send(sealer.seal(s.subj.dataAD("1/2"), data[:half]), "1/2")
	if r := send([]byte("junk from a stranger"), ""); !strings.Contains(string(r.Data), "not sealed") {
		t.Fatalf("a stranger's message was answered %s", r.Data)
	}
	send([]byte("a stranger's part"), "1/2")
	reply := send(sealer.seal(s.subj.dataAD("2/2"), data[half:]), "2/2")
	rep, err := s.readReply(reply, replyAD(s.subj.data, reply.Subject, 2))
	if err != nil || !rep.OK {
		t.Fatalf("the job's message after the stranger's: %+v, %v", rep, err)
	}
	if h.n != 1 {
		t.Fatalf("handled %d messages, want 1", h.n)
	}
}
