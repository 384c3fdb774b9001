package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// The production limits of the HTTP server.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	// DefaultWriteTimeout covers the longest route: job delete has four
	// steps of up to nomadTimeout each (look up; stop; wait for the
	// evaluations and read the job back; purge), and the handler's
	// deadline, a tenth shorter (135s), leaves the purge its whole 30s.
	// Pause and resume have three (look up, check the drivers, register).
	DefaultWriteTimeout = 150 * time.Second
	DefaultIdleTimeout  = 60 * time.Second
	DefaultMaxBodyBytes = 1 << 20
)

// setLimits fills the zero limits with their defaults.
func (c *Config) setLimits() error {
	for _, l := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"ReadHeaderTimeout", &c.ReadHeaderTimeout, DefaultReadHeaderTimeout},
		{"ReadTimeout", &c.ReadTimeout, DefaultReadTimeout},
		{"WriteTimeout", &c.WriteTimeout, DefaultWriteTimeout},
		{"IdleTimeout", &c.IdleTimeout, DefaultIdleTimeout},
	} {
		switch {
		case *l.v < 0:
			return fmt.Errorf("api: %s %s: must not be negative", l.name, *l.v)
		case *l.v == 0:
			*l.v = l.def
		}
	}
	switch {
	case c.MaxBodyBytes < 0:
		return fmt.Errorf("api: MaxBodyBytes %d: must not be negative", c.MaxBodyBytes)
	case c.MaxBodyBytes == 0:
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return nil
}

// maxDrain is how much of a refused or unread body the server reads and
// discards after its reply, so the client, still sending, reads the reply
// instead of a reset connection. A longer body gets the connection closed.
const maxDrain = 32 << 20

// maxReply caps the reply read from another node's API.
const maxReply = 1 << 20

// bound limits every request: a body over MaxBodyBytes is a 413 (refused
// at once when its Content-Length says so, else when a handler reads past
// the limit), and the handler's context ends a tenth of WriteTimeout
// before the server would cut the reply. It writes every error reply
// itself, then drains what the client still sends.
func (s *Server) bound(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		body := &markedBody{ReadCloser: r.Body}
		var err error
		if r.ContentLength > s.cfg.MaxBodyBytes {
			c.Response().Header().Set(echo.HeaderConnection, "close")
			err = tooLarge(s.cfg.MaxBodyBytes)
		} else {
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.WriteTimeout-s.cfg.WriteTimeout/10)
			defer cancel()
			r = r.WithContext(ctx)
			r.Body = http.MaxBytesReader(c.Response().Writer, body, s.cfg.MaxBodyBytes)
			c.SetRequest(r)
			err = next(c)
		}
		if err != nil {
			s.handleError(err, c)
		}
		drain(c, body)
		return nil
	}
}

// markedBody is a request body that remembers whether it was read.
type markedBody struct {
	io.ReadCloser
	read bool
}

func (b *markedBody) Read(p []byte) (int, error) {
	b.read = true
	return b.ReadCloser.Read(p)
}

// drain reads and discards up to maxDrain bytes of what is left of body,
// after the reply is sent. A client that asked to send its body only on
// "100 Continue" and whose body nobody read never got one and sends
// nothing, so there is nothing to wait for.
func drain(c echo.Context, body *markedBody) {
	if body.ReadCloser == nil || body.ReadCloser == http.NoBody ||
		!body.read && strings.EqualFold(c.Request().Header.Get("Expect"), "100-continue") {
		return
	}
	if c.Response().Committed {
		_ = http.NewResponseController(c.Response().Writer).Flush()
	}
	_, _ = io.CopyN(io.Discard, body, maxDrain)
}

// tooLarge is the 413 of a body over limit bytes.
func tooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeInvalidRequest,
		Err: errorf("the request body is larger than %d bytes", limit)}
}

// bodyError is the reply to a failure reading a request body: a 413 past
// the limit, a 408 when the client sends too slowly, else a 400.
func bodyError(what string, err error) *Error {
	var tl *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &tl):
		return tooLarge(tl.Limit)
	case errors.As(err, &ne) && ne.Timeout():
		return &Error{Status: http.StatusRequestTimeout, Code: CodeInvalidRequest,
			Err: errorf("%s: the body did not arrive within the server's read timeout", what)}
	}
	return badRequest("%s: %w", what, err)
}
