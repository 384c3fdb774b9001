package cluster

import (
	"errors"
	"io"
	"net"
	"sync"
)

// Link stands for the network between two nodes: a TCP relay a node
// advertises instead of its own NATS address, so that other nodes reach it
// only through the relay. Cut drops every connection and refuses new ones,
// as a broken network does; Restore lets connections through again.
type Link struct {
	ln net.Listener

	mu     sync.Mutex
	target string
	cut    bool
	conns  map[net.Conn]struct{}
}

// NewLink listens on a free loopback port.
func NewLink() (*Link, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") //nolint:noctx // lives until Close
	if err != nil {
		return nil, err
	}
	l := &Link{ln: ln, conns: map[net.Conn]struct{}{}}
	go l.serve()
	return l, nil
}

// Addr is where the link listens.
func (l *Link) Addr() string { return l.ln.Addr().String() }

// SetTarget sets where the link relays to.
func (l *Link) SetTarget(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.target = addr
}

// Cut closes every relayed connection and returns how many pairs it cut;
// until Restore, new ones are closed as soon as they arrive.
func (l *Link) Cut() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = true
	for c := range l.conns {
		_ = c.Close()
	}
	return len(l.conns) / 2
}

// Restore relays new connections again.
func (l *Link) Restore() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = false
}

// Close stops the link and closes its connections.
func (l *Link) Close() {
	_ = l.ln.Close()
	l.Cut()
}

func (l *Link) serve() {
	for {
		in, err := l.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		go l.relay(in)
	}
}

func (l *Link) relay(in net.Conn) {
	l.mu.Lock()
	target, cut := l.target, l.cut
	l.mu.Unlock()
	if cut || target == "" {
		_ = in.Close()
		return
	}
	out, err := net.Dial("tcp", target) //nolint:noctx // the relay lives as long as its connections
	if err != nil {
		_ = in.Close()
		return
	}
	if !l.track(in, out) {
		return
	}
	var wg sync.WaitGroup
	for _, p := range [][2]net.Conn{{in, out}, {out, in}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = io.Copy(p[0], p[1])
			// One direction ended: end both, as a closed socket does.
			_ = p[0].Close()
			_ = p[1].Close()
		}()
	}
	wg.Wait()
	l.mu.Lock()
	delete(l.conns, in)
	delete(l.conns, out)
	l.mu.Unlock()
}

// track registers a relayed pair unless the link was cut meanwhile.
func (l *Link) track(in, out net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		_ = in.Close()
		_ = out.Close()
		return false
	}
	l.conns[in], l.conns[out] = struct{}{}, struct{}{}
	return true
}
