package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error codes of ErrorResponse.
const (
	CodeInvalidRequest   = "invalid_request"
	CodeUnauthorized     = "unauthorized"
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeForbidden        = "forbidden"
	CodeNomadUnavailable = "nomad_unavailable"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
	// CodeTooManyRequests: too many failed logins of a user (429).
	CodeTooManyRequests = "too_many_requests"
)

// ErrNoHealthyDriver is why a job is refused (503, CodeUnavailable) while no
// ready node in the cluster has a healthy dtle driver: Nomad could not place
// it. It happens for a few seconds after an agent starts, before the
// plugin's embedded NATS server listens; retry shortly.
var ErrNoHealthyDriver = errors.New("no ready node in the cluster has a healthy dtle driver yet")

// Error is an API failure with its HTTP status and error code.
type Error struct {
	Status int
	Code   string
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Err: fmt.Errorf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Err: fmt.Errorf(format, args...)}
}

// nomadError reports a failed Nomad call: a 404 from Nomad is ours too, a
// refused request (bad job) is the client's, the rest is Nomad's.
func nomadError(what string, err error) *Error {
	var ue interface{ StatusCode() int }
	if errors.As(err, &ue) {
		switch code := ue.StatusCode(); {
		case code == http.StatusNotFound:
			return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Err: fmt.Errorf("%s: %w", what, err)}
		case code == http.StatusForbidden || code == http.StatusUnauthorized:
			return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Err: fmt.Errorf("%s: nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin): %w", what, err)}
		case strings.Contains(err.Error(), "modify index"):
			return &Error{Status: http.StatusConflict, Code: CodeConflict, Err: fmt.Errorf("%s: the job changed meanwhile; read it again and retry: %w", what, err)}
		case code >= 400 && code < 500:
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Err: fmt.Errorf("%s: nomad refused: %w", what, err)}
		}
	}
	return &Error{Status: http.StatusBadGateway, Code: CodeNomadUnavailable, Err: fmt.Errorf("%s: %w", what, err)}
}

// unavailable is a 503: the request may succeed when retried later.
func unavailable(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Err: err}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
