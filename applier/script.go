package applier

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"time"
)

// txScript is one destination transaction sent as statements several per
// round trip, on a connection of its own rather than through a sql.Tx: its
// START TRANSACTION goes with the first statements and its checkpoint and
// COMMIT with the last, so a small group of binlog transactions takes one
// round trip where BEGIN, the rows, the checkpoint and COMMIT took four.
// Under a steady light load those round trips were most of the time a
// transaction spends in the applier. The server stops a multi-statement
// text at its first error, so a failed text never commits: rollback ends
// what it left open.
type txScript struct {
	stmtBatch
	conn *sql.Conn
	sent bool // a part has gone: a transaction may be open
}

func beginScript(conn *sql.Conn) *txScript {
	s := &txScript{conn: conn}
	s.ex = s
	s.sb.WriteString("START TRANSACTION;\n")
	return s
}

// ExecContext runs a part of the script, noting that a transaction may now
// be open.
func (s *txScript) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s.sent = true
	return s.conn.ExecContext(ctx, q, args...)
}

// stmtBatch gathers statements and sends them several per round trip
// through ex, in order.
type stmtBatch struct {
	ex   execer
	sb   strings.Builder
	args []any
}

// add appends a statement, sending what is gathered once it reaches
// maxBatchBytes.
func (b *stmtBatch) add(ctx context.Context, q string, args ...any) error {
	b.sb.WriteString(q)
	b.sb.WriteString(";\n")
	b.args = append(b.args, args...)
	if b.sb.Len() >= maxBatchBytes {
		return b.send(ctx)
	}
	return nil
}

// addOps appends row operations.
func (b *stmtBatch) addOps(ctx context.Context, ops []rowOp) error {
	for i := range ops {
		q, args := ops[i].sql()
		if err := b.add(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// send runs what is gathered.
func (b *stmtBatch) send(ctx context.Context) error {
	if b.sb.Len() == 0 {
		return nil
	}
	_, err := b.ex.ExecContext(ctx, b.sb.String(), b.args...)
	b.sb.Reset()
	b.args = b.args[:0]
	return err
}

// commit sends the rest with COMMIT.
func (s *txScript) commit(ctx context.Context) error {
	s.sb.WriteString("COMMIT")
	err := s.send(ctx)
	if err == nil {
		s.sent = false
	}
	return err
}

// rollback ends a transaction a failed part left open; nothing when none
// was sent or the commit went through. When the ROLLBACK fails, the
// connection is dropped (the server rolls back what it held): kept, its
// next START TRANSACTION would commit the failed part without its
// checkpoint.
func (s *txScript) rollback(ctx context.Context) {
	if !s.sent {
		return
	}
	s.sent = false
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if _, err := s.conn.ExecContext(rctx, "ROLLBACK"); err != nil {
		_ = s.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// rollbackTimeout bounds the ROLLBACK of a failed destination transaction.
const rollbackTimeout = 10 * time.Second
