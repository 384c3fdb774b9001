package applier

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/internal/retry"
)

// dest is what the applier's two halves share: the job, the destination
// server and its table definitions, the figures, and the signal that the
// background work has stopped. Both halves hold the same one.
type dest struct {
	job string
	db  *sql.DB
	// conn is the listener's own session (Checkpoint and Handle), opened
	// by Run before it starts the background work.
	conn *sql.Conn
	// ddlDB's connections take one statement only: they run what comes
	// from the source (CREATE TABLE, replicated DDL, index builds). ddl is
	// the listener's own, opened by Run.
	ddlDB  *sql.DB
	ddl    *sql.Conn
	log    hclog.Logger
	tables *tableCache
	stats  *Stats
	stop   *stopSignal
}

// sessionVars are what every write needs, on every connection: no
// zero-date or auto-increment surprises, no foreign key checks (the source
// already enforced them, and parents may arrive after children). UTC comes
// with every mysqlconn connection.
var sessionVars = map[string]string{
	"sql_mode":           "'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'",
	"foreign_key_checks": "0",
}

// session returns a connection of its own, for a writer that keeps one.
func (d *dest) session(ctx context.Context) (*sql.Conn, error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("destination connection: %w", err)
	}
	return conn, nil
}

// ddlSession returns a connection of its own that takes one statement only.
func (d *dest) ddlSession(ctx context.Context) (*sql.Conn, error) {
	conn, err := d.ddlDB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("destination connection: %w", err)
	}
	return conn, nil
}

// transientRetry is how a write retries: transient errors only (deadlock,
// lock wait timeout, lost connection), from 100ms doubling to 5s, ten
// attempts in all.
var transientRetry = retry.Policy{First: 100 * time.Millisecond, Max: 5 * time.Second, Attempts: 10, Again: transient}

// retryTransient runs f until it succeeds, fails for good, or ctx ends,
// under transientRetry; each retry is logged, naming what.
func retryTransient(ctx context.Context, log hclog.Logger, what string, f func() error) error {
	p := transientRetry
	p.OnRetry = func(err error, attempt int, _ time.Duration) {
		log.Warn("transient error; retrying", "what", what, "attempt", attempt, "error", err)
	}
	return p.Do(ctx, f)
}
