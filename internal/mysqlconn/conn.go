package mysqlconn

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dtle-io/dtle/internal/config"
)

// DialTimeout bounds connecting to a server; statements are bounded by the
// caller's context.
const DialTimeout = 10 * time.Second

// Option changes how Open connects.
type Option func(*mysql.Config)

// WithMultiStatements lets one Exec carry several statements (values are
// interpolated and escaped on the client), saving round trips.
func WithMultiStatements() Option { return func(c *mysql.Config) { c.MultiStatements = true } }

// WithSessionVars sets session variables on every connection, such as
// {"sql_mode": "'ANSI'"} (values as SQL literals).
func WithSessionVars(vars map[string]string) Option {
	return func(c *mysql.Config) {
		for k, v := range vars {
			c.Params[k] = v
		}
	}
}

// DSN builds a go-sql-driver DSN for c. Every connection runs in UTC. The DSN holds the password: never log
// it, use Redact.
func DSN(c *config.MySQLConnection, opts ...Option) string {
	cfg := mysql.NewConfig()
	cfg.User = c.User
	cfg.Passwd = c.Password
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	cfg.Timeout = DialTimeout
	cfg.ParseTime = false
	cfg.InterpolateParams = true
	cfg.MultiStatements = false
	cfg.Params = map[string]string{
		"time_zone": "'+00:00'",
	}
	charset := c.CharacterSet
	if charset == "" {
		charset = config.DefaultCharacterSet
	}
	cfg.Params["charset"] = charset
	for _, o := range opts {
		o(cfg)
	}
	return cfg.FormatDSN()
}

// Open returns a pool for c after checking that the server answers.
func Open(ctx context.Context, c *config.MySQLConnection, opts ...Option) (*sql.DB, error) {
	db, err := sql.Open("mysql", DSN(c, opts...))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", Address(c), Redact(err, c))
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s as %q: %w", Address(c), c.User, Redact(err, c))
	}
	return db, nil
}

// Address is host:port, safe to log.
func Address(c *config.MySQLConnection) string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// Redact returns err with every occurrence of the password replaced by "*".
func Redact(err error, c *config.MySQLConnection) error {
	if err == nil || c == nil || c.Password == "" {
		return err
	}
	msg := err.Error()
	if !strings.Contains(msg, c.Password) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(msg, c.Password, "*"), cause: err}
}

// redactedError keeps the cause for errors.As (MySQL error codes) while its
// text no longer holds the secret.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }
