package applier

import (
	"context"
	"database/sql"
)

// Background writers (the marker, the index builder) sleep until woken and
// open their connection only once there is work for it.

// nudge wakes whoever waits on ch, once however often it is called before
// they wake.
func nudge(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default: // already woken
	}
}

// whenWoken runs work each time wake fires, until ctx ends (nil) or work
// fails (its error).
func whenWoken(ctx context.Context, wake <-chan struct{}, work func() error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		}
		if err := work(); err != nil {
			return err
		}
	}
}

// lazyConn is a connection opened the first time it is needed.
type lazyConn struct {
	open func(context.Context) (*sql.Conn, error)
	conn *sql.Conn
}

func (l *lazyConn) get(ctx context.Context) (*sql.Conn, error) {
	if l.conn == nil {
		conn, err := l.open(ctx)
		if err != nil {
			return nil, err
		}
		l.conn = conn
	}
	return l.conn, nil
}

func (l *lazyConn) close() {
	if l.conn != nil {
		_ = l.conn.Close()
	}
}
